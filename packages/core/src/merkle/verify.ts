/**
 * RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) verification, step for step as
 * wire-format.md §5.2–5.3 spell them out. Work and memory are O(path length); a path is at most
 * MAX_PATH_LENGTH hashes. Before hashing, the path length is checked against the one the sizes
 * imply, so a truncated or padded proof gets a precise message; the algorithms keep their own
 * checks (sn == 0) as well.
 */
import { MerkleError } from '../errors.ts';
import { digestsEqual, HASH_SIZE, nodeHash } from './hash.ts';
import { assertUint, half, isOdd, isPowerOfTwo } from './sizes.ts';
import type { ConsistencyProof, InclusionProof } from './tree.ts';

/** Sizes are below 2^64, so no valid path is longer than 64 hashes; longer input is refused unread. */
export const MAX_PATH_LENGTH = 64;

/** Number of hashes in PATH(leafIndex, D[0:treeSize]) — the iterations of §2.1.3.2 until sn reaches 0. */
export function inclusionPathLength(leafIndex: number, treeSize: number): number {
  checkInclusionRange(leafIndex, treeSize);
  let fn = leafIndex;
  let sn = treeSize - 1;
  let count = 0;
  while (sn !== 0) {
    if (isOdd(fn) || fn === sn) {
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    }
    fn = half(fn);
    sn = half(sn);
    count++;
  }
  return count;
}

/** Number of hashes in PROOF(treeSize1, D[0:treeSize2]) for 0 < treeSize1 < treeSize2 (§2.1.4.2 run dry). */
export function consistencyPathLength(treeSize1: number, treeSize2: number): number {
  checkConsistencyRange(treeSize1, treeSize2);
  if (treeSize1 === treeSize2) return 0;
  let fn = treeSize1 - 1;
  let sn = treeSize2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let count = 1; // path[0] (the prepended first root when treeSize1 is a power of two)
  while (sn !== 0) {
    if (isOdd(fn) || fn === sn) {
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    }
    fn = half(fn);
    sn = half(sn);
    count++;
  }
  return isPowerOfTwo(treeSize1) ? count - 1 : count;
}

/**
 * The root an inclusion proof leads to from `leafHash` (RFC 9162 §2.1.3.2); throws when the proof
 * is malformed for its sizes. The caller compares the root (or, for a receipt, verifies the
 * signature over it: RFC 9942 §5.2.1).
 */
export function rootFromInclusionProof(leafHash: Uint8Array, proof: InclusionProof): Uint8Array {
  const { leafIndex, treeSize, path } = proof;
  checkPath(path, 'inclusion');
  if (leafHash.length !== HASH_SIZE) throw new MerkleError('ERR_MERKLE_PROOF', `leaf hash is ${leafHash.length} bytes, not ${HASH_SIZE}`);
  const expected = inclusionPathLength(leafIndex, treeSize);
  if (path.length !== expected) {
    throw new MerkleError(
      'ERR_MERKLE_PROOF',
      `inclusion path has ${path.length} hashes; leaf ${leafIndex} of a tree of ${treeSize} needs exactly ${expected} (RFC 9162 §2.1.3.2)`,
    );
  }
  // §2.1.3.2 steps 2–4.
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const p of path) {
    if (sn === 0) throw new MerkleError('ERR_MERKLE_PROOF', 'inclusion path is longer than the tree is deep');
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new MerkleError('ERR_MERKLE_PROOF', 'inclusion path is shorter than the tree is deep');
  return r;
}

/** Verifies that `leafHash` is leaf `proof.leafIndex` of the tree of `proof.treeSize` leaves with `root`. */
export function verifyInclusion(leafHash: Uint8Array, proof: InclusionProof, root: Uint8Array): void {
  const computed = rootFromInclusionProof(leafHash, proof);
  if (!digestsEqual(computed, root)) {
    throw new MerkleError('ERR_MERKLE_PROOF', `inclusion proof for leaf ${proof.leafIndex} of ${proof.treeSize} leads to a different root`);
  }
}

/**
 * The newer root a consistency proof leads to from the older root `root1` (RFC 9162 §2.1.4.2),
 * after checking that the proof also reproduces `root1`. Equal sizes need an empty proof and give
 * root1 back; size 0 is refused (nothing to be consistent with, as the transparency-dev vectors expect).
 */
export function rootFromConsistencyProof(proof: ConsistencyProof, root1: Uint8Array): Uint8Array {
  const { treeSize1, treeSize2, path } = proof;
  checkPath(path, 'consistency');
  const expected = consistencyPathLength(treeSize1, treeSize2);
  if (treeSize1 === treeSize2) {
    if (path.length !== 0) throw new MerkleError('ERR_MERKLE_PROOF', `trees of equal size ${treeSize1} need an empty consistency proof; got ${path.length} hashes`);
    return root1;
  }
  if (path.length !== expected) {
    throw new MerkleError(
      'ERR_MERKLE_PROOF',
      `consistency path has ${path.length} hashes; sizes ${treeSize1} → ${treeSize2} need exactly ${expected} (RFC 9162 §2.1.4.2)`,
    );
  }
  // Step 2: a power-of-two first tree is itself a complete subtree, so the proof omits it.
  const hashes = isPowerOfTwo(treeSize1) ? [root1, ...path] : path;
  // Steps 3–4.
  let fn = treeSize1 - 1;
  let sn = treeSize2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // Steps 5–6.
  let fr = hashes[0]!;
  let sr = hashes[0]!;
  if (fr.length !== HASH_SIZE) throw new MerkleError('ERR_MERKLE_PROOF', `first root is ${fr.length} bytes, not ${HASH_SIZE}`);
  for (let i = 1; i < hashes.length; i++) {
    const c = hashes[i]!;
    if (sn === 0) throw new MerkleError('ERR_MERKLE_PROOF', 'consistency path is longer than the newer tree is deep');
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // Step 7.
  if (sn !== 0) throw new MerkleError('ERR_MERKLE_PROOF', 'consistency path is shorter than the newer tree is deep');
  if (!digestsEqual(fr, root1)) {
    throw new MerkleError('ERR_MERKLE_PROOF', `consistency proof ${treeSize1} → ${treeSize2} does not reproduce the older root`);
  }
  return sr;
}

/** Verifies that the tree (treeSize1, root1) is a prefix of the tree (treeSize2, root2) (RFC 9162 §2.1.4.2). */
export function verifyConsistency(proof: ConsistencyProof, root1: Uint8Array, root2: Uint8Array): void {
  const computed = rootFromConsistencyProof(proof, root1);
  if (!digestsEqual(computed, root2)) {
    throw new MerkleError(
      'ERR_MERKLE_PROOF',
      proof.treeSize1 === proof.treeSize2
        ? `trees of equal size ${proof.treeSize1} have different roots`
        : `consistency proof ${proof.treeSize1} → ${proof.treeSize2} does not lead to the newer root`,
    );
  }
}

function checkInclusionRange(leafIndex: number, treeSize: number): void {
  assertUint(treeSize, 'tree size');
  assertUint(leafIndex, 'leaf index');
  if (treeSize === 0) throw new MerkleError('ERR_MERKLE_RANGE', 'the empty tree (size 0) has no leaves to prove');
  if (leafIndex >= treeSize) throw new MerkleError('ERR_MERKLE_RANGE', `leaf index ${leafIndex} is not below tree size ${treeSize} (RFC 9162 §2.1.3.2 step 1)`);
}

function checkConsistencyRange(treeSize1: number, treeSize2: number): void {
  assertUint(treeSize1, 'tree size 1');
  assertUint(treeSize2, 'tree size 2');
  if (treeSize1 === 0) throw new MerkleError('ERR_MERKLE_RANGE', 'consistency with the empty tree (size 1 = 0) proves nothing; refused');
  if (treeSize1 > treeSize2) throw new MerkleError('ERR_MERKLE_RANGE', `tree size 1 (${treeSize1}) is larger than tree size 2 (${treeSize2})`);
}

function checkPath(path: readonly Uint8Array[], what: string): void {
  if (!Array.isArray(path)) throw new MerkleError('ERR_MERKLE_PROOF', `${what} path must be an array of hashes`);
  if (path.length > MAX_PATH_LENGTH) {
    throw new MerkleError('ERR_MERKLE_PROOF', `${what} path has ${path.length} hashes; no tree below 2^64 leaves needs more than ${MAX_PATH_LENGTH}`);
  }
  for (let i = 0; i < path.length; i++) {
    const h = path[i];
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
      throw new MerkleError('ERR_MERKLE_PROOF', `${what} path element ${i} is not a ${HASH_SIZE}-byte hash`);
    }
  }
}
