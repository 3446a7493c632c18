/**
 * Where the service's CPU goes under the registration benchmark's load (16 clients from a separate
 * load process, 8 s), in µs of CPU per registration by stage and by thread: a V8 CPU profile of
 * `scitt serve` (--cpu-prof, which profiles the event loop and every worker thread), each sample
 * attributed to the innermost frame on its stack that belongs to one stage — HTTP, CBOR, statement
 * parsing, signature verification (the policy's issuer check), signing (receipts, tree heads),
 * Merkle, SQLite (including the COMMIT's fsync), receipt assembly, thread messaging — or GC / other.
 * Profiles sample wall time (a thread waiting for a core still looks busy), so each thread's share is
 * scaled to the CPU it really used (/proc/<pid>/task): µs of CPU per registration, stage by stage.
 * Run with --threads 0 (everything on the event loop), 1 (a commit thread) and 2 (and a verification thread).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKey, publicKey } from '@scitt-actions/core';
import { startService } from '../helpers/transparency-service.ts';
import { runLoad, writeIssuerKey } from '../helpers/ts-tools.ts';
import { threadCpu, warmUp } from './transparency-service.ts';
import { fmt, row, title } from './stats.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const SQLITE_NATIVE = new Set(['exec', 'run', 'get', 'all', 'iterate', 'prepare']);

function stageOf(f: ProfileNode['callFrame']): string | undefined {
  const { url, functionName: fn } = f;
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)') return 'V8 / native (unattributed)';
  if (url.includes('crypto') && /^verify/.test(fn)) return 'ES256 verify (statement signature, policy)';
  if (url.includes('crypto') && /^sign/.test(fn)) return 'ES256 sign (receipts, tree heads)';
  if (url.includes('crypto') && /digest|update|createHash/.test(fn)) return 'SHA-256 (entry ids, Merkle)';
  if (url === '' && SQLITE_NATIVE.has(fn)) return 'SQLite (incl. COMMIT fsync)';
  if (url.includes('database.ts') || url.includes('sqlite-node-store')) return 'SQLite (incl. COMMIT fsync)';
  if (url.includes('/merkle/')) return 'Merkle';
  if (url.includes('cbor')) return 'CBOR';
  if (url.includes('/statement/')) return 'statement parse';
  if (url.includes('registration-policy')) return 'policy (other)';
  if (url.includes('receipts.ts') || url.includes('/receipt/')) return 'receipt assembly';
  if (fn === 'postMessage' || /commit-worker\.ts|verify-worker\.ts|internal\/worker/.test(url)) return 'thread messaging';
  if (url.includes('transparency-service/src/committer.ts')) return 'commit: transaction and its COMMIT fsync (committer.ts)';
  if (url.includes('transparency-service/src/log.ts')) return 'log: queue and batching';
  if (url.includes('transparency-service/src/server.ts') || url.includes('rate-limit')) return 'HTTP (Node + Fastify)';
  if (/internal\/process\/task_queues|internal\/timers|node:timers|promise/.test(url)) return 'promises, timers, microtasks';
  if (/fastify|find-my-way|avvio|light-my-request|node:_http|node:http|node:net|internal\/http|internal\/stream|node:stream|internal\/streams/.test(url)) return 'HTTP (Node + Fastify)';
  return undefined;
}

interface ThreadProfile {
  file: string;
  /** threadId in the file name: 0 the event loop, then the worker threads */
  thread: number;
  busyUs: number;
  stages: Map<string, number>;
}

/** Samples of one profile inside [from, to] (µs on the profiler's clock), by stage. */
function attribute(p: Profile & { startTime: number }, from: number, to: number): { busyUs: number; stages: Map<string, number> } {
  const parent = new Map<number, number>();
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stageCache = new Map<number, string>();
  const stage = (id: number): string => {
    const hit = stageCache.get(id);
    if (hit) return hit;
    let at: number | undefined = id;
    let s: string | undefined;
    while (at !== undefined && !(s = stageOf(byId.get(at)!.callFrame))) at = parent.get(at);
    const out = s ?? 'other JS (service, core, Node)';
    stageCache.set(id, out);
    return out;
  };
  const stages = new Map<string, number>();
  let busyUs = 0;
  let t = p.startTime;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (t < from || t > to) return;
    const s = stage(id);
    if (s === 'idle') return;
    stages.set(s, (stages.get(s) ?? 0) + dt);
    busyUs += dt;
  });
  return { busyUs, stages };
}

export async function profileRun(threads: string[]): Promise<{ load: Awaited<ReturnType<typeof runLoad>>; threads: ThreadProfile[]; cpu: Map<number, number>; names: Map<number, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'scitt-prof-'));
  const profDir = join(dir, 'prof');
  mkdirSync(profDir);
  mkdirSync(join(dir, 'ts'));
  try {
    const issuer = generateKey('P-256');
    const ts = await startService({ dataDir: join(dir, 'ts'), issuers: [publicKey(issuer)], args: ['--rate', '0', ...threads], env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profDir}` } });
    const pid = ts.proc.pid!;
    await warmUp(ts.url, issuer); // the worker threads start after THREADS_AFTER registrations
    const cpu0 = threadCpu(pid);
    const load = await runLoad({ url: ts.url, keyFile: writeIssuerKey(dir, issuer), connections: 16, warmupS: 1, durationS: 8, statements: 40_000 });
    const cpu1 = threadCpu(pid);
    if ((await ts.stop()) !== 0) throw new Error('service did not exit 0');
    // CPU per thread over the load, by kind: the event loop (tid = pid) and the worker threads
    const cpu = new Map<number, number>();
    const names = new Map<number, string>();
    for (const [tid, t] of cpu1) {
      cpu.set(tid, t.s - (cpu0.get(tid)?.s ?? 0));
      names.set(tid, tid === pid ? 'event loop' : t.name);
    }
    const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
    const main = files.find((f) => /\.0\.\d+\.cpuprofile$/.test(f));
    if (!main) throw new Error('no CPU profile of the event loop written');
    const read = (f: string) => JSON.parse(readFileSync(join(profDir, f), 'utf8')) as Profile & { startTime: number; endTime: number };
    // The load window: the last warm-up + duration seconds before the event loop's profile ended (SIGTERM), on one clock for all threads
    const m = read(main);
    const to = m.endTime;
    const from = to - 9.2e6;
    const out: ThreadProfile[] = files.map((f) => {
      const { busyUs, stages } = attribute(f === main ? m : read(f), from, to);
      return { file: f, thread: Number(/\.(\d+)\.\d+\.cpuprofile$/.exec(f)![1]), busyUs, stages };
    });
    return { load, threads: out, cpu, names };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function report(name: string, r: Awaited<ReturnType<typeof profileRun>>): void {
  const n = Math.max(1, r.load.acceptedTotal);
  const us = (s: number) => `${Math.round((s * 1e6) / n)} µs`;
  let loop = 0;
  let workers = 0;
  let other = 0;
  for (const [tid, s] of r.cpu) {
    const kind = r.names.get(tid);
    if (kind === 'event loop') loop += s;
    else if (kind === 'WorkerThread') workers += s;
    else other += s;
  }
  title(`  ${name}`);
  row('registrations/s during the profile', fmt(r.load.acceptedPerSec), `p99 ${r.load.latencyMs.accepted.p99} ms (profiling slows it)`);
  row('CPU per registration: all threads', us(loop + workers + other), `event loop ${us(loop)}, worker threads ${us(workers)}, V8's GC and compiler threads, the profiler, libuv ${us(other)}`);
  // Each JS thread's profile split scaled to the CPU that kind of thread used: the event loop, the workers together.
  const stages = new Map<string, number>();
  const add = (profiles: ThreadProfile[], cpuS: number) => {
    const busy = profiles.reduce((a, p) => a + p.busyUs, 0);
    if (busy === 0) return;
    for (const p of profiles) for (const [s, t] of p.stages) stages.set(s, (stages.get(s) ?? 0) + (t / busy) * cpuS);
  };
  add(r.threads.filter((t) => t.thread === 0), loop);
  add(r.threads.filter((t) => t.thread !== 0), workers);
  const loopProfile = r.threads.find((t) => t.thread === 0)!;
  const total = [...stages.values()].reduce((a, b) => a + b, 0);
  for (const [stage, s] of [...stages].sort((a, b) => b[1] - a[1])) {
    const onLoop = loopProfile.busyUs > 0 ? ((loopProfile.stages.get(stage) ?? 0) / loopProfile.busyUs) * loop : 0;
    row(`  ${stage}`, us(s), `${((s / total) * 100).toFixed(1)}% of JS-thread CPU; on the event loop ${us(onLoop)}`);
  }
}

export async function bench(): Promise<void> {
  title('Transparency Service CPU per registration by stage (16 clients, separate load process, 8 s)');
  report('event loop only (--threads 0)', await profileRun(['--threads', '0']));
  report('commit thread (--threads 1)', await profileRun(['--threads', '1']));
  report('commit thread + 1 verification thread (--threads 2)', await profileRun(['--threads', '2']));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
