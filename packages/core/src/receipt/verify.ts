/**
 * Receipt verification (RFC 9942 §5.2.1, §5.3.1; RFC 9943 §7.1; wire-format.md §5, §6 step 5):
 * 1. strictly decode the tagged COSE_Sign1; alg and vds must be protected, vdp unprotected;
 * 2. select the service key by the protected kid in a trusted set (never any other way); the alg
 *    comes from the protected header and must fit that key;
 * 3. compute the root from the proof and the entry — proof first —
 * 4. then verify the signature with that root as the detached payload. A payload carried in the
 *    receipt is never used; one that differs from the computed root is refused.
 * vds 1 (RFC9162_SHA256) and 2 (CCF_LEDGER_SHA256) are supported; any other vds is reported as
 * ERR_RECEIPT_UNSUPPORTED, which callers may treat as "skip" (RFC 9943 §7.1).
 */
import { decode } from '../cbor.ts';
import { ReceiptError, SignatureError } from '../errors.ts';
import type { Algorithm } from '../cose/algorithms.ts';
import { Claim, Header, type HeaderMap } from '../cose/headers.ts';
import { assertAlgorithmFitsKey } from '../cose/key.ts';
import { type Sign1, checkHeaders, decodeSign1, verifySign1 } from '../cose/sign1.ts';
import { digestsEqual, leafHash, sha256 } from '../merkle/hash.ts';
import { rootFromConsistencyProof, rootFromInclusionProof } from '../merkle/verify.ts';
import { ccfRoot, ccfTransactionId, decodeCcfInclusionProof } from './ccf.ts';
import type { TrustedKey, TrustedKeys } from './keys.ts';
import { ProofType, VDS, decodeConsistencyProof, decodeInclusionProof } from './proofs.ts';

/** Receipts are small: a few headers, one proof of at most 64 hashes, one signature. */
const RECEIPT_LIMITS = { maxBytes: 64 * 1024, maxDepth: 8, maxContainerLength: 256 };

/** What a receipt says about itself, read from its headers before anything is verified. */
export interface ReceiptHeaders {
  readonly sign1: Sign1;
  readonly algorithm: Algorithm;
  readonly vds: number;
  readonly kid: Uint8Array;
  /** CWT claims (15) */
  readonly iss?: string;
  readonly sub?: string;
  readonly iat?: number;
  readonly vdp: HeaderMap;
}

export interface ReceiptVerification {
  readonly vds: number;
  readonly kid: Uint8Array;
  readonly algorithm: Algorithm['name'];
  readonly iss?: string;
  readonly sub?: string;
  /** registration time (CWT iat), seconds since the epoch */
  readonly iat?: number;
  /** the root the signature covers */
  readonly root: Uint8Array;
  /** vds 1 only */
  readonly treeSize?: number;
  readonly leafIndex?: number;
  /** vds 2 only: internal evidence and the registration transaction id it names */
  readonly ccf?: { readonly internalEvidence: string; readonly txid?: string };
  readonly key: TrustedKey;
  /**
   * Departures from the RFC 9943 §6 receipt profile that verification tolerates, one sentence each:
   * a receipt without iss or sub (CCF's, and this project's before it set sub) still proves inclusion.
   */
  readonly profileDeviations?: readonly string[];
}

/** RFC 9943 §6: a receipt's CWT claims MUST hold iss (1) and sub (2). Missing ones are reported, not fatal. */
function receiptProfileDeviations(h: Pick<ReceiptHeaders, 'iss' | 'sub'>): string[] {
  const missing = [h.iss === undefined ? 'iss (1)' : undefined, h.sub === undefined ? 'sub (2)' : undefined].filter((m) => m !== undefined);
  return missing.length ? [`receipt CWT claims lack ${missing.join(' and ')}, which RFC 9943 §6 requires; accepted, as the inclusion proof and signature verify`] : [];
}

/** Decodes a receipt and checks its header profile; throws a typed error on the first problem. */
export function readReceiptHeaders(receipt: Uint8Array): ReceiptHeaders {
  refuseLegacyCcf(receipt);
  const sign1 = decodeSign1(receipt, { requireTag: true, limits: RECEIPT_LIMITS });
  const p = sign1.protectedHeader;
  const u = sign1.unprotectedHeader;
  const vds = p.get(Header.vds);
  if (vds === undefined) {
    if (u.has(Header.vds)) throw new ReceiptError('ERR_RECEIPT_VDS', 'vds (395) is in the unprotected header; it must be protected (RFC 9942 §4)');
    if (p.has(-111)) throw new ReceiptError('ERR_RECEIPT_VDS', 'receipt uses the draft placeholder label -111 for vds; RFC 9942 assigns 395');
    throw new ReceiptError('ERR_RECEIPT_VDS', 'receipt has no vds (395) in its protected header (RFC 9942 §4)');
  }
  if (typeof vds !== 'number' || !Number.isInteger(vds)) throw new ReceiptError('ERR_RECEIPT_VDS', `vds must be an integer; got ${typeof vds}`);
  if (vds !== VDS.RFC9162_SHA256 && vds !== VDS.CCF_LEDGER_SHA256) {
    throw new ReceiptError('ERR_RECEIPT_UNSUPPORTED', `verifiable data structure ${vds} is not supported (1 = RFC9162_SHA256, 2 = CCF_LEDGER_SHA256)`);
  }
  const algorithm = checkHeaders(sign1);
  const kid = p.get(Header.kid);
  if (!(kid instanceof Uint8Array) || kid.length === 0) {
    throw new ReceiptError(
      'ERR_RECEIPT_MALFORMED',
      u.has(Header.kid)
        ? 'receipt kid is only in the unprotected header; service keys are selected by protected kid only'
        : 'receipt has no protected kid (4); service keys are selected by protected kid only',
    );
  }
  const claims = p.get(Header.cwtClaims);
  if (!(claims instanceof Map)) throw new ReceiptError('ERR_RECEIPT_MALFORMED', 'receipt has no CWT claims map (15) in its protected header (RFC 9943 §6)');
  const iss = claims.get(Claim.iss);
  const sub = claims.get(Claim.sub);
  const iat = claims.get(Claim.iat);
  if (iss !== undefined && typeof iss !== 'string') throw new ReceiptError('ERR_RECEIPT_MALFORMED', 'receipt CWT iss must be text');
  if (sub !== undefined && typeof sub !== 'string') throw new ReceiptError('ERR_RECEIPT_MALFORMED', 'receipt CWT sub must be text');
  if (iat !== undefined && (typeof iat !== 'number' || !Number.isFinite(iat))) throw new ReceiptError('ERR_RECEIPT_MALFORMED', 'receipt CWT iat must be a number');
  if (p.has(Header.vdp)) throw new ReceiptError('ERR_RECEIPT_MALFORMED', 'vdp (396) is in the protected header; RFC 9942 puts proofs in the unprotected header');
  const vdp = u.get(Header.vdp);
  if (vdp === undefined) throw new ReceiptError('ERR_RECEIPT_PROOF', 'receipt has no verifiable data proofs (vdp, 396) in its unprotected header');
  if (!(vdp instanceof Map)) throw new ReceiptError('ERR_RECEIPT_PROOF', 'vdp (396) must be a map from proof type to proofs (RFC 9942 §4)');
  return {
    sign1,
    algorithm,
    vds,
    kid,
    vdp: vdp as HeaderMap,
    ...(iss !== undefined ? { iss } : {}),
    ...(sub !== undefined ? { sub } : {}),
    ...(iat !== undefined ? { iat } : {}),
  };
}

/** Pre-RFC 9942 CCF receipts are an untagged [protected map with "tree_alg", contents] pair, not COSE_Sign1. */
function refuseLegacyCcf(bytes: Uint8Array): void {
  if (bytes[0] !== 0x82) return; // a 2-element array; a COSE_Sign1 starts 0xd2 0x84
  let v: unknown;
  try {
    v = decode(bytes, RECEIPT_LIMITS);
  } catch {
    return; // let the COSE decoder report what is wrong
  }
  if (Array.isArray(v) && v[0] instanceof Uint8Array) {
    try {
      const head = decode(v[0], { allowedTags: [] });
      if (head instanceof Map && head.get('tree_alg') === 'CCF') {
        throw new ReceiptError('ERR_RECEIPT_UNSUPPORTED', 'legacy pre-RFC 9942 CCF receipt (tree_alg "CCF", countersignature form) is not supported');
      }
    } catch (e) {
      if (e instanceof ReceiptError) throw e;
    }
  }
}

function selectKey(h: ReceiptHeaders, keys: TrustedKeys): TrustedKey {
  const key = keys.get(h.kid);
  if (!key) throw unknownKid(h.kid, h.iss, 'receipt');
  assertAlgorithmFitsKey(h.algorithm, key.key);
  return key;
}

/** Exactly one proof of `type` in vdp, as a bstr. */
function singleProof(h: ReceiptHeaders, type: number, what: string): Uint8Array {
  const proofs = h.vdp.get(type);
  if (proofs === undefined) throw new ReceiptError('ERR_RECEIPT_PROOF', `receipt has no ${what} proofs (vdp ${type})`);
  if (!Array.isArray(proofs) || proofs.length === 0) throw new ReceiptError('ERR_RECEIPT_PROOF', `vdp ${type} must be a non-empty array of ${what} proofs`);
  if (proofs.length !== 1) throw new ReceiptError('ERR_RECEIPT_PROOF', `receipt has ${proofs.length} ${what} proofs; exactly one is supported`);
  const proof = proofs[0] as unknown;
  if (!(proof instanceof Uint8Array)) throw new ReceiptError('ERR_RECEIPT_PROOF', `${what} proof must be a byte string holding CBOR (RFC 9942 §5)`);
  return proof;
}

/** Signature over the recomputed root as detached payload; the receipt's own payload is never trusted. */
function verifyOverRoot(h: ReceiptHeaders, key: TrustedKey, root: Uint8Array, what: string): void {
  try {
    verifySign1({ ...h.sign1, payload: null }, key.key, { detachedPayload: root });
  } catch (e) {
    if (e instanceof SignatureError && e.code === 'ERR_COSE_SIGNATURE_INVALID') {
      throw new ReceiptError('ERR_RECEIPT_SIGNATURE', `receipt signature does not verify over ${what}: the receipt is for another statement or tree, or was altered`, { cause: e });
    }
    throw e;
  }
  if (h.sign1.payload !== null && !digestsEqual(h.sign1.payload, root)) {
    throw new ReceiptError('ERR_RECEIPT_MALFORMED', 'receipt carries a payload that is not the root computed from its proof');
  }
}

/** Verifies that `receipt` proves the registration of `entry` (see statementEntry) by a trusted service. */
export function verifyReceipt(receipt: Uint8Array | ReceiptHeaders, entry: Uint8Array, keys: TrustedKeys): ReceiptVerification {
  const h = receipt instanceof Uint8Array ? readReceiptHeaders(receipt) : receipt;
  const key = selectKey(h, keys);
  const deviations = receiptProfileDeviations(h);
  const common = {
    vds: h.vds,
    kid: h.kid,
    algorithm: h.algorithm.name,
    key,
    ...(deviations.length ? { profileDeviations: deviations } : {}),
    ...(h.iss !== undefined ? { iss: h.iss } : {}),
    ...(h.sub !== undefined ? { sub: h.sub } : {}),
    ...(h.iat !== undefined ? { iat: h.iat } : {}),
  };
  if (h.vds === VDS.RFC9162_SHA256) {
    const proof = decodeInclusionProof(singleProof(h, ProofType.inclusion, 'inclusion'));
    const root = rootFromInclusionProof(leafHash(entry), proof);
    verifyOverRoot(h, key, root, `the root computed from leaf ${proof.leafIndex} of ${proof.treeSize} and this statement`);
    return { ...common, root, treeSize: proof.treeSize, leafIndex: proof.leafIndex };
  }
  const proof = decodeCcfInclusionProof(singleProof(h, ProofType.inclusion, 'CCF inclusion'));
  const root = ccfRoot(proof);
  verifyOverRoot(h, key, root, 'the ledger root computed from its CCF proof');
  // The signed leaf names the registered statement by data_hash; it must be this statement.
  if (!digestsEqual(proof.leaf.dataHash, sha256(entry))) {
    throw new ReceiptError('ERR_RECEIPT_ENTRY_MISMATCH', 'receipt is genuine but for another statement: its data_hash is not SHA-256 of this statement (claim digest mismatch)');
  }
  const txid = ccfTransactionId(proof.leaf.internalEvidence);
  return { ...common, root, ccf: { internalEvidence: proof.leaf.internalEvidence, ...(txid ? { txid } : {}) } };
}

export interface ConsistencyVerification {
  readonly treeSize1: number;
  readonly treeSize2: number;
  /** the newer root, covered by the signature */
  readonly root: Uint8Array;
  readonly kid: Uint8Array;
  readonly iss?: string;
  readonly iat?: number;
  readonly key: TrustedKey;
}

/**
 * Verifies a consistency receipt (vdp -2, RFC 9942 §5.3.1) against an older tree the caller already
 * trusts (from an earlier receipt or signed tree head; never from the receipt itself). Returns the
 * newer tree, whose root the signature covers.
 */
export function verifyConsistencyReceipt(receipt: Uint8Array | ReceiptHeaders, older: { treeSize: number; root: Uint8Array }, keys: TrustedKeys): ConsistencyVerification {
  const h = receipt instanceof Uint8Array ? readReceiptHeaders(receipt) : receipt;
  if (h.vds !== VDS.RFC9162_SHA256) throw new ReceiptError('ERR_RECEIPT_UNSUPPORTED', `consistency receipts are defined for vds 1 (RFC9162_SHA256); this one has vds ${h.vds}`);
  const key = selectKey(h, keys);
  const proof = decodeConsistencyProof(singleProof(h, ProofType.consistency, 'consistency'));
  if (proof.treeSize1 !== older.treeSize) {
    throw new ReceiptError('ERR_RECEIPT_PROOF', `consistency proof starts at tree size ${proof.treeSize1}, but the trusted older tree has ${older.treeSize} leaves`);
  }
  if (proof.treeSize1 >= proof.treeSize2) throw new ReceiptError('ERR_RECEIPT_PROOF', `consistency receipt needs tree-size-1 < tree-size-2; got ${proof.treeSize1} and ${proof.treeSize2}`);
  const root = rootFromConsistencyProof(proof, older.root);
  verifyOverRoot(h, key, root, `the newer root (size ${proof.treeSize2}) computed from the consistency proof`);
  return {
    treeSize1: proof.treeSize1,
    treeSize2: proof.treeSize2,
    root,
    kid: h.kid,
    key,
    ...(h.iss !== undefined ? { iss: h.iss } : {}),
    ...(h.iat !== undefined ? { iat: h.iat } : {}),
  };
}

/**
 * A receipt (or tree head) signed by a key the verifier does not trust. When the service rotated its
 * key, the pinned key file is out of date: the message says how to fetch the new key by its kid.
 */
export function unknownKid(kid: Uint8Array, iss: string | undefined, what: string): ReceiptError {
  const b64 = Buffer.from(kid).toString('base64url');
  const from = iss ? ` from "${iss}"` : '';
  const refresh = iss && /^https?:\/\//.test(iss) ? `${iss.replace(/\/+$/, '')}/.well-known/scitt-keys/${b64}` : `<service>/.well-known/scitt-keys/${b64}`;
  return new ReceiptError(
    'ERR_RECEIPT_KEY_UNKNOWN',
    `no trusted service key has kid ${describeKid(kid)} (${what}${from}); if the service rotated its key, refresh the pinned key: fetch ${refresh} (or the whole set at /.well-known/scitt-keys), check it against the service's rotation announcement, and add it to your key file`,
  );
}

/** A kid for messages: hex, plus the text when it is printable (CCF kids are ASCII hex). */
function describeKid(kid: Uint8Array): string {
  const hex = Buffer.from(kid).toString('hex');
  const printable = kid.length > 0 && kid.every((c) => c >= 0x20 && c < 0x7f);
  return printable ? `h'${hex}' ("${Buffer.from(kid).toString('latin1')}")` : `h'${hex}'`;
}

