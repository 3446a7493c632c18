/** The Merkle NodeStore on the log database; writes happen inside the caller's batch transaction. */
import type { NodeStore, StoredNode } from '@scitt-actions/core/merkle';
import type { LogDatabase } from './database.ts';

export class SqliteNodeStore implements NodeStore {
  readonly #db: LogDatabase;
  #size: number;

  constructor(db: LogDatabase, size = db.size()) {
    this.#db = db;
    this.#size = size;
  }

  getSize(): number {
    return this.#size;
  }

  getNode(level: number, index: number): Uint8Array | undefined {
    return this.#db.node(level, index);
  }

  appendNodes(nodes: readonly StoredNode[], newSize: number): void {
    this.#db.putNodes(nodes);
    this.#size = newSize;
  }

  /** After a rolled-back batch: the size is what the database committed. */
  reset(): void {
    this.#size = this.#db.size();
  }
}
