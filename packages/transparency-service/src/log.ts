/**
 * The append-only log: registrations are queued and committed in batches (group commit). A batch is
 * one SQLite transaction — entries, Merkle nodes, the signed root — so it costs one fsync and one
 * signature per distinct sub however many statements it holds (committer.ts). A receipt is handed
 * out only after its batch committed.
 *
 * Threads (LogOptions.threads): the statement checks can run on verification workers
 * (verify-worker.ts) and the commits on a commit thread that owns the writing connection
 * (commit-worker.ts), so that the HTTP event loop neither verifies, signs nor waits for an fsync.
 * The queue, batching and idempotency stay here, on the event loop: one sequencer.
 *
 * The registration policy applies in log order: a statement is checked when it arrives, and checked
 * again inside the transaction that appends it when a newer policy entry precedes it (committed
 * earlier, or earlier in the same batch). What that policy refuses is not appended; the refusal is
 * stored in the same transaction, so a client that was answered 303 learns it from GET /entries/{id}.
 */
import { createHash } from 'node:crypto';
import { type Signer, keySigner } from '@scitt-actions/core/cose';
import { MerkleTree } from '@scitt-actions/core/merkle';
import { type SignedStatement, createSignedStatement, parseSignedStatement } from '@scitt-actions/core/statement';
import { type BatchItem, BatchCommitter, type BatchOutcome } from './committer.ts';
import { type CommitThread, startCommitThread } from './commit-worker.ts';
import { type BatchRow, LogDatabase, type RefusalRow } from './database.ts';
import { type KeyHistory, type RotationTarget, announcementStatement } from './key-rotation.ts';
import { HttpProblem } from './problem.ts';
import { CompiledPolicy, DEFAULT_POLICY, POLICY_MEDIA_TYPE, POLICY_SUBJECT, type RegistrationPolicy } from './registration-policy.ts';
import { SqliteNodeStore } from './sqlite-node-store.ts';
import type { LogIdentity, ServiceKey } from './service-key.ts';
import { consistencyProofBytes, inclusionReceipt, statementEntry } from './receipts.ts';
import { type Checked, checkStatement } from './check.ts';
import { type VerifyPool, startVerifyPool } from './verify-worker.ts';

export { refusedBy } from './committer.ts';

export interface Registration {
  entryId: string;
  leafIndex: number;
  receipt: Uint8Array;
  /** true when the statement was already on the log */
  existing: boolean;
}

interface Pending extends BatchItem {
  resolve: (r: Registration) => void;
  reject: (e: unknown) => void;
}

export interface LogOptions {
  dataDir: string;
  /** the key, or how to get it once the log's size and latest tree head are known (service-key.ts) */
  serviceKey: ServiceKey | ((log: LogIdentity) => ServiceKey | KeyHistory);
  /** iss of receipts and of the service's own statements */
  iss: string;
  /** most statements committed in one batch */
  maxBatch?: number;
  /** most registrations waiting; more are answered 503 with Retry-After */
  maxQueue?: number;
  /** worker threads: statement checks (0: on the event loop), and a commit thread (default: none, all on the event loop); started at the `after`-th registration (default THREADS_AFTER) */
  threads?: { verify: number; commit: boolean; after?: number };
}

export interface Queued {
  /** known at once: the hex SHA-256 of the entry */
  entryId: string;
  /** settles once the batch holding it committed */
  committed: Promise<Registration>;
}

/** Registrations after which the worker threads start (LogOptions.threads). */
export const THREADS_AFTER = 200;

export const entryIdHex = (entryId: Uint8Array) => Buffer.from(entryId).toString('hex');

export class TransparencyLog {
  /** iss of receipts and of the service's own statements */
  iss: string;
  /** the key signing from now on (it changes when a rotation commits) */
  serviceKey: ServiceKey;
  /** observes each committed batch: registrations in it, seconds from its start to its COMMIT (metrics.ts) */
  onBatch?: (size: number, seconds: number) => void;
  /** every key that signed this log, oldest first, public parts */
  #keys: ServiceKey[];
  readonly #writer: LogDatabase;
  readonly #reader: LogDatabase;
  /** commits on the event loop, through the writer connection */
  readonly #committer: BatchCommitter;
  /** threads asked for, started at the first registration; used once up (until then, all runs here) */
  readonly #threads: { verify: number; commit: boolean; after?: number; dataDir: string } | undefined;
  #commitThread: { thread: CommitThread; up: boolean } | undefined;
  #verify: { pool: VerifyPool; up: boolean } | undefined;
  /** registrations asked for so far, until the threads start */
  #registrations = 0;
  #signer: Signer;
  readonly #maxBatch: number;
  readonly #maxQueue: number;
  readonly #queue: Pending[] = [];
  readonly #inFlight = new Map<string, Promise<Registration>>();
  /** the running flush, if any: drain() waits for it */
  #flushing: Promise<void> | undefined;
  #closing = false;
  /** acknowledged (303) registrations whose batch failed to commit, newest last; bounded */
  readonly #failed = new Map<string, HttpProblem>();
  /** the policy arriving statements are checked against; leafIndex -1: the default policy */
  #policy: { compiled: CompiledPolicy; leafIndex: number };

  constructor(o: LogOptions) {
    this.iss = o.iss;
    this.#writer = LogDatabase.openWriter(o.dataDir);
    try {
      const k = typeof o.serviceKey === 'function' ? o.serviceKey({ size: this.#writer.size(), ...optionalHead(this.#writer.latestBatch()), rotated: this.#writer.serviceKeys() }) : o.serviceKey;
      this.serviceKey = 'current' in k ? k.current : k;
      this.#keys = 'current' in k ? k.all : [k];
    } catch (e) {
      this.#writer.close();
      throw e;
    }
    this.#reader = LogDatabase.openReader(o.dataDir);
    this.#signer = keySigner(this.serviceKey.key);
    this.#maxBatch = o.maxBatch ?? 4096;
    this.#maxQueue = o.maxQueue ?? 20_000;
    this.#policy = policyOf(this.#writer);
    this.#committer = new BatchCommitter(this.#writer);
    this.#threads = o.threads && (o.threads.verify > 0 || o.threads.commit) ? { ...o.threads, dataDir: o.dataDir } : undefined;
  }

  /**
   * Starts the worker threads, once, at the THREADS_AFTER-th registration: a lightly used service
   * never pays for loading their modules (0.3–1 s of CPU). Until a thread is up its work runs here,
   * on the event loop; a commit thread that cannot open the log leaves the commits here (and says so
   * on stderr once).
   */
  #startThreads(): void {
    const t = this.#threads;
    if (!t || this.#commitThread || this.#verify || ++this.#registrations < (t.after ?? THREADS_AFTER)) return;
    const thread = t.commit ? startCommitThread(t.dataDir) : undefined;
    if (thread) {
      const c: { thread: CommitThread; up: boolean } = (this.#commitThread = { thread, up: false });
      thread.ready.then(
        () => (c.up = true),
        (e: unknown) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'commit thread failed to start; committing on the event loop', error: (e as Error).message })}\n`),
      );
    }
    const pool = t.verify > 0 ? startVerifyPool(t.verify) : undefined;
    if (pool) {
      const v: { pool: VerifyPool; up: boolean } = (this.#verify = { pool, up: false });
      void pool.ready.then(() => (v.up = true));
    }
  }

  /** Where the work runs (threads once started): for the start-up line and the benchmark. */
  get threads(): { verify: number; commit: boolean } {
    return { verify: this.#threads?.verify ?? 0, commit: this.#threads?.commit ?? false };
  }

  /** Stops taking registrations and waits until every one already queued is committed (or failed). */
  async drain(): Promise<void> {
    this.#closing = true;
    while (this.#flushing) await this.#flushing;
    await this.#verify?.pool.close();
    await this.#commitThread?.thread.close();
  }

  close(): void {
    // Reader first: the last connection to close checkpoints the WAL into log.sqlite and removes it,
    // and only the writer can; closed last, the read-only reader left the WAL behind on a clean stop.
    // (The commit thread closed its connection in drain(); without drain, it is stopped here.)
    this.#reader.close();
    void this.#verify?.pool.close();
    void this.#commitThread?.thread.close();
    this.#writer.close();
  }

  get policy(): { policy: RegistrationPolicy; leafIndex: number | undefined } {
    return { policy: this.#policy.compiled.policy, leafIndex: this.#policy.leafIndex < 0 ? undefined : this.#policy.leafIndex };
  }

  /** Every key that signed this log, oldest first: all stay valid for its receipts. */
  get keys(): readonly ServiceKey[] {
    return this.#keys;
  }

  /**
   * Rotates the signing key: the announcement (the new public key, signed by the current key) is
   * appended as the last entry of a batch signed by the current key; every batch after it is signed by
   * the new key. Resolves once the announcement committed.
   */
  async rotateKey(target: RotationTarget): Promise<Registration> {
    const bytes = await announcementStatement({ signer: this.#signer, kid: this.serviceKey.kid, iss: this.iss, next: target.key });
    return this.#enqueue(checkedOf(parseSignedStatement(bytes)), this.#policy.leafIndex, undefined, target).committed;
  }

  get queueLength(): number {
    return this.#queue.length;
  }

  /** Checks a statement against the registration policy (throws an HttpProblem), then queues it. */
  async register(bytes: Uint8Array): Promise<Queued> {
    this.#startThreads();
    const policy = this.#policy; // the policy this check is against, even if a newer one commits meanwhile
    const checked = this.#verify?.up ? await this.#verify.pool.check({ policy: policy.compiled.policy, leafIndex: policy.leafIndex }, bytes) : await checkStatement(policy.compiled, bytes);
    return this.#enqueue(checked, policy.leafIndex);
  }

  /** Registers a new registration policy as a statement signed by the service (RFC 9943 §5.1.1). */
  async setPolicy(policy: RegistrationPolicy): Promise<Registration> {
    const bytes = await createSignedStatement({
      payload: new TextEncoder().encode(JSON.stringify(policy)),
      contentType: POLICY_MEDIA_TYPE,
      signer: this.#signer,
      iss: this.iss,
      sub: POLICY_SUBJECT,
      kid: this.serviceKey.kid,
    });
    return this.#enqueue(checkedOf(parseSignedStatement(bytes)), this.#policy.leafIndex, policy).committed;
  }

  #enqueue(c: Checked, checkedUnder: number, policy?: RegistrationPolicy, rotateTo?: RotationTarget): Queued {
    if (this.#closing) throw new HttpProblem(503, 'Service Unavailable', 'the service is shutting down; retry shortly', 5);
    const id = entryIdHex(c.entryId);
    const inFlight = this.#inFlight.get(id);
    if (inFlight) return { entryId: id, committed: inFlight };
    if (this.#queue.length >= this.#maxQueue) throw new HttpProblem(503, 'Service Unavailable', 'registration queue is full; retry later', 1);
    const promise = new Promise<Registration>((resolve, reject) => {
      this.#queue.push({ entry: c.entry, entryId: c.entryId, statement: c.statement, sub: c.sub, ...(policy ? { policy } : {}), ...(rotateTo ? { rotateTo } : {}), checkedUnder, resolve, reject });
    });
    this.#inFlight.set(id, promise);
    const forget = () => this.#inFlight.delete(id);
    promise.then(forget, forget);
    // Let registrations arriving in the same turn join this batch.
    this.#flushing ??= new Promise<void>((res) => setImmediate(res)).then(() => this.#flush());
    return { entryId: id, committed: promise };
  }

  /** Registration in progress for this entry id (for SCRAPI's 302 while running). */
  isPending(id: string): boolean {
    return this.#inFlight.has(id);
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        // A rotation announcement ends its batch: what follows is signed by the new key.
        const rotation = this.#queue.findIndex((p) => p.rotateTo !== undefined);
        const batch = this.#queue.splice(0, rotation >= 0 && rotation < this.#maxBatch ? rotation + 1 : this.#maxBatch);
        try {
          const started = performance.now();
          const items = batch.map(({ resolve: _r, reject: _j, ...item }) => item);
          const outcome = this.#commitThread?.up ? await this.#commitThread.thread.commit(items, this.iss, this.serviceKey) : await this.#committer.commit(items, this.iss, this.serviceKey);
          this.onBatch?.(batch.length, (performance.now() - started) / 1000);
          this.#committed(batch, outcome);
          batch.forEach((p, i) => {
            const r = outcome.items[i]!;
            if ('refusal' in r) p.reject(refusalProblem(r.refusal));
            else p.resolve({ entryId: entryIdHex(p.entryId), leafIndex: r.leafIndex, receipt: r.receipt, existing: r.existing });
          });
        } catch (e) {
          const problem = new HttpProblem(503, 'Service Unavailable', `the log could not commit the registration (${(e as Error).message}); nothing was registered, retry later`, 5);
          for (const p of batch) {
            this.#rememberFailure(entryIdHex(p.entryId), (e as Error).message);
            p.reject(problem);
          }
        }
      }
    } finally {
      this.#flushing = undefined;
    }
  }

  /** After a batch committed: the policy in force and the signing key follow what it appended. */
  #committed(batch: Pending[], outcome: BatchOutcome): void {
    if (outcome.policyLeafIndex !== this.#policy.leafIndex) this.#policy = policyOf(this.#reader);
    const rotateTo = outcome.rotated ? batch.find((p) => p.rotateTo)?.rotateTo : undefined;
    if (rotateTo) {
      this.serviceKey = rotateTo.key;
      this.#signer = keySigner(rotateTo.key.key);
      this.#keys = [...this.#keys, rotateTo.key];
    }
  }

  /** A client answered 303 polls for the outcome: a failed batch must not read as "no such entry". */
  #rememberFailure(id: string, why: string): void {
    this.#failed.delete(id);
    this.#failed.set(id, new HttpProblem(500, 'Registration Failed', `the registration of ${id} was accepted but its batch failed to commit (${why}); nothing was registered: submit the statement again`));
    for (const old of this.#failed.keys()) {
      if (this.#failed.size <= 10_000) break;
      this.#failed.delete(old);
    }
  }

  // ---- reads: committed state only, through the reader connection ----

  #readTree(): MerkleTree {
    return new MerkleTree(new SqliteNodeStore(this.#reader));
  }

  size(): number {
    return this.#reader.size();
  }

  receipt(id: string): Uint8Array | undefined {
    if (!/^[0-9a-f]{64}$/.test(id)) return undefined;
    const e = this.#reader.entryById(Buffer.from(id, 'hex'));
    if (!e) return undefined;
    // Logs from before receipts carried sub have no entry signature: the batch's receipt, unchanged.
    const signed = this.#reader.entrySignature(e.leafIndex) ?? this.#reader.batch(e.treeSize)!;
    return inclusionReceipt(signed, this.#readTree().inclusionProof(e.leafIndex, e.treeSize));
  }

  /** Why an acknowledged registration is not on the log: refused at commit, or its batch failed. */
  refusal(id: string): HttpProblem | undefined {
    if (!/^[0-9a-f]{64}$/.test(id)) return undefined;
    const row = this.#reader.refusal(Buffer.from(id, 'hex'));
    return row ? refusalProblem(row) : this.#failed.get(id);
  }

  statement(id: string): Uint8Array | undefined {
    if (!/^[0-9a-f]{64}$/.test(id)) return undefined;
    return this.#reader.entryById(Buffer.from(id, 'hex'))?.statement;
  }

  /** The latest signed tree head, or undefined for an empty log. */
  treeHead(): Uint8Array | undefined {
    const b = this.#reader.latestBatch();
    return b?.treeHead;
  }

  /** A consistency proof between two committed tree sizes, signed over the newer root (RFC 9942 §5.3). */
  consistency(from: number, to: number): Uint8Array {
    const size = this.size();
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 1 || from >= to || to > size) {
      throw new HttpProblem(400, 'Bad Request', `need 0 < from < to ≤ ${size} (the current tree size); got from=${from} to=${to}`);
    }
    const batch = this.#reader.batch(to);
    if (!batch) throw new HttpProblem(404, 'Not Found', `tree size ${to} is not a published tree head; use a tree size from a receipt or tree head`);
    return consistencyProofBytes(batch, this.#readTree().consistencyProof(from, to));
  }

  /** For audits and crash tests. */
  duplicateEntries(): number {
    return this.#reader.duplicateEntries();
  }
}

function optionalHead(b: BatchRow | undefined): { treeHead?: Uint8Array } {
  return b ? { treeHead: b.treeHead } : {};
}

/** The latest committed policy entry, compiled (leafIndex -1: the default policy). */
function policyOf(db: LogDatabase): { compiled: CompiledPolicy; leafIndex: number } {
  const latest = db.latestPolicy();
  return latest ? { compiled: new CompiledPolicy(JSON.parse(latest.policy) as RegistrationPolicy), leafIndex: latest.leafIndex } : { compiled: new CompiledPolicy(DEFAULT_POLICY), leafIndex: -1 };
}

/** The service's own statements (policy, key announcements): the entry and its id. */
function checkedOf(statement: SignedStatement): Checked {
  const entry = statementEntry(statement);
  return { statement: statement.bytes, entry, entryId: new Uint8Array(createHash('sha256').update(entry).digest()), sub: statement.sub };
}

export function refusalProblem(r: RefusalRow): HttpProblem {
  const policy = r.policyLeafIndex < 0 ? 'the default policy' : `the policy entry at leaf ${r.policyLeafIndex}`;
  return new HttpProblem(400, 'Rejected', `refused at commit by the registration policy in force then (${policy}, registered after this statement was accepted); it is not on the log and has no receipt. ${r.reason}`);
}
