/** The committer's Merkle node cache (sqlite-node-store.ts): committed nodes only, a rolled-back batch leaves nothing behind. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MerkleTree, leafHash } from '@scitt-actions/core/merkle';
import { LogDatabase } from '../src/database.ts';
import { SqliteNodeStore } from '../src/sqlite-node-store.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const leaves = (from: number, n: number) => Array.from({ length: n }, (_, i) => leafHash(new TextEncoder().encode(`leaf ${from + i}`)));

describe('SqliteNodeStore with a cache', () => {
  it('serves the same proofs as the uncached store, across commits, a rolled-back batch and evictions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scitt-node-cache-'));
    dirs.push(dir);
    const db = LogDatabase.openWriter(dir);
    try {
      const cached = new SqliteNodeStore(db, 0, 8); // tiny: evictions on every batch
      const tree = new MerkleTree(cached);
      const append = (from: number, n: number, commit: boolean) => {
        cached.reset();
        db.db.exec('BEGIN IMMEDIATE');
        tree.appendLeaves(leaves(from, n));
        // the log's size is its latest batch's (LogDatabase.size)
        db.putBatch({ treeSize: tree.size, root: tree.root(), protectedBytes: new Uint8Array(1), signature: new Uint8Array(1), iat: 0, treeHead: new Uint8Array(1) });
        if (commit) {
          db.db.exec('COMMIT');
          cached.committed();
        } else db.db.exec('ROLLBACK');
      };
      append(0, 5, true);
      append(5, 7, false); // rolled back: its nodes must not be served
      expect(cached.getNode(0, 5)).toBeUndefined();
      cached.reset(); // as the committer does before its next batch
      expect(tree.size).toBe(5);
      append(5, 9, true);
      append(14, 3, true);
      const plain = new MerkleTree(new SqliteNodeStore(db));
      const fresh = Array.from({ length: 17 }, (_, i) => i);
      expect(tree.inclusionProofs(fresh, 17)).toEqual(plain.inclusionProofs(fresh, 17));
      expect(tree.root(17)).toEqual(plain.root(17));
      expect(tree.consistencyProof(5, 17)).toEqual(plain.consistencyProof(5, 17));
      // what the rolled-back batch computed differs from what committed at leaf 5
      expect(Buffer.from(cached.getNode(0, 5)!)).toEqual(Buffer.from(leaves(5, 1)[0]!));
    } finally {
      db.close();
    }
  });
});
