/**
 * The append-only log: registrations are queued and committed in batches (group commit). A batch is
 * one SQLite transaction — entries, Merkle nodes, the signed root — so it costs one fsync and one
 * signature however many statements it holds (RFC 9942 receipts of a batch share the signature and
 * differ only in their inclusion proofs). A receipt is handed out only after its batch committed.
 */
import { createHash } from 'node:crypto';
import {
  MerkleTree,
  type SignedStatement,
  type Signer,
  createSignedStatement,
  keySigner,
  leafHash,
  parseSignedStatement,
} from '@scitt-actions/core';
import { type BatchRow, LogDatabase } from './database.ts';
import { HttpProblem } from './problem.ts';
import { CompiledPolicy, DEFAULT_POLICY, POLICY_MEDIA_TYPE, POLICY_SUBJECT, type RegistrationPolicy } from './registration-policy.ts';
import { SqliteNodeStore } from './sqlite-node-store.ts';
import type { ServiceKey } from './service-key.ts';
import { consistencyProofBytes, receiptFromBatch, signBatch, statementEntry } from './receipts.ts';

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
  policy?: RegistrationPolicy;
  resolve: (r: Registration) => void;
  reject: (e: unknown) => void;
}

export interface LogOptions {
  dataDir: string;
  serviceKey: ServiceKey;
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
  readonly serviceKey: ServiceKey;
  readonly #writer: LogDatabase;
  readonly #reader: LogDatabase;
  readonly #nodes: SqliteNodeStore;
  readonly #tree: MerkleTree;
  readonly #signer: Signer;
  readonly #maxBatch: number;
  readonly #maxQueue: number;
  readonly #queue: Pending[] = [];
  readonly #inFlight = new Map<string, Promise<Registration>>();
  #flushing = false;
  #policy: { compiled: CompiledPolicy; leafIndex: number | undefined };

  constructor(o: LogOptions) {
    this.iss = o.iss;
    this.serviceKey = o.serviceKey;
    this.#writer = LogDatabase.openWriter(o.dataDir);
    this.#reader = LogDatabase.openReader(o.dataDir);
    this.#nodes = new SqliteNodeStore(this.#writer);
    this.#tree = new MerkleTree(this.#nodes);
    this.#signer = keySigner(o.serviceKey.key);
    this.#maxBatch = o.maxBatch ?? 4096;
    this.#maxQueue = o.maxQueue ?? 20_000;
    const latest = this.#writer.latestPolicy();
    this.#policy = latest
      ? { compiled: new CompiledPolicy(JSON.parse(latest.policy) as RegistrationPolicy), leafIndex: latest.leafIndex }
      : { compiled: new CompiledPolicy(DEFAULT_POLICY), leafIndex: undefined };
  }

  close(): void {
    // Reader first: the last connection to close checkpoints the WAL into log.sqlite and removes it,
    // and only the writer can; closed last, the read-only reader left the WAL behind on a clean stop.
    this.#reader.close();
    this.#writer.close();
  }

  get policy(): { policy: RegistrationPolicy; leafIndex: number | undefined } {
    return { policy: this.#policy.compiled.policy, leafIndex: this.#policy.leafIndex };
  }

  get queueLength(): number {
    return this.#queue.length;
  }

  /** Checks a statement against the registration policy (throws an HttpProblem), then queues it. */
  async register(bytes: Uint8Array): Promise<Queued> {
    const statement = await this.#policy.compiled.check(bytes);
    return this.#enqueue(statement);
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
    return this.#enqueue(parseSignedStatement(bytes), policy).committed;
  }

  #enqueue(statement: SignedStatement, policy?: RegistrationPolicy): Queued {
    const entry = statementEntry(statement);
    const entryId = new Uint8Array(createHash('sha256').update(entry).digest());
    const id = entryIdHex(entryId);
    const inFlight = this.#inFlight.get(id);
    if (inFlight) return { entryId: id, committed: inFlight };
    if (this.#queue.length >= this.#maxQueue) throw new HttpProblem(503, 'Service Unavailable', 'registration queue is full; retry later', 1);
    const promise = new Promise<Registration>((resolve, reject) => {
      this.#queue.push({ entry, entryId, statement: statement.bytes, ...(policy ? { policy } : {}), resolve, reject });
    });
    this.#inFlight.set(id, promise);
    const forget = () => this.#inFlight.delete(id);
    promise.then(forget, forget);
    if (!this.#flushing) {
      this.#flushing = true;
      // Let registrations arriving in the same turn join this batch.
      setImmediate(() => void this.#flush());
    }
    return { entryId: id, committed: promise };
  }

  /** Registration in progress for this entry id (for SCRAPI's 302 while running). */
  isPending(id: string): boolean {
    return this.#inFlight.has(id);
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        try {
          const results = await this.#commit(batch);
          batch.forEach((p, i) => p.resolve(results[i]!));
        } catch (e) {
          this.#nodes.reset();
          const problem = new HttpProblem(503, 'Service Unavailable', `the log could not commit the registration (${(e as Error).message}); nothing was registered, retry later`, 5);
          for (const p of batch) p.reject(problem);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  async #commit(batch: Pending[]): Promise<Registration[]> {
    const db = this.#writer;
    // Idempotency: a statement already on the log, or twice in this batch, keeps its first leaf.
    const existing = new Map<string, { leafIndex: number; treeSize: number }>();
    const fresh: Pending[] = [];
    for (const p of batch) {
      const id = entryIdHex(p.entryId);
      if (existing.has(id)) continue;
      const row = db.entryById(p.entryId);
      if (row) existing.set(id, { leafIndex: row.leafIndex, treeSize: row.treeSize });
      else {
        existing.set(id, { leafIndex: -1, treeSize: -1 });
        fresh.push(p);
      }
    }
    const start = this.#tree.size;
    const newSize = start + fresh.length;
    let batchRow: BatchRow | undefined;
    if (fresh.length > 0) {
      const now = Math.floor(Date.now() / 1000);
      db.db.exec('BEGIN IMMEDIATE');
      try {
        fresh.forEach((p, k) => {
          db.putEntry({ leafIndex: start + k, entryId: p.entryId, statement: p.statement, treeSize: newSize, registeredAt: now });
          if (p.policy) db.putPolicy(start + k, JSON.stringify(p.policy));
          existing.set(entryIdHex(p.entryId), { leafIndex: start + k, treeSize: newSize });
        });
        this.#tree.appendLeaves(fresh.map((p) => leafHash(p.entry)));
        batchRow = await signBatch({ signer: this.#signer, kid: this.serviceKey.kid, iss: this.iss, iat: now, treeSize: newSize, root: this.#tree.root(newSize) });
        db.putBatch(batchRow);
        db.db.exec('COMMIT');
      } catch (e) {
        if (db.db.isTransaction) db.db.exec('ROLLBACK');
        throw e;
      }
      const lastPolicy = fresh.findLast((p) => p.policy);
      if (lastPolicy?.policy) {
        this.#policy = { compiled: new CompiledPolicy(lastPolicy.policy), leafIndex: existing.get(entryIdHex(lastPolicy.entryId))!.leafIndex };
      }
    }
    // Proofs for the new leaves in one pass: they share the right edge of the tree.
    const freshProofs = batchRow ? this.#tree.inclusionProofs(fresh.map((_, k) => start + k), newSize) : [];
    return batch.map((p) => {
      const at = existing.get(entryIdHex(p.entryId))!;
      const isFresh = batchRow !== undefined && at.treeSize === newSize && at.leafIndex >= start;
      const row = isFresh ? batchRow! : db.batch(at.treeSize)!;
      const proof = isFresh ? freshProofs[at.leafIndex - start]! : this.#tree.inclusionProof(at.leafIndex, row.treeSize);
      return { entryId: entryIdHex(p.entryId), leafIndex: at.leafIndex, receipt: receiptFromBatch(row, proof), existing: !isFresh };
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
    const batch = this.#reader.batch(e.treeSize)!;
    return receiptFromBatch(batch, this.#readTree().inclusionProof(e.leafIndex, e.treeSize));
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
