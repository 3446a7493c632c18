/**
 * Typed errors with stable codes (in the manner of panva/jose): callers branch on `code`,
 * people read `message`, which says what is wrong and, where it helps, what to do.
 */
export type ErrorCode =
  // CBOR well-formedness and limits (RFC 8949)
  | 'ERR_CBOR_TRUNCATED'
  | 'ERR_CBOR_MALFORMED'
  | 'ERR_CBOR_LIMIT'
  | 'ERR_CBOR_INDEFINITE'
  | 'ERR_CBOR_DUPLICATE_KEY'
  | 'ERR_CBOR_UNEXPECTED_TAG'
  | 'ERR_CBOR_TRAILING'
  | 'ERR_CBOR_UNSUPPORTED'
  // COSE structure and algorithms (RFC 9052/9053)
  | 'ERR_COSE_MALFORMED'
  | 'ERR_COSE_TAG'
  | 'ERR_COSE_ALG_MISSING'
  | 'ERR_COSE_ALG_UNPROTECTED'
  | 'ERR_COSE_ALG_UNSUPPORTED'
  | 'ERR_COSE_ALG_KEY_MISMATCH'
  | 'ERR_COSE_CRIT'
  | 'ERR_COSE_HEADER'
  | 'ERR_COSE_SIGNATURE_LENGTH'
  | 'ERR_COSE_SIGNATURE_INVALID'
  | 'ERR_COSE_PAYLOAD'
  // keys (RFC 9052 §7, RFC 9679)
  | 'ERR_KEY_INVALID'
  | 'ERR_KEY_UNSUPPORTED'
  | 'ERR_KEY_NOT_PRIVATE'
  // Signed Statements (RFC 9943 §6) and Hash Envelopes (RFC 9995)
  | 'ERR_STATEMENT_CLAIMS'
  | 'ERR_STATEMENT_ISSUER'
  | 'ERR_STATEMENT_KEY_ID'
  | 'ERR_STATEMENT_HASH_ENVELOPE'
  | 'ERR_STATEMENT_PREIMAGE_MISMATCH'
  | 'ERR_STATEMENT_RECEIPTS_PROTECTED'
  // receipts and merkle proofs (RFC 9942, RFC 9162)
  | 'ERR_RECEIPT_MALFORMED'
  | 'ERR_RECEIPT_MISSING'
  | 'ERR_RECEIPT_VDS'
  | 'ERR_RECEIPT_PROOF'
  | 'ERR_RECEIPT_KEY_UNKNOWN'
  | 'ERR_RECEIPT_SIGNATURE'
  | 'ERR_MERKLE_PROOF'
  | 'ERR_MERKLE_RANGE'
  | 'ERR_RECEIPT_UNSUPPORTED'
  | 'ERR_RECEIPT_ENTRY_MISMATCH'
  | 'ERR_RECEIPT_POLICY'
  | 'ERR_TREE_HEAD'
  // X.509 issuers: certification paths, did:x509, Fulcio identities, keyless signing (RFC 5280, RFC 9360)
  | 'ERR_X509_MALFORMED'
  | 'ERR_X509_LIMIT'
  | 'ERR_X509_PATH'
  | 'ERR_X509_UNTRUSTED'
  | 'ERR_X509_VALIDITY'
  | 'ERR_X509_CRITICAL_EXTENSION'
  | 'ERR_X509_USAGE'
  | 'ERR_X509_ALGORITHM'
  | 'ERR_X509_KEY_MISMATCH'
  | 'ERR_X509_SCT'
  | 'ERR_DID_X509_SYNTAX'
  | 'ERR_DID_X509_MISMATCH'
  | 'ERR_ISSUER_MISMATCH'
  | 'ERR_FULCIO_EXTENSION'
  | 'ERR_IDENTITY_POLICY'
  | 'ERR_TRUST_ROOT'
  | 'ERR_KEYLESS_TOKEN'
  | 'ERR_KEYLESS_CERTIFICATE'
  // build outputs as statement payloads: evidence detection, subjects, provenance
  | 'ERR_PAYLOAD_EMPTY'
  | 'ERR_PAYLOAD_MALFORMED'
  | 'ERR_PAYLOAD_UNKNOWN_FORMAT'
  | 'ERR_PAYLOAD_UNSUPPORTED_VERSION'
  | 'ERR_PAYLOAD_SCHEMA'
  | 'ERR_PAYLOAD_KIND_MISMATCH'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_SUBJECT_INVALID'
  | 'ERR_SUBJECT_NOT_FOUND'
  | 'ERR_SUBJECT_DIRECTORY'
  | 'ERR_SUBJECT_NOT_REGULAR'
  | 'ERR_SUBJECT_NO_MATCH'
  | 'ERR_SUBJECT_LIMIT'
  | 'ERR_SUBJECT_MISMATCH'
  | 'ERR_SUBJECT_UNDECLARED'
  | 'ERR_CHECKSUMS_MALFORMED'
  /** a Sigstore bundle given as evidence is malformed, not an in-toto attestation, or does not verify against the trusted root */
  | 'ERR_SIGSTORE_BUNDLE'
  | 'ERR_OCI_REFERENCE'
  | 'ERR_PROVENANCE_ENV'
  // SCRAPI client
  | 'ERR_SCRAPI_REFUSED'
  | 'ERR_SCRAPI_FAILED'
  | 'ERR_SCRAPI_UNAVAILABLE'
  | 'ERR_SCRAPI_TIMEOUT'
  | 'ERR_SCRAPI_PENDING'
  // witnessed transparency: signed notes, checkpoints, tiles, witnesses, trust state (C2SP)
  | 'ERR_NOTE_MALFORMED'
  | 'ERR_NOTE_KEY'
  | 'ERR_NOTE_SIGNATURE'
  | 'ERR_NOTE_UNVERIFIED'
  | 'ERR_CHECKPOINT_MALFORMED'
  | 'ERR_CHECKPOINT_ORIGIN'
  | 'ERR_TILES'
  | 'ERR_CONSISTENCY_UNAVAILABLE'
  | 'ERR_EQUIVOCATION'
  | 'ERR_WITNESS_QUORUM'
  | 'ERR_TRUST_STATE'
  // everything around the domain
  | 'ERR_IO'
  // a Transparency Service data directory already served by another process
  | 'ERR_DATA_DIR_IN_USE'
  | 'ERR_USAGE'
  // a URL a server named (redirect, Location, jwks_uri) on another origin; trust material over plain HTTP
  | 'ERR_ORIGIN'
  | 'ERR_INSECURE_URL'
  // storage of Transparent Statements and their evidence: files, GitHub release assets, OCI referrers
  | 'ERR_STORAGE_TARGET'
  | 'ERR_STORAGE_NOT_FOUND'
  | 'ERR_STORAGE_AUTH'
  | 'ERR_STORAGE_UNAVAILABLE'
  | 'ERR_STORAGE_PROTOCOL'
  | 'ERR_STORAGE_LIMIT'
  | 'ERR_STORAGE_CONFLICT'
  | 'ERR_STORAGE_PATH'
  | 'ERR_STORAGE_NOT_STATEMENT'
  | 'ERR_STORAGE_NOT_TRANSPARENT'
  | 'ERR_STORAGE_SUBJECT'
  | 'ERR_STORAGE_EVIDENCE'
  | 'ERR_STORAGE_INCOMPLETE'
  | 'ERR_STORAGE_DUPLICATE';

export interface ScittErrorOptions {
  /** byte offset into the input where the problem was found, when known */
  offset?: number;
  cause?: unknown;
}

export class ScittError extends Error {
  readonly code: ErrorCode;
  readonly offset: number | undefined;

  constructor(code: ErrorCode, message: string, options: ScittErrorOptions = {}) {
    super(options.offset === undefined ? message : `${message} (at byte ${options.offset})`, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.offset = options.offset;
  }
}

/** Input is not well-formed CBOR, or exceeds a decode limit. */
export class CborError extends ScittError {}
/** A COSE object is malformed or breaks an RFC 9052/9053 rule. */
export class CoseError extends ScittError {}
/** A signature did not verify, or the algorithm does not fit the key. */
export class SignatureError extends ScittError {}
/** A key could not be loaded or is not usable for the operation. */
export class KeyError extends ScittError {}
/** A Signed Statement breaks the RFC 9943 §6 profile or its Hash Envelope (RFC 9995). */
export class StatementError extends ScittError {}

export function isScittError(e: unknown): e is ScittError {
  return e instanceof ScittError;
}

/** One identity-policy field the certificate did not satisfy. */
export interface IdentityRefusal {
  /** the policy field, e.g. `repo`, `signerWorkflow` */
  readonly field: string;
  readonly expected: string;
  /** what the certificate says; undefined when the certificate does not carry the value */
  readonly actual: string | undefined;
}

/**
 * An X.509 issuer is not acceptable: the certificate path, its did:x509 binding, its Fulcio
 * identity or the identity policy; or keyless signing could not get a certificate.
 */
export class IdentityError extends ScittError {
  /** for ERR_IDENTITY_POLICY: every field that did not match, with the certificate's value */
  readonly refusals: readonly IdentityRefusal[];

  constructor(code: ErrorCode, message: string, options: ScittErrorOptions & { refusals?: readonly IdentityRefusal[] } = {}) {
    super(code, message, options);
    this.refusals = options.refusals ?? [];
  }
}

/** A Merkle proof (RFC 9162 §2.1) does not verify, or a size or index is out of range. */
export class MerkleError extends ScittError {}
/** A Receipt (RFC 9942), Transparent Statement (RFC 9943 §7) or signed tree head is malformed, untrusted or does not verify. */
export class ReceiptError extends ScittError {}
/** Evidence (SBOM, in-toto, provenance, SARIF), a subject or its digest is unusable as a statement payload. */
export class PayloadError extends ScittError {}

/**
 * Transparent Statements or their evidence could not be stored or discovered: a target that does not
 * exist, a refusing or failing server, a limit, or something that must not be overwritten.
 */
export class StorageError extends ScittError {
  /** the HTTP status that caused it, when a server answered */
  readonly status: number | undefined;

  constructor(code: ErrorCode, message: string, options: ScittErrorOptions & { status?: number } = {}) {
    super(code, message, options);
    this.status = options.status;
  }
}
