/**
 * The Merkle NodeStore on the log database; writes happen inside the caller's batch transaction.
 *
 * With `cache` > 0 (the batch committer's store) it keeps up to that many committed nodes in memory:
 * a batch's receipts need the same left-edge subtrees and the nodes just appended, and reading each
 * with a SELECT cost more CPU than signing the receipt (perf: 11% of the event loop). A node is the
 * hash of a complete subtree, never rewritten once committed; nodes written or read inside an open
 * transaction are kept apart until committed() and dropped by reset() (a rolled-back batch).
 */
import type { NodeStore, StoredNode } from '@scitt-actions/core/merkle';
import type { LogDatabase } from './database.ts';

// level < 64 and index < 2^47 (a log of fewer than 2^47 leaves): one safe integer per node
const key = (level: number, index: number) => level * 2 ** 47 + index;

export class SqliteNodeStore implements NodeStore {
  readonly #db: LogDatabase;
  #size: number;
  readonly #max: number;
  readonly #cache = new Map<number, Uint8Array>();
  readonly #pending = new Map<number, Uint8Array>();

  constructor(db: LogDatabase, size = db.size(), cache = 0) {
    this.#db = db;
    this.#size = size;
    this.#max = cache;
  }

  getSize(): number {
    return this.#size;
  }

  getNode(level: number, index: number): Uint8Array | undefined {
    if (this.#max === 0) return this.#db.node(level, index);
    const k = key(level, index);
    const open = this.#db.db.isTransaction;
    // pending nodes count only inside their transaction (rolled back or not yet committed() otherwise)
    const hit = this.#cache.get(k) ?? (open ? this.#pending.get(k) : undefined);
    if (hit) return hit;
    const h = this.#db.node(level, index);
    if (h) {
      if (open) this.#pending.set(k, h);
      else this.#keep(k, h);
    }
    return h;
  }

  appendNodes(nodes: readonly StoredNode[], newSize: number): void {
    this.#db.putNodes(nodes);
    if (this.#max > 0) for (const n of nodes) this.#pending.set(key(n.level, n.index), n.hash);
    this.#size = newSize;
  }

  /** After COMMIT returned: what the batch wrote is durable, and may be served from memory. */
  committed(): void {
    for (const [k, h] of this.#pending) this.#keep(k, h);
    this.#pending.clear();
  }

  /** After a rolled-back batch: the size is what the database committed. */
  reset(): void {
    this.#pending.clear();
    this.#size = this.#db.size();
  }

  #keep(k: number, h: Uint8Array): void {
    this.#cache.set(k, h);
    // oldest first; a subtree still needed is read again and kept anew
    for (const old of this.#cache.keys()) {
      if (this.#cache.size <= this.#max) break;
      this.#cache.delete(old);
    }
  }
}
