/**
 * One batch commit of the SQLite log (group commit): a single transaction holding the batch's
 * entries, Merkle nodes, signed root and per-sub receipt signatures, so one fsync and one signature
 * per distinct sub however many statements it holds. Receipts are built only after COMMIT returned,
 * that is after the fsync (synchronous=FULL). It owns the writer connection's tree and the signing
 * key: it runs on the event loop, or on the commit thread (commit-worker.ts) so that neither the
 * fsync nor the signatures block HTTP.
 *
 * The registration policy applies in log order: a statement is checked again inside the transaction
 * when a newer policy entry precedes it (committed earlier, or earlier in the same batch). What that
 * policy refuses is not appended; the refusal is stored in the same transaction.
 */
import { type Signer, keySigner } from '@scitt-actions/core/cose';
import { MerkleTree, leafHash } from '@scitt-actions/core/merkle';
import { type BatchRow, type EntrySignatureRow, type LogDatabase, type RefusalRow } from './database.ts';
import type { RotationTarget } from './key-rotation.ts';
import { HttpProblem } from './problem.ts';
import { CompiledPolicy, DEFAULT_POLICY, type RegistrationPolicy } from './registration-policy.ts';
import { inclusionReceipt, signBatch, signEntries } from './receipts.ts';
import type { ServiceKey } from './service-key.ts';
import { SqliteNodeStore } from './sqlite-node-store.ts';

/** A registration as the committer needs it: plain data, so it can cross to the commit thread. */
export interface BatchItem {
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
}

export type ItemOutcome = { leafIndex: number; receipt: Uint8Array; existing: boolean } | { refusal: RefusalRow };

export interface BatchOutcome {
  /** one per item, same order */
  items: ItemOutcome[];
  /** the policy in force after the batch (leafIndex -1: the default policy) */
  policyLeafIndex: number;
  /** the batch committed a key rotation: what follows is signed by the new key */
  rotated: boolean;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

/** Committed Merkle nodes the committer keeps in memory (about 100 bytes each): ~6 MiB, the nodes of the last ~32,000 leaves and the left edge */
const NODE_CACHE = 65_536;

export class BatchCommitter {
  readonly #db: LogDatabase;
  readonly #nodes: SqliteNodeStore;
  readonly #tree: MerkleTree;
  /** the key of the last batch, and its signer (built once per key) */
  #signing: { kid: string; signer: Signer } | undefined;
  /** leafIndex -1: the default policy */
  #policy: { compiled: CompiledPolicy; leafIndex: number } | undefined;

  constructor(db: LogDatabase) {
    this.#db = db;
    this.#nodes = new SqliteNodeStore(db, db.size(), NODE_CACHE);
    this.#tree = new MerkleTree(this.#nodes);
  }

  /** The latest committed policy entry, read through the writer (inside its transaction when in one). */
  policyInForce(): { compiled: CompiledPolicy; leafIndex: number } {
    const latest = this.#db.latestPolicy();
    const leafIndex = latest?.leafIndex ?? -1;
    if (this.#policy?.leafIndex === leafIndex) return this.#policy;
    this.#policy = latest ? { compiled: new CompiledPolicy(JSON.parse(latest.policy) as RegistrationPolicy), leafIndex } : { compiled: new CompiledPolicy(DEFAULT_POLICY), leafIndex };
    return this.#policy;
  }

  /**
   * Commits one batch signed with `key`; throws (nothing committed) when the transaction fails. The
   * tree size is read afresh each time: batches may be committed by another connection in between
   * (the log's own, until the commit thread is up).
   */
  async commit(batch: readonly BatchItem[], iss: string, key: ServiceKey): Promise<BatchOutcome> {
    this.#nodes.reset();
    const kid = Buffer.from(key.kid).toString('hex');
    if (this.#signing?.kid !== kid) this.#signing = { kid, signer: keySigner(key.key) };
    return this.#commit(batch, iss, key.kid, this.#signing.signer);
  }

  async #commit(batch: readonly BatchItem[], iss: string, kid: Uint8Array, signer: Signer): Promise<BatchOutcome> {
    const db = this.#db;
    // Idempotency: a statement already on the log, or twice in this batch, keeps its first leaf.
    const existing = new Map<string, { leafIndex: number; treeSize: number } | RefusalRow>();
    const candidates: BatchItem[] = [];
    for (const p of batch) {
      const id = hex(p.entryId);
      if (existing.has(id)) continue;
      const row = db.entryById(p.entryId);
      if (row) existing.set(id, { leafIndex: row.leafIndex, treeSize: row.treeSize });
      else {
        existing.set(id, { leafIndex: -1, treeSize: -1 });
        candidates.push(p);
      }
    }
    const start = this.#tree.size;
    const fresh: BatchItem[] = [];
    let batchRow: BatchRow | undefined;
    let signatures: EntrySignatureRow[] = [];
    let rotated: RotationTarget | undefined;
    let inForce = this.policyInForce();
    if (candidates.length > 0) {
      const now = Math.floor(Date.now() / 1000);
      db.db.exec('BEGIN IMMEDIATE');
      try {
        // Log order: each statement meets the policy in force at its position — the latest committed
        // policy entry, or one earlier in this batch. Checked again only when that is not the policy
        // it was accepted under (the check is a function of statement and policy).
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
              existing.set(hex(p.entryId), refusal);
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
          existing.set(hex(p.entryId), { leafIndex: start + k, treeSize: newSize });
        });
        if (fresh.length > 0) {
          this.#tree.appendLeaves(fresh.map((p) => leafHash(p.entry)));
          const signing = { signer, kid, iss, iat: now, treeSize: newSize, root: this.#tree.root(newSize) };
          batchRow = await signBatch(signing);
          db.putBatch(batchRow);
          signatures = await signEntries({ ...signing, subs: fresh.map((p) => p.sub) });
          signatures.forEach((s, k) => db.putEntrySignature(start + k, s));
        }
        db.db.exec('COMMIT');
        this.#nodes.committed();
        this.#policy = inForce;
      } catch (e) {
        if (db.db.isTransaction) db.db.exec('ROLLBACK');
        throw e;
      }
    }
    const newSize = start + fresh.length;
    // Proofs for the new leaves in one pass: they share the right edge of the tree.
    const freshProofs = batchRow ? this.#tree.inclusionProofs(fresh.map((_, k) => start + k), newSize) : [];
    const items = batch.map((p): ItemOutcome => {
      const at = existing.get(hex(p.entryId))!;
      if ('reason' in at) return { refusal: at };
      const isFresh = batchRow !== undefined && at.treeSize === newSize && at.leafIndex >= start;
      const signed = isFresh ? signatures[at.leafIndex - start]! : (db.entrySignature(at.leafIndex) ?? db.batch(at.treeSize)!);
      const proof = isFresh ? freshProofs[at.leafIndex - start]! : this.#tree.inclusionProof(at.leafIndex, at.treeSize);
      return { leafIndex: at.leafIndex, receipt: inclusionReceipt(signed, proof), existing: !isFresh };
    });
    return { items, policyLeafIndex: inForce.leafIndex, rotated: rotated !== undefined };
  }
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
