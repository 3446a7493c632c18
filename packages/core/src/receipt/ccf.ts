/**
 * CCF_LEDGER_SHA256 (vds 2, draft-ietf-scitt-receipts-ccf-profile; wire-format.md §5.5):
 *   ccf-inclusion-proof = bstr .cbor { 1 => [internal-transaction-hash: bstr .size 32,
 *                                            internal-evidence: tstr .size (1..1024),
 *                                            data-hash: bstr .size 32],
 *                                      2 => [+ [left: bool, hash: bstr .size 32]] }
 * leaf = SHA-256(ith ‖ SHA-256(utf8(evidence)) ‖ data_hash) — pyscitt's LeafInfo.digest; the draft's
 * pseudo-code omits the outer hash, the deployed services do not. The path folds from the leaf up:
 * left ? SHA-256(hash ‖ h) : SHA-256(h ‖ hash). For SCITT, data_hash = SHA-256(statement entry).
 */
import { decode } from '../cbor.ts';
import { ReceiptError, type ScittError } from '../errors.ts';
import { HASH_SIZE, sha256 } from '../merkle/hash.ts';
import { MAX_PATH_LENGTH } from '../merkle/verify.ts';

export interface CcfLeaf {
  readonly internalTransactionHash: Uint8Array;
  readonly internalEvidence: string;
  readonly dataHash: Uint8Array;
}

export interface CcfInclusionProof {
  readonly leaf: CcfLeaf;
  readonly path: readonly { readonly left: boolean; readonly hash: Uint8Array }[];
}

const MAX_EVIDENCE = 1024;
const LIMITS = { maxBytes: 2048 + MAX_PATH_LENGTH * 40, maxDepth: 4, maxContainerLength: MAX_PATH_LENGTH, maxItems: 16 + MAX_PATH_LENGTH * 3, allowedTags: [] };

export function decodeCcfInclusionProof(bytes: Uint8Array): CcfInclusionProof {
  const bad = (why: string, cause?: unknown) => new ReceiptError('ERR_RECEIPT_PROOF', `CCF inclusion proof ${why} (CCF profile)`, { cause });
  if (!(bytes instanceof Uint8Array)) throw bad('must be a byte string holding CBOR');
  let v: unknown;
  try {
    v = decode(bytes, LIMITS);
  } catch (e) {
    throw bad(`is not valid CBOR: ${(e as ScittError).message}`, e);
  }
  if (!(v instanceof Map)) throw bad('must be a map {1: leaf, 2: path}');
  for (const k of v.keys()) if (k !== 1 && k !== 2) throw bad(`has an unknown key ${String(k)}`);
  const leaf = v.get(1) as unknown;
  const path = v.get(2) as unknown;
  if (!Array.isArray(leaf) || leaf.length !== 3) throw bad('leaf (1) must be [internal_transaction_hash, internal_evidence, data_hash]');
  const [ith, evidence, dataHash] = leaf as unknown[];
  if (!(ith instanceof Uint8Array) || ith.length !== HASH_SIZE) throw bad('internal_transaction_hash must be 32 bytes');
  if (typeof evidence !== 'string' || evidence.length === 0 || Buffer.byteLength(evidence) > MAX_EVIDENCE) {
    throw bad(`internal_evidence must be text of 1 to ${MAX_EVIDENCE} bytes`);
  }
  if (!(dataHash instanceof Uint8Array) || dataHash.length !== HASH_SIZE) throw bad('data_hash must be 32 bytes');
  if (!Array.isArray(path)) throw bad('path (2) must be an array of [left, hash]');
  const steps = (path as unknown[]).map((step, i) => {
    if (!Array.isArray(step) || step.length !== 2 || typeof step[0] !== 'boolean' || !(step[1] instanceof Uint8Array) || step[1].length !== HASH_SIZE) {
      throw bad(`path element ${i} must be [bool, 32-byte hash]`);
    }
    return { left: step[0] as boolean, hash: step[1] as Uint8Array };
  });
  return { leaf: { internalTransactionHash: ith, internalEvidence: evidence, dataHash }, path: steps };
}

export function ccfLeafHash(leaf: CcfLeaf): Uint8Array {
  const buf = new Uint8Array(3 * HASH_SIZE);
  buf.set(leaf.internalTransactionHash, 0);
  buf.set(sha256(new TextEncoder().encode(leaf.internalEvidence)), HASH_SIZE);
  buf.set(leaf.dataHash, 2 * HASH_SIZE);
  return sha256(buf);
}

/** The ledger root the proof leads to: the receipt's detached payload. */
export function ccfRoot(proof: CcfInclusionProof): Uint8Array {
  let h = ccfLeafHash(proof.leaf);
  const buf = new Uint8Array(2 * HASH_SIZE);
  for (const { left, hash } of proof.path) {
    buf.set(left ? hash : h, 0);
    buf.set(left ? h : hash, HASH_SIZE);
    h = sha256(buf);
  }
  return h;
}

/** The registration transaction id in `ce:<view>.<seqno>:<hex>` evidence, when it has that shape. */
export function ccfTransactionId(evidence: string): string | undefined {
  const parts = evidence.split(':');
  return parts.length >= 3 && parts[0] === 'ce' && /^\d+\.\d+$/.test(parts[1]!) ? parts[1] : undefined;
}
