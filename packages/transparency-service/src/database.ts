/**
 * Durable state of the Transparency Service on node:sqlite, in WAL mode with synchronous=FULL, so a
 * COMMIT returns only once the batch is on disk. One writer connection appends batches; a separate
 * reader connection serves GETs and sees only committed state, never a batch in flight.
 *
 * Tables: entries (the log, one row per leaf), nodes (complete Merkle subtrees, so any root or proof
 * reads O(log n) rows), batches (one signed root per committed batch: every receipt of the batch is
 * rebuilt from that signature and an inclusion proof), policies (which entries are registration policies),
 * refusals (statements accepted against one policy but refused at commit by a newer one: what
 * GET /entries/{id} answers for them, so a client that was told 303 learns the outcome),
 * entry_signatures (the receipt header of one entry, with its sub, and its signature over the root of
 * the entry's batch; logs written before receipts carried sub have none and use the batch signature),
 * service_keys (keys rotated in: the public key, the leaf announcing it, the first tree size it signed).
 */
import { accessSync, constants } from 'node:fs';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { type DataDirLock, lockDataDir } from './data-dir-lock.ts';
import { join } from 'node:path';

export interface NodeRow {
  readonly level: number;
  readonly index: number;
  readonly hash: Uint8Array;
}

export interface EntryRow {
  leafIndex: number;
  entryId: Uint8Array;
  statement: Uint8Array;
  treeSize: number;
  registeredAt: number;
}

export interface BatchRow {
  treeSize: number;
  root: Uint8Array;
  protectedBytes: Uint8Array;
  signature: Uint8Array;
  iat: number;
  /** the signed tree head for this size (receipt/tree-head.ts) */
  treeHead: Uint8Array;
}

/** One entry's receipt header (with the statement's sub) and its signature over the batch root. */
export interface EntrySignatureRow {
  protectedBytes: Uint8Array;
  signature: Uint8Array;
}

export interface ServiceKeyRow {
  kid: Uint8Array;
  /** the public COSE_Key */
  coseKey: Uint8Array;
  /** the entry announcing it, signed by the key before it */
  leafIndex: number;
  /** the first tree size whose receipts it signs */
  treeSize: number;
}

export interface RefusalRow {
  policyLeafIndex: number;
  reason: string;
  refusedAt: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  leaf_index    INTEGER PRIMARY KEY,
  entry_id      BLOB NOT NULL UNIQUE,
  statement     BLOB NOT NULL,
  tree_size     INTEGER NOT NULL,
  registered_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS nodes (
  level INTEGER NOT NULL,
  idx   INTEGER NOT NULL,
  hash  BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches (
  tree_size INTEGER PRIMARY KEY,
  root      BLOB NOT NULL,
  protected BLOB NOT NULL,
  signature BLOB NOT NULL,
  iat       INTEGER NOT NULL,
  tree_head BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS policies (
  leaf_index INTEGER PRIMARY KEY REFERENCES entries(leaf_index),
  policy     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entry_signatures (
  leaf_index INTEGER PRIMARY KEY REFERENCES entries(leaf_index),
  protected  BLOB NOT NULL,
  signature  BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS service_keys (
  kid        BLOB PRIMARY KEY,
  cose_key   BLOB NOT NULL,
  leaf_index INTEGER NOT NULL REFERENCES entries(leaf_index),
  tree_size  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS refusals (
  entry_id          BLOB PRIMARY KEY,
  policy_leaf_index INTEGER NOT NULL,
  reason            TEXT NOT NULL,
  refused_at        INTEGER NOT NULL
) WITHOUT ROWID;
`;

export const DB_FILE = 'log.sqlite';

function writableDirectory(dir: string): true | string {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
}

function open(path: string, readOnly: boolean): DatabaseSync {
  const db = new DatabaseSync(path, { readOnly });
  db.exec('PRAGMA busy_timeout = 5000');
  if (!readOnly) db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;');
  return db;
}

/** Prepared statements over one connection. */
export class LogDatabase {
  readonly db: DatabaseSync;
  readonly #q: Record<string, StatementSync>;

  readonly #lock: DataDirLock | undefined;

  private constructor(db: DatabaseSync, lock?: DataDirLock) {
    this.db = db;
    this.#lock = lock;
    const p = (sql: string) => db.prepare(sql);
    this.#q = {
      size: p('SELECT COALESCE(MAX(tree_size), 0) AS n FROM batches'),
      node: p('SELECT hash FROM nodes WHERE level = ? AND idx = ?'),
      putNode: p('INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)'),
      entryById: p('SELECT leaf_index, entry_id, statement, tree_size, registered_at FROM entries WHERE entry_id = ?'),
      entryByIndex: p('SELECT leaf_index, entry_id, statement, tree_size, registered_at FROM entries WHERE leaf_index = ?'),
      putEntry: p('INSERT INTO entries (leaf_index, entry_id, statement, tree_size, registered_at) VALUES (?, ?, ?, ?, ?)'),
      batch: p('SELECT tree_size, root, protected, signature, iat, tree_head FROM batches WHERE tree_size = ?'),
      latestBatch: p('SELECT tree_size, root, protected, signature, iat, tree_head FROM batches ORDER BY tree_size DESC LIMIT 1'),
      putBatch: p('INSERT INTO batches (tree_size, root, protected, signature, iat, tree_head) VALUES (?, ?, ?, ?, ?, ?)'),
      latestPolicy: p('SELECT p.leaf_index AS leaf_index, p.policy AS policy FROM policies p ORDER BY p.leaf_index DESC LIMIT 1'),
      putPolicy: p('INSERT INTO policies (leaf_index, policy) VALUES (?, ?)'),
      refusal: p('SELECT policy_leaf_index, reason, refused_at FROM refusals WHERE entry_id = ?'),
      putRefusal: p('INSERT OR REPLACE INTO refusals (entry_id, policy_leaf_index, reason, refused_at) VALUES (?, ?, ?, ?)'),
      entrySignature: p('SELECT protected, signature FROM entry_signatures WHERE leaf_index = ?'),
      putEntrySignature: p('INSERT INTO entry_signatures (leaf_index, protected, signature) VALUES (?, ?, ?)'),
      serviceKeys: p('SELECT kid, cose_key, leaf_index, tree_size FROM service_keys ORDER BY tree_size'),
      putServiceKey: p('INSERT INTO service_keys (kid, cose_key, leaf_index, tree_size) VALUES (?, ?, ?, ?)'),
      duplicates: p('SELECT COUNT(*) AS n FROM (SELECT entry_id FROM entries GROUP BY entry_id HAVING COUNT(*) > 1)'),
    };
  }

  /** The writer: creates the schema. Refuses to run on a database that fails its integrity check. */
  static openWriter(dataDir: string): LogDatabase {
    let db: DatabaseSync;
    try {
      db = open(join(dataDir, DB_FILE), false);
    } catch (e) {
      // SQLite says only "unable to open database file": say whether the directory is the reason
      const dir = writableDirectory(dataDir);
      throw new Error(`cannot open database ${join(dataDir, DB_FILE)} (${(e as Error).message}${dir === true ? '' : `; the data directory is not writable: ${dir}`}); the service needs read and write access to its data directory ${dataDir} and the files in it, and an intact database (restore the data directory from a backup if it is damaged)`);
    }
    const check = db.prepare('PRAGMA quick_check').get() as { quick_check: string };
    if (check.quick_check !== 'ok') {
      db.close();
      throw new Error(`database ${join(dataDir, DB_FILE)} is corrupt (${check.quick_check}); restore the data directory from a backup`);
    }
    db.exec(SCHEMA);
    // SQLite opens a file it may not write read-only without a word, and every commit would then
    // fail: refuse to start instead. A write statement that changes nothing proves write access.
    try {
      db.exec('BEGIN IMMEDIATE; DELETE FROM batches WHERE 0; ROLLBACK');
    } catch (e) {
      if (db.isTransaction) db.exec('ROLLBACK');
      db.close();
      throw new Error(`database ${join(dataDir, DB_FILE)} is not writable (${(e as Error).message}); the service needs write access to its data directory ${dataDir} and the files in it`);
    }
    // one writer per log, before anything is appended (or a key minted): a second would fork it
    let lock: DataDirLock;
    try {
      lock = lockDataDir(dataDir);
    } catch (e) {
      db.close();
      throw e;
    }
    return new LogDatabase(db, lock);
  }

  /**
   * A second writing connection for the commit thread (commit-worker.ts), opened once openWriter has
   * checked the database, created the schema and taken the lock, which its caller keeps holding.
   */
  static openAppender(dataDir: string): LogDatabase {
    return new LogDatabase(open(join(dataDir, DB_FILE), false));
  }

  static openReader(dataDir: string): LogDatabase {
    return new LogDatabase(open(join(dataDir, DB_FILE), true));
  }

  close(): void {
    this.db.close();
    this.#lock?.release();
  }

  /** Leaves covered by committed batches (the published tree size). */
  size(): number {
    return Number((this.#q.size!.get() as { n: number }).n);
  }

  node(level: number, index: number): Uint8Array | undefined {
    const r = this.#q.node!.get(level, index) as { hash: Uint8Array } | undefined;
    return r?.hash;
  }

  putNodes(nodes: readonly NodeRow[]): void {
    for (const n of nodes) this.#q.putNode!.run(n.level, n.index, n.hash);
  }

  entryById(entryId: Uint8Array): EntryRow | undefined {
    return toEntry(this.#q.entryById!.get(entryId));
  }

  entryByIndex(leafIndex: number): EntryRow | undefined {
    return toEntry(this.#q.entryByIndex!.get(leafIndex));
  }

  putEntry(e: EntryRow): void {
    this.#q.putEntry!.run(e.leafIndex, e.entryId, e.statement, e.treeSize, e.registeredAt);
  }

  batch(treeSize: number): BatchRow | undefined {
    return toBatch(this.#q.batch!.get(treeSize));
  }

  latestBatch(): BatchRow | undefined {
    return toBatch(this.#q.latestBatch!.get());
  }

  putBatch(b: BatchRow): void {
    this.#q.putBatch!.run(b.treeSize, b.root, b.protectedBytes, b.signature, b.iat, b.treeHead);
  }

  latestPolicy(): { leafIndex: number; policy: string } | undefined {
    const r = this.#q.latestPolicy!.get() as { leaf_index: number; policy: string } | undefined;
    return r ? { leafIndex: Number(r.leaf_index), policy: r.policy } : undefined;
  }

  putPolicy(leafIndex: number, policy: string): void {
    this.#q.putPolicy!.run(leafIndex, policy);
  }

  entrySignature(leafIndex: number): EntrySignatureRow | undefined {
    const r = this.#q.entrySignature!.get(leafIndex) as { protected: Uint8Array; signature: Uint8Array } | undefined;
    return r ? { protectedBytes: r.protected, signature: r.signature } : undefined;
  }

  putEntrySignature(leafIndex: number, s: EntrySignatureRow): void {
    this.#q.putEntrySignature!.run(leafIndex, s.protectedBytes, s.signature);
  }

  /** Keys rotated in, oldest first (the first key of the log is service-key.pem and has no row). */
  serviceKeys(): ServiceKeyRow[] {
    return (this.#q.serviceKeys!.all() as { kid: Uint8Array; cose_key: Uint8Array; leaf_index: number; tree_size: number }[]).map((r) => ({
      kid: r.kid,
      coseKey: r.cose_key,
      leafIndex: Number(r.leaf_index),
      treeSize: Number(r.tree_size),
    }));
  }

  putServiceKey(k: ServiceKeyRow): void {
    this.#q.putServiceKey!.run(k.kid, k.coseKey, k.leafIndex, k.treeSize);
  }

  /** policyLeafIndex -1: the default policy (none registered yet) */
  refusal(entryId: Uint8Array): RefusalRow | undefined {
    const r = this.#q.refusal!.get(entryId) as { policy_leaf_index: number; reason: string; refused_at: number } | undefined;
    return r ? { policyLeafIndex: Number(r.policy_leaf_index), reason: r.reason, refusedAt: Number(r.refused_at) } : undefined;
  }

  putRefusal(entryId: Uint8Array, r: RefusalRow): void {
    this.#q.putRefusal!.run(entryId, r.policyLeafIndex, r.reason, r.refusedAt);
  }

  /** For crash tests and audits: entry ids that appear more than once (must be 0). */
  duplicateEntries(): number {
    return Number((this.#q.duplicates!.get() as { n: number }).n);
  }

  transaction<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (e) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw e;
    }
  }
}

function toEntry(r: unknown): EntryRow | undefined {
  if (!r) return undefined;
  const x = r as { leaf_index: number; entry_id: Uint8Array; statement: Uint8Array; tree_size: number; registered_at: number };
  return { leafIndex: Number(x.leaf_index), entryId: x.entry_id, statement: x.statement, treeSize: Number(x.tree_size), registeredAt: Number(x.registered_at) };
}

function toBatch(r: unknown): BatchRow | undefined {
  if (!r) return undefined;
  const x = r as { tree_size: number; root: Uint8Array; protected: Uint8Array; signature: Uint8Array; iat: number; tree_head: Uint8Array };
  return { treeSize: Number(x.tree_size), root: x.root, protectedBytes: x.protected, signature: x.signature, iat: Number(x.iat), treeHead: x.tree_head };
}
