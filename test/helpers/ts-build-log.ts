/**
 * Builds a large Transparency Service data directory fast, for the benchmark: the same code path as
 * a batch commit in packages/transparency-service/src/log.ts (LogDatabase, SqliteNodeStore over the
 * writer connection, MerkleTree.appendLeaves, signBatch with the service key of the directory; one
 * transaction per batch), minus the registration policy check and HTTP. The statements are
 * synthetic: one real ES256 Signed Statement whose fixed-width payload counter is rewritten per entry,
 * so every entry is a well-formed COSE_Sign1 with a distinct entry id, but only entry 0 carries a
 * valid issuer signature. Receipts, tree heads and proofs are genuine: the real service serves them.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { generateKey } from '@scitt-actions/core';
import { keySigner, thumbprint } from '@scitt-actions/core/cose';
import { MerkleTree, leafHash } from '@scitt-actions/core/merkle';
import { statementEntry } from '@scitt-actions/core/receipt';
import { createSignedStatement } from '@scitt-actions/core/statement';
import { LogDatabase } from '../../packages/transparency-service/src/database.ts';
import { signBatch } from '../../packages/transparency-service/src/receipts.ts';
import { loadOrCreateServiceKey } from '../../packages/transparency-service/src/service-key.ts';
import { SqliteNodeStore } from '../../packages/transparency-service/src/sqlite-node-store.ts';

export interface BuiltLog {
  /** entry id of leaf i at [32i, 32i+32) */
  entryIds: Buffer;
  size: number;
  batches: number;
  ms: number;
}

const DIGITS = 10;

export async function buildLog(dataDir: string, n: number, { batch = 4096, iss = 'https://bench.example' } = {}): Promise<BuiltLog> {
  const t0 = performance.now();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const { key, kid } = loadOrCreateServiceKey(dataDir, { size: 0 }); // a new data directory: an empty log
  const signer = keySigner(key);
  const issuer = generateKey('P-256');
  const marker = 'N'.repeat(DIGITS);
  const template = Buffer.from(
    await createSignedStatement({
      payload: new TextEncoder().encode(`{"bench":"${marker}"}`),
      contentType: 'application/json',
      signer: keySigner(issuer),
      iss: 'https://issuer.example/bench',
      sub: 'pkg:generic/bench@1',
      kid: thumbprint(issuer),
    }),
  );
  // With an empty unprotected header the logged entry is the statement itself (statementEntry).
  if (!Buffer.from(statementEntry(template)).equals(template)) throw new Error('template statement is not in entry form');
  const at = template.indexOf(marker);
  const db = LogDatabase.openWriter(dataDir);
  const store = new SqliteNodeStore(db);
  const tree = new MerkleTree(store);
  if (tree.size !== 0) throw new Error(`${dataDir} already holds a log`);
  const entryIds = Buffer.alloc(32 * n);
  let batches = 0;
  try {
    for (let start = 0; start < n; start += batch) {
      const end = Math.min(n, start + batch);
      const leaves: Uint8Array[] = [];
      const now = Math.floor(Date.now() / 1000);
      db.db.exec('BEGIN IMMEDIATE');
      for (let i = start; i < end; i++) {
        const statement = Buffer.from(template);
        statement.write(String(i).padStart(DIGITS, '0'), at, 'latin1');
        const entryId = createHash('sha256').update(statement).digest();
        entryId.copy(entryIds, 32 * i);
        db.putEntry({ leafIndex: i, entryId, statement, treeSize: end, registeredAt: now });
        leaves.push(leafHash(statement));
      }
      tree.appendLeaves(leaves);
      db.putBatch(await signBatch({ signer, kid, iss, iat: now, treeSize: end, root: tree.root(end) }));
      db.db.exec('COMMIT');
      batches++;
      // a macrotask turn between batches: a test worker answers its runner's RPC (60 s timeout) meanwhile
      await new Promise((resolve) => setImmediate(resolve));
    }
  } catch (e) {
    if (db.db.isTransaction) db.db.exec('ROLLBACK');
    throw e;
  } finally {
    db.close();
  }
  return { entryIds, size: n, batches, ms: performance.now() - t0 };
}

/** The synthetic statement of leaf `i` built by buildLog (for checking a served receipt). */
export const entryIdAt = (log: BuiltLog, i: number): string => log.entryIds.subarray(32 * i, 32 * i + 32).toString('hex');
