/**
 * Where the service's time goes under the registration benchmark's load (16 clients from a separate
 * load process, 8 s): a V8 CPU profile of `scitt serve` (--cpu-prof), each sample attributed to the
 * innermost frame on its stack that belongs to one stage — HTTP, CBOR, statement parsing, signature
 * verification (the policy's issuer check), signing (receipts, tree heads), Merkle, SQLite (including
 * the COMMIT's fsync, which runs on the event loop), receipt assembly — or GC / idle / other.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKey, publicKey } from '@scitt-actions/core';
import { startService } from '../helpers/transparency-service.ts';
import { runLoad, writeIssuerKey } from '../helpers/ts-tools.ts';
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
  if (url.includes('transparency-service/src/log.ts')) return 'log: queue and batching';
  if (url.includes('transparency-service/src/server.ts') || url.includes('rate-limit')) return 'HTTP (Node + Fastify)';
  if (/internal\/process\/task_queues|internal\/timers|node:timers|promise/.test(url)) return 'promises, timers, microtasks';
  if (/fastify|find-my-way|avvio|light-my-request|node:_http|node:http|node:net|internal\/http|internal\/stream|node:stream|internal\/streams/.test(url)) return 'HTTP (Node + Fastify)';
  return undefined;
}

export async function bench(): Promise<void> {
  title('Transparency Service CPU profile under load (16 clients, separate load process, 8 s)');
  const dir = mkdtempSync(join(tmpdir(), 'scitt-prof-'));
  const profDir = join(dir, 'prof');
  mkdirSync(profDir);
  mkdirSync(join(dir, 'ts'));
  try {
    const issuer = generateKey('P-256');
    const ts = await startService({ dataDir: join(dir, 'ts'), issuers: [publicKey(issuer)], args: ['--rate', '0'], env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profDir}` } });
    const load = await runLoad({ url: ts.url, keyFile: writeIssuerKey(dir, issuer), connections: 16, warmupS: 1, durationS: 8, statements: 40_000 });
    if ((await ts.stop()) !== 0) throw new Error('service did not exit 0');
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('no CPU profile written');
    const p = JSON.parse(readFileSync(join(profDir, file), 'utf8')) as Profile;
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
    // Only the load window (the last warm-up + duration seconds before SIGTERM), not start-up.
    const totals = new Map<string, number>();
    const end = p.timeDeltas.reduce((a, b) => a + b, 0);
    const from = end - 9.2e6;
    let all = 0;
    let t = 0;
    p.samples.forEach((id, i) => {
      const dt = p.timeDeltas[i] ?? 0;
      t += dt;
      if (t < from) return;
      totals.set(stage(id), (totals.get(stage(id)) ?? 0) + dt);
      all += dt;
    });
    const busy = all - (totals.get('idle') ?? 0);
    row('registrations/s during the profile', fmt(load.acceptedPerSec), `p99 ${load.latencyMs.accepted.p99} ms (profiling slows it; on a loaded machine profile time includes time the thread waited for a core)`);
    row('event loop busy', `${((busy / all) * 100).toFixed(0)}%`, `of ${(all / 1e6).toFixed(1)} s profiled`);
    for (const [name, us] of [...totals].sort((a, b) => b[1] - a[1])) {
      if (name === 'idle') continue;
      row(`  ${name}`, `${((us / busy) * 100).toFixed(1)}% of busy`, `${(us / Math.max(1, load.acceptedTotal)).toFixed(0)} µs of event-loop time per registration`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
