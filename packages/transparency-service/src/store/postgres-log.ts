/**
 * The log on PostgreSQL, for any number of replicas sharing one database (the shape of Trillian and
 * Tessera on MySQL/Spanner: the database replicates, the service does not run a consensus of its own).
 *
 * - Any replica accepts a registration: it checks the policy, writes the statement to `pending` in a
 *   committed transaction (one per group of registrations arriving together), and only then answers.
 *   What it could not write it never acknowledges (503).
 * - Exactly one replica integrates: the one holding the session advisory lock INTEGRATOR_LOCK on its
 *   own connection. It takes pending rows in arrival order, builds the batch, signs it and commits
 *   entries, nodes, the signed root and the deletion of those pending rows in one transaction on that
 *   same connection. If its process or connection dies, PostgreSQL drops the lock and another replica
 *   takes it (every replica tries every lockPollMs). Even two integrators could not fork the tree: each
 *   checks the committed size inside its transaction, and leaf_index, tree_size and entry_id are keys.
 * - Idempotency across replicas: entry_id is unique in pending and in entries; a statement already on
 *   the log, or pending from another replica, is one leaf.
 * - Every replica serves receipts, tree heads and consistency proofs from the database; the Merkle
 *   nodes are followed into memory (core's MemoryNodeStore, 64 bytes a leaf) by tree size.
 * - All replicas sign with the same key, service-key.pem provisioned into each data directory.
 *
 * - C2SP checkpoints and tiles: the SQLite store's publisher (checkpoints.ts) reads committedTree(); the
 *   web view's search index (web/search-index.ts) reads indexSource().
 *
 * Not covered yet on this store: key rotation (refused clearly).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { ScittError } from '@scitt-actions/core';
import { type Signer, keySigner } from '@scitt-actions/core/cose';
import { EMPTY_ROOT, MemoryNodeStore, MerkleTree, type StoredNode, leafHash } from '@scitt-actions/core/merkle';
import { type SignedStatement, createSignedStatement, parseSignedStatement } from '@scitt-actions/core/statement';
import type { CommittedTree } from '../checkpoints.ts';
import type { BatchRow, EntrySignatureRow, RefusalRow } from '../database.ts';
import { type Queued, type Registration, entryIdHex, refusalProblem, refusedBy } from '../log.ts';
import { HttpProblem } from '../problem.ts';
import type { IndexSource } from '../web/search-index.ts';
import { consistencyProofBytes, inclusionReceipt, signBatch, signEntries, statementEntry } from '../receipts.ts';
import { CompiledPolicy, DEFAULT_POLICY, POLICY_MEDIA_TYPE, POLICY_SUBJECT, type RegistrationPolicy } from '../registration-policy.ts';
import { KEY_FILE, type ServiceKey, assertSignedLog, loadOrCreateServiceKey } from '../service-key.ts';
import type { LogService } from '../store.ts';
import { parsePostgresUrl, targetClient } from './postgres-connect.ts';
import { migrate } from './postgres-schema.ts';

/** pg_try_advisory_lock key held by the integrating replica for as long as its session lives */
const INTEGRATOR_LOCK = '5366237271829516802';

export interface PostgresLogOptions {
  /** postgres://… */
  url: string;
  /** holds service-key.pem, the same file on every replica */
  dataDir: string;
  iss: string;
  maxBatch?: number;
  maxQueue?: number;
  /** how often a replica that is not integrating tries to take over (ms) */
  lockPollMs?: number;
  /** connections of the pool serving registrations and reads */
  poolSize?: number;
  logLine?: (fields: Record<string, unknown>) => void;
}

interface Waiting {
  resolve: (r: Registration) => void;
  reject: (e: unknown) => void;
}

interface ToWrite {
  entry: Uint8Array;
  entryId: Uint8Array;
  statement: Uint8Array;
  sub: string;
  policy?: RegistrationPolicy;
  checkedUnder: number;
  done: (e?: unknown) => void;
}

interface PendingRow {
  seq: string;
  entry_id: Buffer;
  entry: Buffer;
  statement: Buffer;
  sub: string;
  policy: string | null;
  checked_under: string;
}

/** Nodes appended by the last append, kept so the integrator writes exactly those. */
class RecordingNodeStore extends MemoryNodeStore {
  last: readonly StoredNode[] = [];
  override appendNodes(nodes: readonly StoredNode[], newSize: number): void {
    super.appendNodes(nodes, newSize);
    this.last = nodes;
  }
}

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms).unref());
const buf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
const unavailable = (e: unknown) =>
  new HttpProblem(503, 'Service Unavailable', `the log database could not record the registration (${(e as Error).message}); nothing was acknowledged, retry shortly`, 2);

export class PostgresLog implements LogService {
  iss: string;
  readonly serviceKey: ServiceKey;
  readonly #pool: pg.Pool;
  readonly #o: Required<PostgresLogOptions>;
  onBatch?: (size: number, seconds: number) => void;
  #signer: Signer;
  #nodes = new RecordingNodeStore();
  #tree = new MerkleTree(this.#nodes);
  /** the tree size committed in the database that this replica has followed (the in-memory tree may be ahead while integrating) */
  #committed = 0;
  /** serialises changes to the in-memory tree (following the database, or integrating) */
  #treeLock: Promise<unknown> = Promise.resolve();
  #policy: { compiled: CompiledPolicy; leafIndex: number } = { compiled: new CompiledPolicy(DEFAULT_POLICY), leafIndex: -1 };
  readonly #waiting = new Map<string, Waiting[]>();
  readonly #inFlight = new Map<string, Promise<Registration>>();
  #toWrite: ToWrite[] = [];
  #writing: Promise<void> | undefined;
  readonly #failed = new Map<string, HttpProblem>();
  #closing = false;
  #stopped = false;
  #leader = false;
  #lockClient: pg.Client | undefined;
  #listener: pg.Client | undefined;
  #wake: (() => void) | undefined;
  #loops: Promise<void>[] = [];

  /** connects to the first host of the URL that takes read-write sessions (postgres-connect.ts) */
  readonly #Client: typeof pg.Client;

  private constructor(o: PostgresLogOptions, pool: pg.Pool, key: ServiceKey, Client: typeof pg.Client) {
    this.#Client = Client;
    this.#o = { maxBatch: 4096, maxQueue: 20_000, lockPollMs: 250, poolSize: 8, logLine: () => undefined, ...o };
    this.iss = o.iss;
    this.#pool = pool;
    this.serviceKey = key;
    this.#signer = keySigner(key.key);
  }

  /** Connects, migrates the schema, loads the key and the tree, and starts following and integrating. */
  static async open(o: PostgresLogOptions): Promise<PostgresLog> {
    const keyPath = join(o.dataDir, KEY_FILE);
    if (!existsSync(keyPath)) {
      throw new ScittError('ERR_KEY_INVALID', `the PostgreSQL store needs the service key provisioned before start: put the same ${KEY_FILE} in the data directory of every replica (${keyPath} is missing); create it once (scitt keygen --alg ES256 --out ${KEY_FILE}) and copy it, or mount it from a secret, and back it up with the database`);
    }
    const target = parsePostgresUrl(o.url);
    const Client = targetClient(target);
    const pool = new pg.Pool({ Client, max: o.poolSize ?? 8, connectionTimeoutMillis: 5_000, query_timeout: 15_000, keepAlive: true } as pg.PoolConfig);
    // An idle connection that breaks is replaced on next use; without a handler it would end the process.
    pool.on('error', (e) => o.logLine?.({ level: 'warn', msg: 'database connection lost', error: e.message }));
    try {
      const client = await pool.connect();
      let broken: unknown;
      const lost = (e: Error) => (broken = e);
      client.on('error', lost);
      try {
        const applied = await migrate(client);
        if (applied.length > 0) o.logLine?.({ level: 'info', msg: 'database schema migrated', versions: applied });
      } finally {
        client.removeListener('error', lost);
        client.release(broken as Error | undefined);
      }
      const head = await pool.query<{ n: string; tree_head: Buffer | null }>('SELECT COALESCE(MAX(tree_size), 0) AS n, (SELECT tree_head FROM batches ORDER BY tree_size DESC LIMIT 1) AS tree_head FROM batches');
      const rotated = await pool.query('SELECT 1 FROM service_keys LIMIT 1');
      if (rotated.rowCount) throw new Error('this log has rotated keys, which the PostgreSQL store does not support yet');
      const { tree_head } = head.rows[0]!;
      const k = loadOrCreateServiceKey(o.dataDir, { size: Number(head.rows[0]!.n), ...(tree_head ? { treeHead: new Uint8Array(tree_head) } : {}) });
      const log = new PostgresLog(o, pool, { key: k.key, kid: k.kid }, Client);
      await log.#catchUp();
      log.#loops = [log.#listen(), log.#integrate(), log.#settleLoop()];
      return log;
    } catch (e) {
      await pool.end().catch(() => undefined);
      if (e instanceof ScittError) throw e;
      const readOnly = /read-only|in recovery/.test((e as Error).message) ? '; the store needs the primary: point --store at it, or list every host with ?target_session_attrs=read-write' : '';
      throw new Error(`the PostgreSQL log database ${o.url.replace(/:[^:@/]*@/, ':…@')} could not be opened: ${(e as Error).message}${readOnly}`, { cause: e });
    }
  }

  get keys(): readonly ServiceKey[] {
    return [this.serviceKey];
  }

  get policy(): { policy: RegistrationPolicy; leafIndex: number | undefined } {
    return { policy: this.#policy.compiled.policy, leafIndex: this.#policy.leafIndex < 0 ? undefined : this.#policy.leafIndex };
  }

  get queueLength(): number {
    return this.#toWrite.length;
  }

  /** Whether this replica holds the integrator lock now. */
  get integrating(): boolean {
    return this.#leader;
  }

  size(): number {
    return this.#committed;
  }

  /**
   * The committed tree for the C2SP publisher (checkpoints.ts), the same code as on SQLite: nodes from
   * the followed in-memory tree, statements from the database. Every replica serves the same tiles.
   */
  committedTree(): CommittedTree {
    return {
      size: () => this.#committed,
      rootAt: (n) => (!Number.isSafeInteger(n) || n < 0 || n > this.#committed ? undefined : n === 0 ? EMPTY_ROOT : this.#tree.root(n)),
      node: (level, idx) => this.#nodes.getNode(level, idx),
      nodes: (level, from, to) => {
        const out: Uint8Array[] = [];
        for (let i = from; i < to; i++) {
          const h = this.#nodes.getNode(level, i);
          if (!h) break;
          out.push(h);
        }
        return out;
      },
      statements: async (from, to) =>
        (await this.#pool.query<{ statement: Buffer }>('SELECT statement FROM entries WHERE leaf_index >= $1 AND leaf_index < $2 ORDER BY leaf_index', [from, to])).rows.map((r) => new Uint8Array(r.statement)),
      close: () => undefined,
    };
  }

  /** Committed entries for the web view's search index (web/search-index.ts), kept by each replica in its data directory. */
  indexSource(): IndexSource {
    return {
      size: () => this.#committed,
      entries: async (from, to, limit) =>
        (
          await this.#pool.query<{ leaf_index: string; entry_id: Buffer; statement: Buffer; registered_at: string }>(
            'SELECT leaf_index, entry_id, statement, registered_at FROM entries WHERE leaf_index >= $1 AND leaf_index < $2 ORDER BY leaf_index LIMIT $3',
            [from, to, limit],
          )
        ).rows.map((r) => ({ leaf_index: Number(r.leaf_index), entry_id: r.entry_id, statement: r.statement, registered_at: Number(r.registered_at) })),
      close: () => undefined,
    };
  }

  rotateKey(): Promise<Registration> {
    return Promise.reject(new HttpProblem(501, 'Not Implemented', 'key rotation is not supported on the PostgreSQL store yet; rotate on the SQLite store or keep the key'));
  }

  async register(bytes: Uint8Array): Promise<Queued> {
    const policy = this.#policy;
    const statement = await policy.compiled.check(bytes);
    return this.#enqueue(statement, policy.leafIndex);
  }

  async setPolicy(policy: RegistrationPolicy): Promise<Registration> {
    const bytes = await createSignedStatement({
      payload: new TextEncoder().encode(JSON.stringify(policy)),
      contentType: POLICY_MEDIA_TYPE,
      signer: this.#signer,
      iss: this.iss,
      sub: POLICY_SUBJECT,
      kid: this.serviceKey.kid,
    });
    return (await this.#enqueue(parseSignedStatement(bytes), this.#policy.leafIndex, policy)).committed;
  }

  /** Resolves once the registration is durable as pending (or already on the log): then it may be acknowledged. */
  async #enqueue(statement: SignedStatement, checkedUnder: number, policy?: RegistrationPolicy): Promise<Queued> {
    if (this.#closing) throw new HttpProblem(503, 'Service Unavailable', 'the service is shutting down; retry shortly', 5);
    const entry = statementEntry(statement);
    const entryId = new Uint8Array(createHash('sha256').update(entry).digest());
    const id = entryIdHex(entryId);
    const inFlight = this.#inFlight.get(id);
    if (inFlight) return { entryId: id, committed: inFlight };
    if (this.#toWrite.length + this.#waiting.size >= this.#o.maxQueue) throw new HttpProblem(503, 'Service Unavailable', 'registration queue is full; retry later', 1);
    const committed = new Promise<Registration>((resolve, reject) => {
      const list = this.#waiting.get(id) ?? [];
      list.push({ resolve, reject });
      this.#waiting.set(id, list);
    });
    this.#inFlight.set(id, committed);
    const forget = () => this.#inFlight.delete(id);
    committed.then(forget, forget);
    try {
      await new Promise<void>((res, rej) => {
        this.#toWrite.push({ entry, entryId, statement: statement.bytes, sub: statement.sub, ...(policy ? { policy } : {}), checkedUnder, done: (e) => (e ? rej(e) : res()) });
        this.#writing ??= new Promise<void>((r) => setImmediate(r)).then(() => this.#writePending());
      });
    } catch (e) {
      this.#settleOne(id, (w) => w.reject(e));
      throw e;
    }
    return { entryId: id, committed };
  }

  /** One transaction for every registration that arrived in the same turn (group commit). */
  async #writePending(): Promise<void> {
    try {
      while (this.#toWrite.length > 0) {
        const group = this.#toWrite.splice(0, this.#o.maxBatch);
        try {
          const now = Math.floor(Date.now() / 1000);
          await this.#pool.query(
            `INSERT INTO pending (entry_id, entry, statement, sub, policy, checked_under, accepted_at)
             SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bytea[], $4::text[], $5::text[], $6::bigint[], $7::bigint[])
             ON CONFLICT (entry_id) DO NOTHING`,
            [
              group.map((w) => buf(w.entryId)),
              group.map((w) => buf(w.entry)),
              group.map((w) => buf(w.statement)),
              group.map((w) => w.sub),
              group.map((w) => (w.policy ? JSON.stringify(w.policy) : null)),
              group.map((w) => w.checkedUnder),
              group.map(() => now),
            ],
          );
          for (const w of group) w.done();
          void this.#pool.query("SELECT pg_notify('scitt_pending', '')").catch(() => undefined);
        } catch (e) {
          const problem = unavailable(e);
          for (const w of group) w.done(problem);
        }
      }
    } finally {
      this.#writing = undefined;
    }
  }

  #settleOne(id: string, f: (w: Waiting) => void): void {
    const list = this.#waiting.get(id);
    this.#waiting.delete(id);
    list?.forEach(f);
  }

  isPending(id: string): Promise<boolean> | boolean {
    if (this.#inFlight.has(id)) return true;
    if (!/^[0-9a-f]{64}$/.test(id)) return false;
    return this.#pool.query('SELECT 1 FROM pending WHERE entry_id = $1', [Buffer.from(id, 'hex')]).then((r) => (r.rowCount ?? 0) > 0);
  }

  async receipt(id: string): Promise<Uint8Array | undefined> {
    if (!/^[0-9a-f]{64}$/.test(id)) return undefined;
    const r = await this.#receipts([Buffer.from(id, 'hex')]);
    return r.get(id)?.receipt;
  }

  /** Receipts of entries on the log, by entry id hex: each signed over its batch's root. */
  async #receipts(ids: Buffer[]): Promise<Map<string, { receipt: Uint8Array; leafIndex: number }>> {
    const rows = (
      await this.#pool.query<{ entry_id: Buffer; leaf_index: string; tree_size: string; sp: Buffer | null; ss: Buffer | null; bp: Buffer; bs: Buffer }>(
        `SELECT e.entry_id, e.leaf_index, e.tree_size, s.protected AS sp, s.signature AS ss, b.protected AS bp, b.signature AS bs
         FROM entries e JOIN batches b ON b.tree_size = e.tree_size LEFT JOIN entry_signatures s ON s.leaf_index = e.leaf_index
         WHERE e.entry_id = ANY($1::bytea[])`,
        [ids],
      )
    ).rows;
    const out = new Map<string, { receipt: Uint8Array; leafIndex: number }>();
    if (rows.length === 0) return out;
    await this.#catchUp(Math.max(...rows.map((r) => Number(r.tree_size))));
    for (const r of rows) {
      const signed: EntrySignatureRow = r.sp && r.ss ? { protectedBytes: r.sp, signature: r.ss } : { protectedBytes: r.bp, signature: r.bs };
      const leafIndex = Number(r.leaf_index);
      out.set(r.entry_id.toString('hex'), { leafIndex, receipt: inclusionReceipt(signed, this.#tree.inclusionProof(leafIndex, Number(r.tree_size))) });
    }
    return out;
  }

  async refusal(id: string): Promise<HttpProblem | undefined> {
    if (!/^[0-9a-f]{64}$/.test(id)) return undefined;
    const r = await this.#pool.query<{ policy_leaf_index: string; reason: string; refused_at: string }>('SELECT policy_leaf_index, reason, refused_at FROM refusals WHERE entry_id = $1', [Buffer.from(id, 'hex')]);
    const row = r.rows[0];
    return row ? refusalProblem({ policyLeafIndex: Number(row.policy_leaf_index), reason: row.reason, refusedAt: Number(row.refused_at) }) : this.#failed.get(id);
  }

  async statement(id: string): Promise<Uint8Array | undefined> {
    if (!/^[0-9a-f]{64}$/.test(id)) return undefined;
    const r = await this.#pool.query<{ statement: Buffer }>('SELECT statement FROM entries WHERE entry_id = $1', [Buffer.from(id, 'hex')]);
    return r.rows[0]?.statement;
  }

  async treeHead(): Promise<Uint8Array | undefined> {
    const r = await this.#pool.query<{ tree_head: Buffer }>('SELECT tree_head FROM batches ORDER BY tree_size DESC LIMIT 1');
    return r.rows[0]?.tree_head;
  }

  async consistency(from: number, to: number): Promise<Uint8Array> {
    const size = Number((await this.#pool.query<{ n: string }>('SELECT COALESCE(MAX(tree_size), 0) AS n FROM batches')).rows[0]!.n);
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 1 || from >= to || to > size) {
      throw new HttpProblem(400, 'Bad Request', `need 0 < from < to ≤ ${size} (the current tree size); got from=${from} to=${to}`);
    }
    const r = await this.#pool.query<{ tree_size: string; root: Buffer; protected: Buffer; signature: Buffer; iat: string; tree_head: Buffer }>('SELECT * FROM batches WHERE tree_size = $1', [to]);
    const b = r.rows[0];
    if (!b) throw new HttpProblem(404, 'Not Found', `tree size ${to} is not a published tree head; use a tree size from a receipt or tree head`);
    const batch: BatchRow = { treeSize: to, root: b.root, protectedBytes: b.protected, signature: b.signature, iat: Number(b.iat), treeHead: b.tree_head };
    await this.#catchUp(to);
    return consistencyProofBytes(batch, this.#tree.consistencyProof(from, to));
  }

  async duplicateEntries(): Promise<number> {
    const r = await this.#pool.query<{ n: string }>('SELECT COUNT(*) AS n FROM (SELECT entry_id FROM entries GROUP BY entry_id HAVING COUNT(*) > 1) d');
    return Number(r.rows[0]!.n);
  }

  // ---- following the database ----

  #withTree<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#treeLock.then(fn, fn);
    this.#treeLock = run.catch(() => undefined);
    return run;
  }

  /** Brings the in-memory tree (and the policy in force) up to a committed size (default: the latest). */
  #catchUp(target?: number): Promise<void> {
    if (target !== undefined && target <= this.#nodes.getSize()) return Promise.resolve();
    return this.#withTree(async () => {
      const client = await this.#pool.connect();
      // A connection lost while checked out emits 'error' (unhandled, it would end the process); the
      // query fails with it too, and releasing with the error drops the connection.
      let broken: unknown;
      const lost = (e: Error) => (broken = e);
      client.on('error', lost);
      try {
        // One snapshot: the batch size and the nodes up to it.
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const to = Number((await client.query<{ n: string }>('SELECT COALESCE(MAX(tree_size), 0) AS n FROM batches')).rows[0]!.n);
        let from = this.#nodes.getSize();
        if (to < from) {
          // Only a failover to a standby that had not received every commit does this: follow the database again.
          this.#o.logLine({ level: 'error', msg: 'the database holds a shorter tree than this replica followed: committed batches were lost (failover to an asynchronous standby?); following it again from the start', database: to, replica: from });
          this.#nodes = new RecordingNodeStore();
          this.#tree = new MerkleTree(this.#nodes);
          this.#committed = 0;
          from = 0;
        }
        if (to > from) {
          const rows = (await client.query<{ level: number; idx: string; hash: Buffer }>('SELECT level, idx, hash FROM nodes WHERE tree_size > $1 AND tree_size <= $2 ORDER BY level, idx', [from, to])).rows;
          this.#nodes.appendNodes(
            rows.map((r) => ({ level: r.level, index: Number(r.idx), hash: new Uint8Array(r.hash) })),
            to,
          );
        }
        this.#committed = this.#nodes.getSize();
        const p = (await client.query<{ leaf_index: string; policy: string }>('SELECT leaf_index, policy FROM policies ORDER BY leaf_index DESC LIMIT 1')).rows[0];
        if (p && Number(p.leaf_index) !== this.#policy.leafIndex) this.#policy = { compiled: new CompiledPolicy(JSON.parse(p.policy) as RegistrationPolicy), leafIndex: Number(p.leaf_index) };
        await client.query('COMMIT');
      } catch (e) {
        broken ??= e;
        throw e;
      } finally {
        client.removeListener('error', lost);
        client.release(broken as Error | undefined);
      }
    });
  }

  /** After a failed integration the in-memory tree may hold nodes that never committed: start over. */
  #resetTree(): Promise<void> {
    return this.#withTree(async () => {
      this.#nodes = new RecordingNodeStore();
      this.#tree = new MerkleTree(this.#nodes);
      this.#committed = 0;
    }).then(() => this.#catchUp());
  }

  /** LISTEN for committed batches (settle waiting registrations) and new pending rows (wake the integrator). */
  async #listen(): Promise<void> {
    while (!this.#stopped) {
      const client = new this.#Client({ connectionTimeoutMillis: 5_000, keepAlive: true });
      try {
        const ended = new Promise<void>((res) => {
          client.on('error', () => res());
          client.on('end', () => res());
        });
        await client.connect();
        this.#listener = client;
        client.on('notification', (n) => {
          if (n.channel === 'scitt_pending') this.#wake?.();
          else this.#kickSettle();
        });
        await client.query('LISTEN scitt_log');
        await client.query('LISTEN scitt_pending');
        this.#kickSettle();
        await ended;
      } catch {
        // reconnect below
      } finally {
        this.#listener = undefined;
        await client.end().catch(() => undefined);
      }
      if (!this.#stopped) await sleep(500);
    }
  }

  #settling: Promise<void> | undefined;
  #settleAgain = false;

  #kickSettle(): void {
    if (this.#settling) {
      this.#settleAgain = true;
      return;
    }
    this.#settling = (async () => {
      do {
        this.#settleAgain = false;
        await this.#settle().catch(() => undefined);
      } while (this.#settleAgain && !this.#stopped);
    })().finally(() => (this.#settling = undefined));
  }

  /** The outcome of waiting registrations: on the log (a receipt) or refused at commit. */
  async #settle(): Promise<void> {
    await this.#catchUp();
    const ids = [...this.#waiting.keys()].slice(0, 10_000);
    if (ids.length === 0) return;
    const receipts = await this.#receipts(ids.map((id) => Buffer.from(id, 'hex')));
    for (const [id, r] of receipts) this.#settleOne(id, (w) => w.resolve({ entryId: id, leafIndex: r.leafIndex, receipt: r.receipt, existing: false }));
    const left = ids.filter((id) => !receipts.has(id));
    if (left.length === 0) return;
    const refused = await this.#pool.query<{ entry_id: Buffer; policy_leaf_index: string; reason: string; refused_at: string }>(
      'SELECT r.entry_id, r.policy_leaf_index, r.reason, r.refused_at FROM refusals r WHERE r.entry_id = ANY($1::bytea[]) AND NOT EXISTS (SELECT 1 FROM pending p WHERE p.entry_id = r.entry_id)',
      [left.map((id) => Buffer.from(id, 'hex'))],
    );
    for (const r of refused.rows) {
      const problem = refusalProblem({ policyLeafIndex: Number(r.policy_leaf_index), reason: r.reason, refusedAt: Number(r.refused_at) });
      this.#settleOne(r.entry_id.toString('hex'), (w) => w.reject(problem));
    }
  }

  /** Missed notifications (the listener reconnecting) must not strand a registration. */
  async #settleLoop(): Promise<void> {
    while (!this.#stopped) {
      await sleep(this.#listener ? 1_000 : 200);
      if (this.#waiting.size > 0) this.#kickSettle();
    }
  }

  // ---- integrating ----

  async #integrate(): Promise<void> {
    while (!this.#stopped) {
      try {
        if (!this.#lockClient) {
          const client = new this.#Client({ connectionTimeoutMillis: 5_000, query_timeout: 15_000, keepAlive: true });
          client.on('error', () => {
            if (this.#lockClient === client) this.#lockClient = undefined;
            if (this.#leader) this.#o.logLine({ level: 'warn', msg: 'integrator connection lost: no longer integrating' });
            this.#leader = false;
          });
          await client.connect();
          // A leader cut off from the database must not hold the lock for TCP's hours: the server ends
          // this session, and so releases the lock, once it has been silent for 5 s (it polls every 50 ms).
          await client.query("SET idle_session_timeout = '5s'");
          this.#lockClient = client;
        }
        const client = this.#lockClient;
        if (!this.#leader) {
          const got = (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [INTEGRATOR_LOCK])).rows[0]!.ok;
          if (!got) {
            await sleep(this.#o.lockPollMs);
            continue;
          }
          // The in-memory tree holds committed nodes only (a failed integration resets it): catch up.
          await this.#catchUp();
          const head = await this.treeHead();
          if (head) assertSignedLog(this.serviceKey.key, head, join(this.#o.dataDir, KEY_FILE), this.#o.url.replace(/:[^:@/]*@/, ':…@'));
          this.#leader = true;
          this.#o.logLine({ level: 'info', msg: 'integrating: took the integrator lock', treeSize: this.size() });
        }
        const n = await this.#integrateOnce(client);
        if (n === 0) await new Promise<void>((res) => {
          const t = setTimeout(res, 50);
          t.unref();
          this.#wake = () => {
            clearTimeout(t);
            res();
          };
        });
      } catch (e) {
        if (this.#stopped) return;
        this.#o.logLine({ level: 'error', msg: 'integration failed; releasing the integrator lock and retrying', error: (e as Error).message });
        this.#leader = false;
        const c = this.#lockClient;
        this.#lockClient = undefined;
        await c?.end().catch(() => undefined); // ending the session releases the lock
        await this.#resetTree().catch(() => undefined);
        await sleep(this.#o.lockPollMs);
      }
    }
  }

  /** One batch: pending rows in arrival order, appended, signed and committed in one transaction. */
  async #integrateOnce(client: pg.Client): Promise<number> {
    const rows = (await client.query<PendingRow>('SELECT seq, entry_id, entry, statement, sub, policy, checked_under FROM pending ORDER BY seq LIMIT $1', [this.#o.maxBatch])).rows;
    if (rows.length === 0) return 0;
    const started = performance.now();
    return this.#withTree(async () => {
      await client.query('BEGIN');
      try {
        const start = Number((await client.query<{ n: string }>('SELECT COALESCE(MAX(tree_size), 0) AS n FROM batches')).rows[0]!.n);
        if (start !== this.#nodes.getSize()) throw new Error(`the committed tree is at ${start}, this replica's at ${this.#nodes.getSize()}: another integrator wrote`);
        const onLog = new Set((await client.query<{ entry_id: Buffer }>('SELECT entry_id FROM entries WHERE entry_id = ANY($1::bytea[])', [rows.map((r) => r.entry_id)])).rows.map((r) => r.entry_id.toString('hex')));
        const latest = (await client.query<{ leaf_index: string; policy: string }>('SELECT leaf_index, policy FROM policies ORDER BY leaf_index DESC LIMIT 1')).rows[0];
        let inForce = latest ? { compiled: new CompiledPolicy(JSON.parse(latest.policy) as RegistrationPolicy), leafIndex: Number(latest.leaf_index) } : { compiled: new CompiledPolicy(DEFAULT_POLICY), leafIndex: -1 };
        const now = Math.floor(Date.now() / 1000);
        const fresh: PendingRow[] = [];
        const refusals: { entryId: Buffer; r: RefusalRow }[] = [];
        for (const p of rows) {
          const id = p.entry_id.toString('hex');
          if (onLog.has(id)) continue;
          onLog.add(id);
          if (p.policy) {
            inForce = { compiled: new CompiledPolicy(JSON.parse(p.policy) as RegistrationPolicy), leafIndex: start + fresh.length };
            fresh.push(p);
            continue;
          }
          if (Number(p.checked_under) !== inForce.leafIndex) {
            const refusal = await refusedBy(inForce, p.statement, now);
            if (refusal) {
              refusals.push({ entryId: p.entry_id, r: refusal });
              continue;
            }
          }
          fresh.push(p);
        }
        const newSize = start + fresh.length;
        if (fresh.length > 0) {
          const idx = fresh.map((_, k) => start + k);
          await client.query(
            'INSERT INTO entries (leaf_index, entry_id, statement, tree_size, registered_at) SELECT i, e, s, $4::bigint, $5::bigint FROM unnest($1::bigint[], $2::bytea[], $3::bytea[]) AS t(i, e, s)',
            [idx, fresh.map((p) => p.entry_id), fresh.map((p) => p.statement), newSize, now],
          );
          const policies = fresh.flatMap((p, k) => (p.policy ? [{ i: start + k, policy: p.policy }] : []));
          for (const p of policies) await client.query('INSERT INTO policies (leaf_index, policy) VALUES ($1, $2)', [p.i, p.policy]);
          this.#tree.appendLeaves(fresh.map((p) => leafHash(p.entry)));
          const nodes = this.#nodes.last;
          await client.query('INSERT INTO nodes (level, idx, hash, tree_size) SELECT l, i, h, $4::bigint FROM unnest($1::int[], $2::bigint[], $3::bytea[]) AS t(l, i, h)', [
            nodes.map((n) => n.level),
            nodes.map((n) => n.index),
            nodes.map((n) => buf(n.hash)),
            newSize,
          ]);
          const signing = { signer: this.#signer, kid: this.serviceKey.kid, iss: this.iss, iat: now, treeSize: newSize, root: this.#tree.root(newSize) };
          const b = await signBatch(signing);
          await client.query('INSERT INTO batches (tree_size, root, protected, signature, iat, tree_head) VALUES ($1, $2, $3, $4, $5, $6)', [b.treeSize, buf(b.root), buf(b.protectedBytes), buf(b.signature), b.iat, buf(b.treeHead)]);
          const sigs = await signEntries({ ...signing, subs: fresh.map((p) => p.sub) });
          await client.query('INSERT INTO entry_signatures (leaf_index, protected, signature) SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[])', [idx, sigs.map((s) => buf(s.protectedBytes)), sigs.map((s) => buf(s.signature))]);
        }
        for (const { entryId, r } of refusals) {
          await client.query(
            'INSERT INTO refusals (entry_id, policy_leaf_index, reason, refused_at) VALUES ($1, $2, $3, $4) ON CONFLICT (entry_id) DO UPDATE SET policy_leaf_index = EXCLUDED.policy_leaf_index, reason = EXCLUDED.reason, refused_at = EXCLUDED.refused_at',
            [entryId, r.policyLeafIndex, r.reason, r.refusedAt],
          );
        }
        await client.query('DELETE FROM pending WHERE seq = ANY($1::bigint[])', [rows.map((r) => r.seq)]);
        await client.query('SELECT pg_notify($1, $2)', ['scitt_log', String(newSize)]);
        await client.query('COMMIT');
        this.#committed = newSize;
        this.#policy = inForce;
        this.onBatch?.(rows.length, (performance.now() - started) / 1000);
        return rows.length;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  }

  // ---- stopping ----

  /** Stops taking registrations; waits until what this replica acknowledged is durable (it is: pending) and, briefly, integrated. */
  async drain(): Promise<void> {
    this.#closing = true;
    while (this.#writing) await this.#writing;
    const until = Date.now() + 10_000;
    while (this.#waiting.size > 0 && Date.now() < until) await sleep(50);
  }

  async close(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    const lock = this.#lockClient;
    this.#lockClient = undefined;
    this.#leader = false;
    await lock?.end().catch(() => undefined);
    await this.#listener?.end().catch(() => undefined);
    await Promise.allSettled(this.#loops);
    await this.#settling;
    await this.#pool.end().catch(() => undefined);
    for (const id of [...this.#waiting.keys()]) {
      this.#settleOne(id, (w) => w.reject(new HttpProblem(503, 'Service Unavailable', 'this replica stopped before the registration was integrated; it is pending on the log database: poll GET /entries/{id}', 1)));
    }
  }
}
