/**
 * An append-only RFC 9162 §2.1 Merkle tree over a NodeStore. Appends store every subtree they
 * complete; roots (§2.1.1), inclusion proofs (§2.1.3.1) and consistency proofs (§2.1.4.1) at any
 * size up to the current one are then read from stored complete subtrees only: a proof reads at
 * most about 2·log2(n) nodes and never touches the leaves it does not need.
 */
import { MerkleError } from '../errors.ts';
import { EMPTY_ROOT, HASH_SIZE, nodeHash } from './hash.ts';
import { assertUint, bitSet, half, isOdd, MAX_TREE_SIZE, pow2, splitLevel } from './sizes.ts';
import { MemoryNodeStore, type NodeStore, type StoredNode } from './store.ts';

/** RFC 9162 §2.1.3 audit path, as carried by an RFC9162_SHA256 receipt (RFC 9942 §5.2). */
export interface InclusionProof {
  readonly treeSize: number;
  readonly leafIndex: number;
  /** sibling hashes, leaf level first */
  readonly path: readonly Uint8Array[];
}

/** RFC 9162 §2.1.4 consistency proof between the trees of sizes treeSize1 and treeSize2 (RFC 9942 §5.3). */
export interface ConsistencyProof {
  readonly treeSize1: number;
  readonly treeSize2: number;
  readonly path: readonly Uint8Array[];
}

export class MerkleTree {
  readonly store: NodeStore;

  constructor(store: NodeStore = new MemoryNodeStore()) {
    this.store = store;
  }

  /** number of leaves */
  get size(): number {
    return this.store.getSize();
  }

  /** Appends one leaf hash (leafHash(entry)); returns its index. */
  appendLeaf(leafHash: Uint8Array): number {
    return this.appendLeaves([leafHash]);
  }

  /**
   * Appends leaf hashes in order and hands every completed node to the store in one call, so a
   * batch is one transaction. Returns the index of the first new leaf.
   */
  appendLeaves(leafHashes: readonly Uint8Array[]): number {
    const first = this.size;
    if (leafHashes.length === 0) return first;
    if (first + leafHashes.length > MAX_TREE_SIZE) throw new MerkleError('ERR_MERKLE_RANGE', 'the tree cannot grow beyond 2^53 - 1 leaves');
    // frontier[l]: the complete subtree of level l at the right edge, present when bit l of size is set.
    const frontier: (Uint8Array | undefined)[] = [];
    for (let l = 0; pow2(l) <= first; l++) {
      if (bitSet(first, l)) frontier[l] = this.#node(l, Math.floor(first / pow2(l)) - 1, first);
    }
    const nodes: StoredNode[] = [];
    let size = first;
    for (const leaf of leafHashes) {
      if (leaf.length !== HASH_SIZE) throw new MerkleError('ERR_MERKLE_RANGE', `leaf hash ${size} is ${leaf.length} bytes, not ${HASH_SIZE}`);
      let h = leaf;
      let index = size;
      let level = 0;
      nodes.push({ level, index, hash: h });
      // An odd index completes its parent with the left sibling waiting in the frontier.
      while (isOdd(index)) {
        h = nodeHash(frontier[level]!, h);
        frontier[level] = undefined;
        index = half(index);
        level++;
        nodes.push({ level, index, hash: h });
      }
      frontier[level] = h;
      size++;
    }
    this.store.appendNodes(nodes, size);
    return first;
  }

  /** The hash of leaf `index` as stored. */
  leafHash(index: number): Uint8Array {
    const size = this.size;
    assertUint(index, 'leaf index');
    if (index >= size) throw new MerkleError('ERR_MERKLE_RANGE', `leaf index ${index} is not in a tree of ${size} leaves`);
    return this.#node(0, index, size);
  }

  /** MTH(D[0:size]) (RFC 9162 §2.1.1) for any size up to the current one. */
  root(size: number = this.size): Uint8Array {
    this.#checkSize(size, 'tree size');
    return size === 0 ? EMPTY_ROOT : this.#rangeHash(0, size);
  }

  /** PATH(leafIndex, D[0:treeSize]) (RFC 9162 §2.1.3.1). */
  inclusionProof(leafIndex: number, treeSize: number = this.size): InclusionProof {
    this.#checkSize(treeSize, 'tree size');
    return this.#inclusionProof(leafIndex, treeSize, undefined);
  }

  /**
   * Proofs for many leaves at one size, e.g. a whole batch of receipts. The hashes of incomplete
   * subtrees on the right edge are shared by all of them, so they are computed once per call (and
   * never kept beyond it: a later call may see a store rolled back to another size).
   */
  inclusionProofs(leafIndices: readonly number[], treeSize: number = this.size): InclusionProof[] {
    this.#checkSize(treeSize, 'tree size');
    const shared = new Map<number, Uint8Array>();
    return leafIndices.map((i) => this.#inclusionProof(i, treeSize, shared));
  }

  #inclusionProof(leafIndex: number, treeSize: number, shared: Map<number, Uint8Array> | undefined): InclusionProof {
    assertUint(leafIndex, 'leaf index');
    if (leafIndex >= treeSize) throw new MerkleError('ERR_MERKLE_RANGE', `leaf index ${leafIndex} is not in a tree of ${treeSize} leaves`);
    // Walk down from the root; each step's sibling is the other half. Collected top-down.
    const path: Uint8Array[] = [];
    let start = 0;
    let n = treeSize;
    while (n > 1) {
      const l = splitLevel(n);
      const k = pow2(l);
      if (leafIndex < start + k) {
        // Right-edge ranges [start+k, treeSize) are the expensive, incomplete ones; at a fixed size
        // such a range is identified by its start. Other siblings are single stored nodes.
        const edge = shared && start + n === treeSize;
        let h = edge ? shared.get(start + k) : undefined;
        if (!h) {
          h = this.#rangeHash(start + k, n - k);
          if (edge) shared.set(start + k, h);
        }
        path.push(h);
        n = k;
      } else {
        path.push(this.#node(l, start / k, treeSize));
        start += k;
        n -= k;
      }
    }
    return { treeSize, leafIndex, path: path.reverse() };
  }

  /** PROOF(treeSize1, D[0:treeSize2]) = SUBPROOF(m, D[0:n], true) (RFC 9162 §2.1.4.1); 0 < treeSize1 ≤ treeSize2. */
  consistencyProof(treeSize1: number, treeSize2: number = this.size): ConsistencyProof {
    this.#checkSize(treeSize2, 'tree size 2');
    assertUint(treeSize1, 'tree size 1');
    if (treeSize1 === 0 || treeSize1 > treeSize2) {
      throw new MerkleError('ERR_MERKLE_RANGE', `a consistency proof needs 0 < tree size 1 ≤ tree size 2; got ${treeSize1} and ${treeSize2}`);
    }
    // SUBPROOF unrolled: each step appends one hash after the recursive part, so collect and reverse.
    const path: Uint8Array[] = [];
    let start = 0;
    let m = treeSize1;
    let n = treeSize2;
    let whole = true; // SUBPROOF's b: still on the left edge, where the old root is known to the verifier
    while (m !== n) {
      const l = splitLevel(n);
      const k = pow2(l);
      if (m <= k) {
        path.push(this.#rangeHash(start + k, n - k));
        n = k;
      } else {
        path.push(this.#node(l, start / k, treeSize2));
        start += k;
        m -= k;
        n -= k;
        whole = false;
      }
    }
    if (!whole) path.push(this.#rangeHash(start, m));
    return { treeSize1, treeSize2, path: path.reverse() };
  }

  #checkSize(size: number, what: string): void {
    assertUint(size, what);
    const current = this.size;
    if (size > current) throw new MerkleError('ERR_MERKLE_RANGE', `${what} ${size} is larger than the tree (${current} leaves)`);
  }

  /**
   * MTH(D[start : start+count]) for a range the RFC 9162 split produces (start is a multiple of the
   * largest power of two ≤ count): the complete subtrees of count's binary decomposition, left to
   * right, folded from the right as the recursive definition does.
   */
  #rangeHash(start: number, count: number): Uint8Array {
    const parts: Uint8Array[] = [];
    let at = start;
    for (let l = splitLevel(count + 1); l >= 0; l--) {
      if (bitSet(count, l)) {
        parts.push(this.#node(l, at / pow2(l), start + count));
        at += pow2(l);
      }
    }
    let h = parts.pop()!;
    while (parts.length > 0) h = nodeHash(parts.pop()!, h);
    return h;
  }

  #node(level: number, index: number, needed: number): Uint8Array {
    const h = this.store.getNode(level, index);
    if (!h) {
      throw new MerkleError('ERR_MERKLE_RANGE', `node store has no node (${level}, ${index}) needed for ${needed} leaves: the store is inconsistent with its size`);
    }
    return h;
  }
}
