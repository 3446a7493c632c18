/**
 * Registration checks on worker threads: parsing a Signed Statement, resolving its issuer through the
 * registration policy and verifying its signature (an ES256 verify is ~50–100 µs, the largest single
 * cost of a registration) run off the HTTP event loop, with the entry and its id computed there too.
 * Statements arriving in one turn of the event loop go to a worker as one message; workers take
 * turns. The verdict is the policy's own (CompiledPolicy.check), so the check is the same on the
 * event loop and here: a refusal is the same HttpProblem.
 *
 * The workers run this same module; in a single-file bundle they cannot, and startVerifyPool answers
 * undefined (the check then runs on the event loop).
 */
import module from 'node:module';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { Checked } from './check.ts';
import { compileCacheDir, own, threadsAvailable } from './commit-worker.ts';
import { HttpProblem } from './problem.ts';
import type { CompiledPolicy, RegistrationPolicy } from './registration-policy.ts';

/** The policy a statement is checked against (leafIndex -1: the default policy). */
export interface PolicyRef {
  policy: RegistrationPolicy;
  leafIndex: number;
}

interface Job {
  bytes: Uint8Array;
  leafIndex: number;
}
type Verdict = { entry?: Uint8Array; entryId: Uint8Array; sub: string } | { problem: { status: number; title: string; detail: string; retryAfter?: number } } | { error: string };
interface Request {
  id: number;
  /** policies this worker has not been sent yet; reset: forget the others first (bounded memory) */
  policies: PolicyRef[];
  reset: boolean;
  jobs: Job[];
}
interface Reply {
  id: number;
  verdicts: Verdict[];
}

export interface VerifyPool {
  readonly size: number;
  /** settles once every worker has loaded */
  ready: Promise<void>;
  check(policy: PolicyRef, bytes: Uint8Array): Promise<Checked>;
  close(): Promise<void>;
}

export function startVerifyPool(size: number): VerifyPool | undefined {
  if (size < 1 || !threadsAvailable(import.meta.url, 'verify-worker')) return undefined;
  interface Slot {
    worker: Worker;
    sent: Set<number>;
    ready: Promise<void>;
  }
  const slots: Slot[] = [];
  const waiting = new Map<number, { slot: Slot; jobs: { job: Job; resolve: (c: Checked) => void; reject: (e: unknown) => void }[] }>();
  let next = 0;
  let turn = 0;
  let pending: { job: Job; policy: PolicyRef; resolve: (c: Checked) => void; reject: (e: unknown) => void }[] = [];
  let scheduled = false;

  const spawn = (i: number): Slot => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { scittVerifyThread: true, compileCache: compileCacheDir() } });
    worker.unref();
    let loaded!: () => void;
    const slot: Slot = { worker, sent: new Set(), ready: new Promise<void>((res) => (loaded = res)) };
    worker.on('message', (r: Reply | { ready: true }) => {
      if ('ready' in r) return loaded();
      const w = waiting.get(r.id);
      waiting.delete(r.id);
      w?.jobs.forEach((j, k) => {
        const v = r.verdicts[k]!;
        if ('problem' in v) j.reject(new HttpProblem(v.problem.status, v.problem.title, v.problem.detail, v.problem.retryAfter));
        else if ('error' in v) j.reject(new Error(v.error));
        else j.resolve({ statement: j.job.bytes, entry: v.entry ?? j.job.bytes, entryId: v.entryId, sub: v.sub });
      });
    });
    // A worker that died fails what it held (500, nothing registered); the next turn starts a new one.
    const fail = (e: Error) => {
      loaded();
      if (slots[i] === slot && !closing) slots[i] = spawn(i);
      for (const [id, w] of waiting) {
        if (w.slot !== slot) continue;
        waiting.delete(id);
        for (const j of w.jobs) j.reject(e);
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => closing || fail(new Error(`a verification thread exited (${code})`)));
    return slot;
  };
  let closing = false;
  for (let i = 0; i < size; i++) slots.push(spawn(i));

  const flush = () => {
    scheduled = false;
    const batch = pending;
    pending = [];
    const slot = slots[turn++ % slots.length]!;
    const policies: PolicyRef[] = [];
    const reset = slot.sent.size > 8;
    if (reset) slot.sent.clear();
    for (const p of batch) {
      if (slot.sent.has(p.policy.leafIndex)) continue;
      slot.sent.add(p.policy.leafIndex);
      policies.push(p.policy);
    }
    const id = next++;
    waiting.set(id, { slot, jobs: batch });
    slot.worker.postMessage({ id, policies, reset, jobs: batch.map((p) => p.job) } satisfies Request);
  };

  return {
    size,
    ready: Promise.all(slots.map((s) => s.ready)).then(() => undefined),
    check(policy, bytes) {
      return new Promise<Checked>((resolve, reject) => {
        pending.push({ job: { bytes: own(bytes), leafIndex: policy.leafIndex }, policy, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    async close() {
      closing = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}

async function serve(compileCache: string | undefined): Promise<void> {
  const port = parentPort!;
  // the check's modules load here, through the compile cache the CLI uses
  if (compileCache) module.enableCompileCache?.(compileCache);
  const [{ CompiledPolicy }, { checkStatement }] = await Promise.all([import('./registration-policy.ts'), import('./check.ts')]);
  const policies = new Map<number, CompiledPolicy>();
  port.on('message', async (req: Request) => {
    if (req.reset) policies.clear();
    for (const p of req.policies) policies.set(p.leafIndex, new CompiledPolicy(p.policy));
    const verdicts = await Promise.all(
      req.jobs.map(async (job): Promise<Verdict> => {
        try {
          const compiled = policies.get(job.leafIndex);
          if (!compiled) throw new Error(`verification thread has no policy ${job.leafIndex}`);
          const c = await checkStatement(compiled, job.bytes);
          // the entry is the statement itself unless its unprotected header was not empty
          const same = c.entry.length === job.bytes.length && Buffer.from(c.entry).equals(Buffer.from(job.bytes));
          return { ...(same ? {} : { entry: c.entry }), entryId: c.entryId, sub: c.sub };
        } catch (e) {
          if (e instanceof HttpProblem) return { problem: { status: e.status, title: e.title, detail: e.message, ...(e.retryAfter !== undefined ? { retryAfter: e.retryAfter } : {}) } };
          return { error: (e as Error).message };
        }
      }),
    );
    port.postMessage({ id: req.id, verdicts } satisfies Reply);
  });
  port.postMessage({ ready: true });
}

if (!isMainThread && (workerData as { scittVerifyThread?: boolean } | undefined)?.scittVerifyThread === true) void serve((workerData as { compileCache?: string }).compileCache);
