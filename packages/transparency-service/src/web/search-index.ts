/**
 * The web view's search index: issuer, subject and the SHA-256 the statement is about (the digest its
 * sub pins, or a Hash Envelope's SHA-256 payload) for every entry, in web-index.sqlite next to the log.
 * It is derived data, rebuilt from the log when missing, and caught up from the log (log.sqlite
 * read-only, or a PostgreSQL replica's database: IndexSource) a bounded number of entries per request,
 * so a large log never stalls the service for long.
 */
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { subjectSha256 } from '@scitt-actions/core/payload';
import { parseSignedStatement } from '@scitt-actions/core/statement';
import { DB_FILE } from '../database.ts';

export interface IndexedEntry {
  leafIndex: number;
  entryId: string;
  iss: string;
  sub: string;
  sha256?: string;
  registeredAt: number;
}

const CATCH_UP = 20_000;

export interface SourceEntry {
  leaf_index: number;
  entry_id: Uint8Array;
  statement: Uint8Array;
  registered_at: number;
}

/** Where the index reads committed entries from. */
export interface IndexSource {
  /** the committed tree size */
  size(): number;
  /** committed entries with from <= leaf_index < to, in order, at most limit */
  entries(from: number, to: number, limit: number): SourceEntry[] | Promise<SourceEntry[]>;
  close(): void;
}

function sqliteSource(dataDir: string): IndexSource {
  const log = new DatabaseSync(join(dataDir, DB_FILE), { readOnly: true });
  return {
    size: () => Number((log.prepare('SELECT COALESCE(MAX(tree_size), 0) AS n FROM batches').get() as { n: number }).n),
    entries: (from, to, limit) => log.prepare('SELECT leaf_index, entry_id, statement, registered_at FROM entries WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index LIMIT ?').all(from, to, limit) as unknown as SourceEntry[],
    close: () => log.close(),
  };
}

export class SearchIndex {
  readonly #log: IndexSource;
  readonly #index: DatabaseSync;

  /** the index lives in dataDir; the entries come from `source` (default: the SQLite log in dataDir) */
  constructor(dataDir: string, source?: IndexSource) {
    this.#log = source ?? sqliteSource(dataDir);
    this.#index = new DatabaseSync(join(dataDir, 'web-index.sqlite'));
    this.#index.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS entries (leaf_index INTEGER PRIMARY KEY, entry_id TEXT NOT NULL, iss TEXT NOT NULL, sub TEXT NOT NULL, sha256 TEXT, registered_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS by_iss ON entries (iss, leaf_index);
      CREATE INDEX IF NOT EXISTS by_sha256 ON entries (sha256, leaf_index);
      CREATE INDEX IF NOT EXISTS by_id ON entries (entry_id);`);
  }

  /** Indexes committed entries not yet indexed, at most CATCH_UP per call; the queries below read what it indexed. */
  catchUp(): void | Promise<void> {
    const next = Number((this.#index.prepare('SELECT COALESCE(MAX(leaf_index) + 1, 0) AS n FROM entries').get() as { n: number }).n);
    const size = this.#log.size();
    if (next >= size) return;
    const rows = this.#log.entries(next, size, CATCH_UP);
    return rows instanceof Promise ? rows.then((r) => this.#put(r)) : this.#put(rows);
  }

  #put(rows: SourceEntry[]): void {
    const put = this.#index.prepare('INSERT OR REPLACE INTO entries (leaf_index, entry_id, iss, sub, sha256, registered_at) VALUES (?, ?, ?, ?, ?, ?)');
    this.#index.exec('BEGIN');
    try {
      for (const r of rows) {
        let iss = '';
        let sub = '';
        let sha256: string | null = null;
        try {
          const s = parseSignedStatement(r.statement);
          iss = s.iss;
          sub = s.sub;
          sha256 = subjectSha256(s.sub) ?? (s.hashEnvelope && s.sign1.payload?.length === 32 ? Buffer.from(s.sign1.payload).toString('hex') : null);
        } catch {
          // entries were checked at registration; a profile change must not stop the index
        }
        put.run(Number(r.leaf_index), Buffer.from(r.entry_id).toString('hex'), iss, sub, sha256, Number(r.registered_at));
      }
      this.#index.exec('COMMIT');
    } catch (e) {
      this.#index.exec('ROLLBACK');
      throw e;
    }
  }

  recent(limit: number): IndexedEntry[] {
    return this.#rows(this.#index.prepare('SELECT * FROM entries ORDER BY leaf_index DESC LIMIT ?').all(limit));
  }

  byEntryId(id: string): IndexedEntry | undefined {
    return this.#rows(this.#index.prepare('SELECT * FROM entries WHERE entry_id = ?').all(id))[0];
  }

  bySha256(hex: string, limit: number): IndexedEntry[] {
    return this.#rows(this.#index.prepare('SELECT * FROM entries WHERE sha256 = ? ORDER BY leaf_index DESC LIMIT ?').all(hex, limit));
  }

  byIssuer(iss: string, limit: number): IndexedEntry[] {
    return this.#rows(this.#index.prepare('SELECT * FROM entries WHERE iss = ? ORDER BY leaf_index DESC LIMIT ?').all(iss, limit));
  }

  close(): void {
    this.#log.close();
    this.#index.close();
  }

  #rows(rows: unknown[]): IndexedEntry[] {
    return (rows as { leaf_index: number; entry_id: string; iss: string; sub: string; sha256: string | null; registered_at: number }[]).map((r) => ({
      leafIndex: Number(r.leaf_index),
      entryId: r.entry_id,
      iss: r.iss,
      sub: r.sub,
      ...(r.sha256 ? { sha256: r.sha256 } : {}),
      registeredAt: Number(r.registered_at),
    }));
  }
}
