/**
 * The append-only log: registrations are queued and committed in batches (group commit). A batch is
 * one SQLite transaction — entries, Merkle nodes, the signed root — so it costs one fsync and one
 * signature however many statements it holds (RFC 9942 receipts of a batch share the signature and
 * differ only in their inclusion proofs). A receipt is handed out only after its batch committed.
 *
 * The registration policy applies in log order: a statement is checked when it arrives, and checked
 * again inside the transaction that appends it when a newer policy entry precedes it (committed
 * earlier, or earlier in the same batch). What that policy refuses is not appended; the refusal is
 * stored in the same transaction, so a client that was answered 303 learns it from GET /entries/{id}.
 */
import { createHash } from 'node:crypto';
import { type Signer, keySigner } from '@scitt-actions/core/cose';
import { MerkleTree, leafHash } from '@scitt-actions/core/merkle';
import { type SignedStatement, createSignedStatement, parseSignedStatement } from '@scitt-actions/core/statement';
import { type BatchRow, type EntrySignatureRow, LogDatabase, type RefusalRow } from './database.ts';
import { type KeyHistory, type RotationTarget, announcementStatement } from './key-rotation.ts';
import { HttpProblem } from './problem.ts';
import { CompiledPolicy, DEFAULT_POLICY, POLICY_MEDIA_TYPE, POLICY_SUBJECT, type RegistrationPolicy } from './registration-policy.ts';
import { SqliteNodeStore } from './sqlite-node-store.ts';
import type { LogIdentity, ServiceKey } from './service-key.ts';
import { consistencyProofBytes, inclusionReceipt, signBatch, signEntries, statementEntry } from './receipts.ts';

export interface Registration {
  entryId: string;
  leafIndex: number;
  receipt: Uint8Array;
  /** true when the statement was already on the log */
  existing: boolean;
}

interface Pending {
  entry: Uint8Array;
  entryId: Uint8Array;
  statement: Uint8Array;
  /** the statement's CWT sub: its receipt carries it (RFC 9943 §6) */
  sub: string;
  policy?: RegistrationPolicy;
  /** a key rotation announcement: once its batch commits, the log signs with this key */
  rotateTo?: RotationTarget;
  /** leaf index of the policy entry it was checked against (-1: the default policy) */
  checkedUnder: number;
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
}

export interface Queued {
  /** known at once: the hex SHA-256 of the entry */
  entryId: string;
  /** settles once the batch holding it committed */
  committed: Promise<Registration>;
}

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
  readonly #nodes: SqliteNodeStore;
  readonly #tree: MerkleTree;
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
  /** leafIndex -1: the default policy */
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
    this.#nodes = new SqliteNodeStore(this.#writer);
    this.#tree = new MerkleTree(this.#nodes);
    this.#signer = keySigner(this.serviceKey.key);
    this.#maxBatch = o.maxBatch ?? 4096;
    this.#maxQueue = o.maxQueue ?? 20_000;
    this.#policy = this.#policyInForce();
  }

  /** The latest committed policy entry, read through the writer (inside its transaction when in one). */
  #policyInForce(): { compiled: CompiledPolicy; leafIndex: number } {
    const latest = this.#writer.latestPolicy();
    const leafIndex = latest?.leafIndex ?? -1;
    if (this.#policy?.leafIndex === leafIndex) return this.#policy;
    return latest ? { compiled: new CompiledPolicy(JSON.parse(latest.policy) as RegistrationPolicy), leafIndex } : { compiled: new CompiledPolicy(DEFAULT_POLICY), leafIndex };
  }

  /** Stops taking registrations and waits until every one already queued is committed (or failed). */
  async drain(): Promise<void> {
    this.#closing = true;
    while (this.#flushing) await this.#flushing;
  }

  close(): void {
    // Reader first: the last connection to close checkpoints the WAL into log.sqlite and removes it,
    // and only the writer can; closed last, the read-only reader left the WAL behind on a clean stop.
    this.#reader.close();
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
    return this.#enqueue(parseSignedStatement(bytes), this.#policy.leafIndex, undefined, target).committed;
  }

  get queueLength(): number {
    return this.#queue.length;
  }

  /** Checks a statement against the registration policy (throws an HttpProblem), then queues it. */
  async register(bytes: Uint8Array): Promise<Queued> {
    const policy = this.#policy; // the policy this check is against, even if a newer one commits meanwhile
    const statement = await policy.compiled.check(bytes);
    return this.#enqueue(statement, policy.leafIndex);
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
    return this.#enqueue(parseSignedStatement(bytes), this.#policy.leafIndex, policy).committed;
  }

  #enqueue(statement: SignedStatement, checkedUnder: number, policy?: RegistrationPolicy, rotateTo?: RotationTarget): Queued {
    if (this.#closing) throw new HttpProblem(503, 'Service Unavailable', 'the service is shutting down; retry shortly', 5);
    const entry = statementEntry(statement);
    const entryId = new Uint8Array(createHash('sha256').update(entry).digest());
    const id = entryIdHex(entryId);
    const inFlight = this.#inFlight.get(id);
    if (inFlight) return { entryId: id, committed: inFlight };
    if (this.#queue.length >= this.#maxQueue) throw new HttpProblem(503, 'Service Unavailable', 'registration queue is full; retry later', 1);
    const promise = new Promise<Registration>((resolve, reject) => {
      this.#queue.push({ entry, entryId, statement: statement.bytes, sub: statement.sub, ...(policy ? { policy } : {}), ...(rotateTo ? { rotateTo } : {}), checkedUnder, resolve, reject });
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
          const results = await this.#commit(batch);
          this.onBatch?.(batch.length, (performance.now() - started) / 1000);
          batch.forEach((p, i) => {
            const r = results[i]!;
            if (r instanceof HttpProblem) p.reject(r);
            else p.resolve(r);
          });
        } catch (e) {
          this.#nodes.reset();
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

  /** A client answered 303 polls for the outcome: a failed batch must not read as "no such entry". */
  #rememberFailure(id: string, why: string): void {
    this.#failed.delete(id);
    this.#failed.set(id, new HttpProblem(500, 'Registration Failed', `the registration of ${id} was accepted but its batch failed to commit (${why}); nothing was registered: submit the statement again`));
    for (const old of this.#failed.keys()) {
      if (this.#failed.size <= 10_000) break;
      this.#failed.delete(old);
    }
  }

  async #commit(batch: Pending[]): Promise<(Registration | HttpProblem)[]> {
    const db = this.#writer;
    // Idempotency: a statement already on the log, or twice in this batch, keeps its first leaf.
    const existing = new Map<string, { leafIndex: number; treeSize: number } | HttpProblem>();
    const candidates: Pending[] = [];
    for (const p of batch) {
      const id = entryIdHex(p.entryId);
      if (existing.has(id)) continue;
      const row = db.entryById(p.entryId);
      if (row) existing.set(id, { leafIndex: row.leafIndex, treeSize: row.treeSize });
      else {
        existing.set(id, { leafIndex: -1, treeSize: -1 });
        candidates.push(p);
      }
    }
    const start = this.#tree.size;
    const fresh: Pending[] = [];
    let batchRow: BatchRow | undefined;
    let signatures: EntrySignatureRow[] = [];
    let rotated: RotationTarget | undefined;
    if (candidates.length > 0) {
      const now = Math.floor(Date.now() / 1000);
      db.db.exec('BEGIN IMMEDIATE');
      try {
        // Log order: each statement meets the policy in force at its position — the latest committed
        // policy entry, or one earlier in this batch. Checked again only when that is not the policy
        // it was accepted under (the check is a function of statement and policy).
        let inForce = this.#policyInForce();
        for (const p of candidates) {
          if (p.policy) {
            inForce = { compiled: new CompiledPolicy(p.policy), leafIndex: start + fresh.length };
            fresh.push(p);
            continue;
          }
          if (p.checkedUnder !== inForce.leafIndex) {
            const refusal = await refusedBy(inForce, p.statement, now);
            if (refusal) {
              db.putRefusal(p.entryId, refusal);
              existing.set(entryIdHex(p.entryId), refusalProblem(refusal));
              continue;
            }
          }
          fresh.push(p);
        }
        const newSize = start + fresh.length;
        fresh.forEach((p, k) => {
          db.putEntry({ leafIndex: start + k, entryId: p.entryId, statement: p.statement, treeSize: newSize, registeredAt: now });
          if (p.policy) db.putPolicy(start + k, JSON.stringify(p.policy));
          if (p.rotateTo) {
            db.putServiceKey({ kid: p.rotateTo.key.kid, coseKey: p.rotateTo.coseKey, leafIndex: start + k, treeSize: newSize });
            rotated = p.rotateTo;
          }
          existing.set(entryIdHex(p.entryId), { leafIndex: start + k, treeSize: newSize });
        });
        if (fresh.length > 0) {
          this.#tree.appendLeaves(fresh.map((p) => leafHash(p.entry)));
          const signing = { signer: this.#signer, kid: this.serviceKey.kid, iss: this.iss, iat: now, treeSize: newSize, root: this.#tree.root(newSize) };
          batchRow = await signBatch(signing);
          db.putBatch(batchRow);
          signatures = await signEntries({ ...signing, subs: fresh.map((p) => p.sub) });
          signatures.forEach((s, k) => db.putEntrySignature(start + k, s));
        }
        db.db.exec('COMMIT');
        this.#policy = inForce;
        if (rotated) {
          this.serviceKey = rotated.key;
          this.#signer = keySigner(rotated.key.key);
          this.#keys = [...this.#keys, rotated.key];
        }
      } catch (e) {
        if (db.db.isTransaction) db.db.exec('ROLLBACK');
        throw e;
      }
    }
    const newSize = start + fresh.length;
    // Proofs for the new leaves in one pass: they share the right edge of the tree.
    const freshProofs = batchRow ? this.#tree.inclusionProofs(fresh.map((_, k) => start + k), newSize) : [];
    return batch.map((p) => {
      const at = existing.get(entryIdHex(p.entryId))!;
      if (at instanceof HttpProblem) return at;
      const isFresh = batchRow !== undefined && at.treeSize === newSize && at.leafIndex >= start;
      const signed = isFresh ? signatures[at.leafIndex - start]! : (db.entrySignature(at.leafIndex) ?? db.batch(at.treeSize)!);
      const proof = isFresh ? freshProofs[at.leafIndex - start]! : this.#tree.inclusionProof(at.leafIndex, at.treeSize);
      return { entryId: entryIdHex(p.entryId), leafIndex: at.leafIndex, receipt: inclusionReceipt(signed, proof), existing: !isFresh };
    });
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

/** The policy's verdict at commit: undefined when admitted, the refusal to store otherwise. */
export async function refusedBy(inForce: { compiled: CompiledPolicy; leafIndex: number }, statement: Uint8Array, now: number): Promise<RefusalRow | undefined> {
  try {
    await inForce.compiled.check(statement);
    return undefined;
  } catch (e) {
    if (!(e instanceof HttpProblem)) throw e; // not a verdict: the batch fails and is retried by its clients
    return { policyLeafIndex: inForce.leafIndex, reason: `${e.title}: ${e.message}`, refusedAt: now };
  }
}

export function refusalProblem(r: RefusalRow): HttpProblem {
  const policy = r.policyLeafIndex < 0 ? 'the default policy' : `the policy entry at leaf ${r.policyLeafIndex}`;
  return new HttpProblem(400, 'Rejected', `refused at commit by the registration policy in force then (${policy}, registered after this statement was accepted); it is not on the log and has no receipt. ${r.reason}`);
}
