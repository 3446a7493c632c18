export { EMPTY_ROOT, HASH_SIZE, digestsEqual, leafHash, nodeHash, sha256 } from './hash.ts';
export { MAX_TREE_SIZE } from './sizes.ts';
export { CountingNodeStore, MemoryNodeStore, type NodeStore, type StoredNode } from './store.ts';
export { MerkleTree, type ConsistencyProof, type InclusionProof } from './tree.ts';
export {
  MAX_PATH_LENGTH,
  consistencyPathLength,
  inclusionPathLength,
  rootFromConsistencyProof,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from './verify.ts';
