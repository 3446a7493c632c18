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
import type { BatchItem, BatchOutcome } from './committer.ts';
import type { ServiceKey } from './service-key.ts';

interface Init {
  scittCommitThread: true;
  dataDir: string;
  compileCache: string | undefined;
}

type Request = { id: number; batch: BatchItem[]; iss: string; key: ServiceKey } | { id: number; close: true };
type Reply = { id: number; outcome: BatchOutcome } | { id: number; error: string } | { id: number; closed: true } | { ready: true } | { failed: string };

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
  const ask = (req: Omit<Request, 'id'>): Promise<Reply> => {
    worker ??= spawn();
    const id = next++;
    const reply = new Promise<Reply>((resolve, reject) => waiting.set(id, { resolve, reject }));
    worker.postMessage({ id, ...req });
    return reply;
  };
  const ready = new Promise<void>((resolve, reject) => (started = { resolve, reject }));
  ready.catch(() => undefined);
  worker = spawn();
  return {
    ready,
    async commit(batch, iss, key) {
      const items = batch.map((p) => {
        const entry = own(p.entry);
        return { ...p, entry, statement: p.statement === p.entry ? entry : own(p.statement) };
      });
      const r = await ask({ batch: items, iss, key });
      if ('error' in r) throw new Error(r.error);
      if (!('outcome' in r)) throw new Error('the commit thread answered out of turn');
      return r.outcome;
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
        const outcome = await committer.commit(req.batch, req.iss, req.key);
        for (const o of outcome.items) if ('receipt' in o) o.receipt = own(o.receipt);
        port.postMessage({ id: req.id, outcome } satisfies Reply);
      } catch (e) {
        port.postMessage({ id: req.id, error: (e as Error).message } satisfies Reply);
      }
    });
  });
}

if (!isMainThread && (workerData as Partial<Init> | undefined)?.scittCommitThread === true) void serve(workerData as Init);
