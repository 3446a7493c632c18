/**
 * Storage for an append-only RFC 9162 tree: the hashes of complete (perfect) subtrees, addressed by
 * (level, index) — node (l, i) covers leaves [i·2^l, (i+1)·2^l). Every root and proof at any past
 * size can be computed from these alone (RFC 9162 §2.1.1 splits always fall on such subtrees), so
 * leaves never need to be re-read. The interface is synchronous so that the Transparency Service can
 * implement it on node:sqlite's DatabaseSync and write one batch in one transaction.
 */
import { MerkleError } from '../errors.ts';
import { HASH_SIZE } from './hash.ts';

export interface StoredNode {
  readonly level: number;
  readonly index: number;
  readonly hash: Uint8Array;
}

export interface NodeStore {
  /** number of leaves appended so far */
  getSize(): number;
  /** hash of complete subtree (level, index), or undefined when it does not exist (yet) */
  getNode(level: number, index: number): Uint8Array | undefined;
  /**
   * Persist every node completed by one append (leaves are level 0) and the new leaf count, as one
   * atomic step: a crash must leave the store at the old size or at the new one.
   */
  appendNodes(nodes: readonly StoredNode[], newSize: number): void;
}

/**
 * In-memory NodeStore: one growing byte buffer per level (32 bytes per node), so a million leaves
 * take about 64 MB and no per-node objects. Returned hashes are views into the buffer; a stored
 * node never changes, and growth copies into a new buffer, so views stay valid.
 */
export class MemoryNodeStore implements NodeStore {
  #size = 0;
  readonly #levels: { buf: Uint8Array; count: number }[] = [];

  getSize(): number {
    return this.#size;
  }

  getNode(level: number, index: number): Uint8Array | undefined {
    const l = this.#levels[level];
    if (!l || index >= l.count || index < 0) return undefined;
    return l.buf.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE);
  }

  appendNodes(nodes: readonly StoredNode[], newSize: number): void {
    for (const n of nodes) {
      let l = this.#levels[n.level];
      if (!l) {
        l = { buf: new Uint8Array(64 * HASH_SIZE), count: 0 };
        this.#levels[n.level] = l;
      }
      // Nodes of one level complete strictly left to right: anything else is a bug in the caller.
      if (n.index !== l.count) throw new MerkleError('ERR_MERKLE_RANGE', `node (${n.level}, ${n.index}) appended out of order; expected index ${l.count}`);
      if (n.hash.length !== HASH_SIZE) throw new MerkleError('ERR_MERKLE_RANGE', `node (${n.level}, ${n.index}) is ${n.hash.length} bytes, not ${HASH_SIZE}`);
      if ((l.count + 1) * HASH_SIZE > l.buf.length) {
        const grown = new Uint8Array(l.buf.length * 2);
        grown.set(l.buf);
        l.buf = grown;
      }
      l.buf.set(n.hash, l.count * HASH_SIZE);
      l.count++;
    }
    this.#size = newSize;
  }
}

/** Wraps a store and counts node reads, so tests and benchmarks can check that a proof reads O(log n) nodes. */
export class CountingNodeStore implements NodeStore {
  reads = 0;
  readonly inner: NodeStore;

  constructor(inner: NodeStore) {
    this.inner = inner;
  }

  getSize(): number {
    return this.inner.getSize();
  }

  getNode(level: number, index: number): Uint8Array | undefined {
    this.reads++;
    return this.inner.getNode(level, index);
  }

  appendNodes(nodes: readonly StoredNode[], newSize: number): void {
    this.inner.appendNodes(nodes, newSize);
  }
}
