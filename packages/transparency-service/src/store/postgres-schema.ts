/**
 * The PostgreSQL schema, as numbered migrations applied at start in one transaction under an
 * advisory lock, so replicas starting together apply each exactly once; schema_migrations records
 * what ran. A migration, once released, is never edited: a change is a new number.
 *
 * The log tables are those of the SQLite store (database.ts), plus pending: registrations written
 * durably by any replica before it acknowledges them, until the integrator moves them into the tree.
 * nodes carries the tree size of the batch that wrote each node, so a replica follows the tree by
 * reading only what is new.
 */
import type pg from 'pg';

/** pg_advisory_xact_lock key of migrations (distinct from the integrator's) */
const MIGRATION_LOCK = '5366237271829516801';

const MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE entries (
  leaf_index    BIGINT PRIMARY KEY,
  entry_id      BYTEA NOT NULL UNIQUE,
  statement     BYTEA NOT NULL,
  tree_size     BIGINT NOT NULL,
  registered_at BIGINT NOT NULL
);
CREATE TABLE nodes (
  level     INTEGER NOT NULL,
  idx       BIGINT NOT NULL,
  hash      BYTEA NOT NULL,
  tree_size BIGINT NOT NULL,
  PRIMARY KEY (level, idx)
);
CREATE INDEX nodes_by_tree_size ON nodes (tree_size);
CREATE TABLE batches (
  tree_size BIGINT PRIMARY KEY,
  root      BYTEA NOT NULL,
  protected BYTEA NOT NULL,
  signature BYTEA NOT NULL,
  iat       BIGINT NOT NULL,
  tree_head BYTEA NOT NULL
);
CREATE TABLE policies (
  leaf_index BIGINT PRIMARY KEY REFERENCES entries (leaf_index),
  policy     TEXT NOT NULL
);
CREATE TABLE entry_signatures (
  leaf_index BIGINT PRIMARY KEY REFERENCES entries (leaf_index),
  protected  BYTEA NOT NULL,
  signature  BYTEA NOT NULL
);
CREATE TABLE service_keys (
  kid        BYTEA PRIMARY KEY,
  cose_key   BYTEA NOT NULL,
  leaf_index BIGINT NOT NULL REFERENCES entries (leaf_index),
  tree_size  BIGINT NOT NULL
);
CREATE TABLE refusals (
  entry_id          BYTEA PRIMARY KEY,
  policy_leaf_index BIGINT NOT NULL,
  reason            TEXT NOT NULL,
  refused_at        BIGINT NOT NULL
);
CREATE TABLE pending (
  seq           BIGSERIAL PRIMARY KEY,
  entry_id      BYTEA NOT NULL UNIQUE,
  entry         BYTEA NOT NULL,
  statement     BYTEA NOT NULL,
  sub           TEXT NOT NULL,
  policy        TEXT,
  checked_under BIGINT NOT NULL,
  accepted_at   BIGINT NOT NULL
);`,
  },
];

/** Applies the migrations this database lacks; returns the versions applied now. */
export async function migrate(client: pg.ClientBase): Promise<number[]> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => Number(r.version)));
    const newest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    const ahead = [...done].filter((v) => v > newest);
    if (ahead.length > 0) throw new Error(`the database has schema version ${Math.max(...ahead)}, newer than this service knows (${newest}): upgrade every replica before it connects`);
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [m.version]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
