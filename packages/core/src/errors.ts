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
  | 'ERR_RECEIPT_VDS'
  | 'ERR_RECEIPT_PROOF'
  | 'ERR_RECEIPT_KEY_UNKNOWN'
  | 'ERR_RECEIPT_SIGNATURE'
  | 'ERR_MERKLE_PROOF'
  | 'ERR_MERKLE_RANGE'
  // everything around the domain
  | 'ERR_IO'
  | 'ERR_USAGE';

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
