/**
 * The commit thread: a worker thread that owns a batch-writing connection to the log and runs
 * BatchCommitter there, so the COMMIT's fsync (node:sqlite is synchronous), the Merkle append, the
 * receipt signatures and the receipts' assembly leave the HTTP event loop. Batches stay strictly
 * sequential (one in flight: the log's flush awaits each), and a receipt still comes back only after
 * its COMMIT returned, that is after the fsync. The main thread keeps the data-directory lock and its
 * own writer connection, which closes last and so checkpoints the WAL on a clean stop.
 *
 * The worker runs this same module, which imports nothing heavy at the top: the committer is loaded
 * inside the worker, through the compile cache the CLI uses. In a single-file bundle (dist/scitt.mjs)
 * the module is the whole CLI and cannot be a worker: startCommitThread answers undefined there.
 */
import module from 'node:module';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { BatchItem, BatchOutcome, ItemOutcome } from './committer.ts';
import type { RefusalRow } from './database.ts';
import type { RotationTarget } from './key-rotation.ts';
import type { RegistrationPolicy } from './registration-policy.ts';
import type { ServiceKey } from './service-key.ts';

interface Init {
  scittCommitThread: true;
  dataDir: string;
  compileCache: string | undefined;
}

type Request = { id: number; batch: PackedBatch; iss: string; key: ServiceKey } | { id: number; close: true };
type Reply = { id: number; outcome: PackedOutcome } | { id: number; error: string } | { id: number; closed: true } | { ready: true } | { failed: string };

/**
 * A batch as one transferred ArrayBuffer (entry, statement and entry id of every item, back to back)
 * with its lengths and subs beside it: cloning an object with three Uint8Arrays per registration cost
 * more CPU on the event loop (ts-profile: 'thread messaging') than verifying the statement did.
 * Policies and rotations, rare, travel as they are, by item index.
 */
export interface PackedBatch {
  bytes: ArrayBuffer;
  /** per item: entry length, statement length (-1: the statement is the entry) */
  lengths: Int32Array;
  subs: string[];
  checkedUnder: Int32Array;
  extras: { i: number; policy?: RegistrationPolicy; rotateTo?: RotationTarget }[];
}

/** The outcome the same way: receipts back to back in one transferred buffer, refusals by index. */
export interface PackedOutcome {
  receipts: ArrayBuffer;
  /** per item: receipt length (-1: refused) */
  lengths: Int32Array;
  leafIndex: Float64Array;
  existing: Uint8Array;
  refusals: { i: number; refusal: RefusalRow }[];
  policyLeafIndex: number;
  rotated: boolean;
}

export function packBatch(batch: readonly BatchItem[]): PackedBatch {
  const n = batch.length;
  const lengths = new Int32Array(2 * n);
  let total = 0;
  batch.forEach((p, k) => {
    lengths[2 * k] = p.entry.length;
    lengths[2 * k + 1] = p.statement === p.entry ? -1 : p.statement.length;
    total += p.entry.length + (p.statement === p.entry ? 0 : p.statement.length) + p.entryId.length;
  });
  const bytes = new Uint8Array(total);
  const extras: PackedBatch['extras'] = [];
  let at = 0;
  const put = (b: Uint8Array) => {
    bytes.set(b, at);
    at += b.length;
  };
  batch.forEach((p, k) => {
    put(p.entry);
    if (p.statement !== p.entry) put(p.statement);
    if (p.entryId.length !== 32) throw new Error('an entry id is a SHA-256 digest (32 bytes)');
    put(p.entryId);
    if (p.policy || p.rotateTo) extras.push({ i: k, ...(p.policy ? { policy: p.policy } : {}), ...(p.rotateTo ? { rotateTo: p.rotateTo } : {}) });
  });
  return { bytes: bytes.buffer, lengths, subs: batch.map((p) => p.sub), checkedUnder: Int32Array.from(batch, (p) => p.checkedUnder), extras };
}

export function unpackBatch(b: PackedBatch): BatchItem[] {
  const bytes = new Uint8Array(b.bytes);
  const extras = new Map(b.extras.map((e) => [e.i, e]));
  let at = 0;
  const take = (len: number) => bytes.subarray(at, (at += len));
  return b.subs.map((sub, k) => {
    const entry = take(b.lengths[2 * k]!);
    const sl = b.lengths[2 * k + 1]!;
    const statement = sl < 0 ? entry : take(sl);
    const entryId = take(32);
    const e = extras.get(k);
    return { entry, entryId, statement, sub, checkedUnder: b.checkedUnder[k]!, ...(e?.policy ? { policy: e.policy } : {}), ...(e?.rotateTo ? { rotateTo: e.rotateTo } : {}) };
  });
}

export function packOutcome(o: BatchOutcome): PackedOutcome {
  const n = o.items.length;
  const lengths = new Int32Array(n);
  const leafIndex = new Float64Array(n);
  const existing = new Uint8Array(n);
  const refusals: PackedOutcome['refusals'] = [];
  let total = 0;
  o.items.forEach((r, k) => {
    if ('refusal' in r) {
      lengths[k] = -1;
      refusals.push({ i: k, refusal: r.refusal });
    } else {
      lengths[k] = r.receipt.length;
      leafIndex[k] = r.leafIndex;
      existing[k] = r.existing ? 1 : 0;
      total += r.receipt.length;
    }
  });
  const receipts = new Uint8Array(total);
  let at = 0;
  for (const r of o.items) {
    if ('receipt' in r) {
      receipts.set(r.receipt, at);
      at += r.receipt.length;
    }
  }
  return { receipts: receipts.buffer, lengths, leafIndex, existing, refusals, policyLeafIndex: o.policyLeafIndex, rotated: o.rotated };
}

/** Receipts come back as views into the one buffer (each answer copies its receipt into the reply anyway). */
export function unpackOutcome(p: PackedOutcome): BatchOutcome {
  const receipts = new Uint8Array(p.receipts);
  const refusals = new Map(p.refusals.map((r) => [r.i, r.refusal]));
  let at = 0;
  const items = Array.from(p.lengths, (len, k): ItemOutcome => {
    if (len < 0) return { refusal: refusals.get(k)! };
    return { leafIndex: p.leafIndex[k]!, receipt: receipts.subarray(at, (at += len)), existing: p.existing[k] === 1 };
  });
  return { items, policyLeafIndex: p.policyLeafIndex, rotated: p.rotated };
}

/**
 * The bytes alone: a Uint8Array posted to a thread is cloned with its whole ArrayBuffer, and a request
 * body or a CBOR encoding is a view into a pooled one (8 KiB and more).
 */
export const own = (b: Uint8Array): Uint8Array => (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice());

/** Whether `url` is a module file of its own (source or tsc output) that a worker can run, not a bundle. */
export const threadsAvailable = (url: string, name: string): boolean => new RegExp(`/${name}\\.(ts|js)$`).test(new URL(url).pathname);

/** The compile cache the CLI enabled (module.enableCompileCache), for workers to share. */
export const compileCacheDir = (): string | undefined => module.getCompileCacheDir?.();

export interface CommitThread {
  /** settles once the thread has opened its connection (rejects with why it could not) */
  ready: Promise<void>;
  commit(batch: BatchItem[], iss: string, key: ServiceKey): Promise<BatchOutcome>;
  /** commits nothing more; the thread closes its connection and exits */
  close(): Promise<void>;
}

export function startCommitThread(dataDir: string): CommitThread | undefined {
  if (!threadsAvailable(import.meta.url, 'commit-worker')) return undefined;
  let worker: Worker | undefined;
  let next = 0;
  const waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  let started: { resolve: () => void; reject: (e: Error) => void } | undefined;
  const spawn = (): Worker => {
    const w = new Worker(new URL(import.meta.url), { workerData: { scittCommitThread: true, dataDir, compileCache: compileCacheDir() } satisfies Init });
    w.on('message', (r: Reply) => {
      if ('ready' in r) return started?.resolve();
      if ('failed' in r) return started?.reject(new Error(r.failed));
      const p = waiting.get(r.id);
      waiting.delete(r.id);
      p?.resolve(r);
    });
    // A thread that died (out of memory, a native fault) fails what it held; the next batch starts a new one.
    const fail = (e: Error) => {
      started?.reject(e);
      if (worker === w) worker = undefined;
      for (const p of waiting.values()) p.reject(e);
      waiting.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`the commit thread exited (${code})`)));
    return w;
  };
  const ask = (req: Omit<Request, 'id'>, transfer: ArrayBuffer[] = []): Promise<Reply> => {
    worker ??= spawn();
    const id = next++;
    const reply = new Promise<Reply>((resolve, reject) => waiting.set(id, { resolve, reject }));
    worker.postMessage({ id, ...req }, transfer);
    return reply;
  };
  const ready = new Promise<void>((resolve, reject) => (started = { resolve, reject }));
  ready.catch(() => undefined);
  worker = spawn();
  return {
    ready,
    async commit(batch, iss, key) {
      const packed = packBatch(batch);
      const r = await ask({ batch: packed, iss, key }, [packed.bytes]);
      if ('error' in r) throw new Error(r.error);
      if (!('outcome' in r)) throw new Error('the commit thread answered out of turn');
      return unpackOutcome(r.outcome);
    },
    async close() {
      if (!worker) return;
      const w = worker;
      const exited = new Promise<void>((res) => w.once('exit', () => res()));
      await ask({ close: true }).catch(() => undefined);
      await exited;
    },
  };
}

async function serve(init: Init): Promise<void> {
  const port = parentPort!;
  if (init.compileCache) module.enableCompileCache?.(init.compileCache);
  let db: import('./database.ts').LogDatabase;
  let committer: import('./committer.ts').BatchCommitter;
  try {
    const [{ LogDatabase }, { BatchCommitter }] = await Promise.all([import('./database.ts'), import('./committer.ts')]);
    db = LogDatabase.openAppender(init.dataDir);
    committer = new BatchCommitter(db);
  } catch (e) {
    port.postMessage({ failed: (e as Error).message } satisfies Reply);
    port.close();
    return;
  }
  port.postMessage({ ready: true } satisfies Reply);
  // One at a time, in arrival order: the log sends the next batch only once this one is answered.
  let chain = Promise.resolve();
  port.on('message', (req: Request) => {
    chain = chain.then(async () => {
      if ('close' in req) {
        db.close();
        port.postMessage({ id: req.id, closed: true } satisfies Reply);
        port.close();
        return;
      }
      try {
        const outcome = packOutcome(await committer.commit(unpackBatch(req.batch), req.iss, req.key));
        port.postMessage({ id: req.id, outcome } satisfies Reply, [outcome.receipts]);
      } catch (e) {
        port.postMessage({ id: req.id, error: (e as Error).message } satisfies Reply);
      }
    });
  });
}

if (!isMainThread && (workerData as Partial<Init> | undefined)?.scittCommitThread === true) void serve(workerData as Init);
