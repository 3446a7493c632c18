/**
 * Verifiable data structure identifiers and the RFC9162_SHA256 proof encodings (RFC 9942 §5.2–5.3):
 *   inclusion-proof   = bstr .cbor [ tree-size: uint, leaf-index: uint, inclusion-path: [+ bstr] ]
 *   consistency-proof = bstr .cbor [ tree-size-1: uint, tree-size-2: uint, consistency-path: [+ bstr] ]
 * An inclusion path in a tree of one leaf is necessarily empty, so `[]` is accepted and emitted there.
 */
import { decode, encode } from '../cbor.ts';
import { ReceiptError, ScittError } from '../errors.ts';
import { HASH_SIZE } from '../merkle/hash.ts';
import { assertUint } from '../merkle/sizes.ts';
import type { ConsistencyProof, InclusionProof } from '../merkle/tree.ts';
import { MAX_PATH_LENGTH } from '../merkle/verify.ts';

/** Verifiable Data Structure registry (RFC 9942 §8; 2 from the CCF profile). */
export const VDS = { RFC9162_SHA256: 1, CCF_LEDGER_SHA256: 2 } as const;

/** Proof types inside vdp (396) for RFC9162_SHA256 (RFC 9942 §5.2, §5.3); CCF uses -1 for inclusion too. */
export const ProofType = { inclusion: -1, consistency: -2 } as const;

/** A proof is three small items and at most 64 hashes: anything bigger is refused by the decoder. */
const PROOF_LIMITS = { maxBytes: 8 + MAX_PATH_LENGTH * (HASH_SIZE + 2) + 32, maxDepth: 3, maxContainerLength: MAX_PATH_LENGTH, maxItems: MAX_PATH_LENGTH + 8, allowedTags: [] };

export function encodeInclusionProof(p: InclusionProof): Uint8Array {
  return encode([p.treeSize, p.leafIndex, [...p.path]]);
}

export function encodeConsistencyProof(p: ConsistencyProof): Uint8Array {
  return encode([p.treeSize1, p.treeSize2, [...p.path]]);
}

export function decodeInclusionProof(bytes: Uint8Array): InclusionProof {
  const [treeSize, leafIndex, path] = decodeTriple(bytes, 'inclusion proof', ['tree-size', 'leaf-index']);
  return { treeSize, leafIndex, path };
}

export function decodeConsistencyProof(bytes: Uint8Array): ConsistencyProof {
  const [treeSize1, treeSize2, path] = decodeTriple(bytes, 'consistency proof', ['tree-size-1', 'tree-size-2']);
  return { treeSize1, treeSize2, path };
}

function decodeTriple(bytes: Uint8Array, what: string, names: [string, string]): [number, number, Uint8Array[]] {
  if (!(bytes instanceof Uint8Array)) throw new ReceiptError('ERR_RECEIPT_PROOF', `${what} must be a byte string holding CBOR (RFC 9942 §5)`);
  let v: unknown;
  try {
    v = decode(bytes, PROOF_LIMITS);
  } catch (e) {
    throw new ReceiptError('ERR_RECEIPT_PROOF', `${what} is not a valid CBOR proof: ${(e as ScittError).message}`, { cause: e });
  }
  if (!Array.isArray(v) || v.length !== 3) throw new ReceiptError('ERR_RECEIPT_PROOF', `${what} must be an array of 3 items [${names.join(', ')}, path] (RFC 9942 §5)`);
  const [a, b, path] = v as unknown[];
  for (const [x, name] of [[a, names[0]], [b, names[1]]] as const) {
    if (typeof x !== 'number' && typeof x !== 'bigint') throw new ReceiptError('ERR_RECEIPT_PROOF', `${what}: ${name} must be an unsigned integer`);
    assertUint(x, `${what} ${name}`);
  }
  if (!Array.isArray(path)) throw new ReceiptError('ERR_RECEIPT_PROOF', `${what}: path must be an array of hashes`);
  path.forEach((h: unknown, i) => {
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) throw new ReceiptError('ERR_RECEIPT_PROOF', `${what}: path element ${i} is not a ${HASH_SIZE}-byte hash`);
  });
  return [a as number, b as number, path as Uint8Array[]];
}
