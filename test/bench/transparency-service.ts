/**
 * The embedded Transparency Service under load, against the machine's own limits measured in the
 * same run and the same temporary directory:
 *  - raw fsync rate (append a small record + fsync) and bare node:sqlite with the service's pragmas
 *    (WAL, synchronous=FULL): one-row transactions/s, and rows/s in large transactions;
 *  - durable registrations/s with 16 concurrent clients from a separate load process
 *    (test/load/register-load.ts), every request a new statement, against the service started by the
 *    CLI (goal ≥ 5,000/s with p99 < 50 ms); the ratio to the raw fsync rate is what group commit buys.
 *    Three variants in the same run: everything on the event loop (--threads 0), the commit thread
 *    (--threads 1), and the commit thread with a statement-checking thread (--threads 2); for each, the service's CPU
 *    per registration on the event loop and on the worker threads (/proc), at full load and at 300/s
 *    offered (equal batch sizes), the figure that moves least on a shared machine. The load process
 *    speaks HTTP/1.1 on plain sockets and checks that every 201 carries a receipt. Where the time
 *    goes by stage, for the default layout: the profile printed after the variants (all layouts:
 *    ./dev bench ts-profile); what the machine can do at most with this stack: ./dev bench ts-ceiling;
 *  - proofs at 1,000,000 entries: a data dir built through the service's own batch-commit code
 *    (test/helpers/ts-build-log.ts), served by the CLI: GET /entries/{id} latency and SQLite node
 *    reads per inclusion proof (CountingNodeStore around the service's SqliteNodeStore).
 * Run alone: `node test/bench/transparency-service.ts` (about 3 minutes; needs ~0.5 GB in $TMPDIR).
 */
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { type CoseKey, generateKey, publicKey } from '@scitt-actions/core';
import { keySigner, thumbprint } from '@scitt-actions/core/cose';
import { createSignedStatement } from '@scitt-actions/core/statement';
import { CountingNodeStore, MerkleTree } from '@scitt-actions/core/merkle';
import { statementEntry, verifyReceipt } from '@scitt-actions/core/receipt';
import { LogDatabase } from '../../packages/transparency-service/src/database.ts';
import { THREADS_AFTER } from '../../packages/transparency-service/src/log.ts';
import { SqliteNodeStore } from '../../packages/transparency-service/src/sqlite-node-store.ts';
import { startService } from '../helpers/transparency-service.ts';
import { buildLog, entryIdAt } from '../helpers/ts-build-log.ts';
import { runLoad, serviceKeys, writeIssuerKey } from '../helpers/ts-tools.ts';
import { fmt, median, row, title } from './stats.ts';
import { profileRun, report } from './ts-profile.ts';

const ENTRIES = Number(process.env.SCITT_BENCH_ENTRIES ?? 1_000_000);
const ms = (x: number) => `${x.toFixed(2)} ms`;
/** registrations warmUp() makes (a multiple of its 16 at a time) */
const WARM_UP = Math.ceil(THREADS_AFTER / 16) * 16;
/** registrations/s offered for the CPU comparison at equal load */
const PACED = 300;

/** Rate of `fn` per second over `seconds`, median of `runs`. */
function rate(fn: () => void, { seconds = 1, runs = 3 } = {}): number {
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) {
      fn();
      n++;
    }
    rates.push(n / ((performance.now() - t0) / 1000));
  }
  return median(rates);
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
}

function baselines(dir: string): { fsync: number; txPerSec: number; rowsPerSec: number } {
  const fd = openSync(join(dir, 'fsync.bin'), 'a');
  const record = Buffer.alloc(128, 0x61);
  const fsync = rate(() => {
    writeSync(fd, record);
    fsyncSync(fd);
  });
  closeSync(fd);

  const db = new DatabaseSync(join(dir, 'bare.sqlite'));
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, k BLOB NOT NULL UNIQUE, v BLOB NOT NULL)');
  const insert = db.prepare('INSERT INTO t (id, k, v) VALUES (?, ?, ?)');
  const value = Buffer.alloc(256, 0x62);
  let id = 0;
  const key = () => {
    const k = Buffer.alloc(32);
    k.writeUInt32BE(id, 0);
    k.writeUInt32BE(randomInt(2 ** 32), 4);
    return k;
  };
  const txPerSec = rate(() => {
    db.exec('BEGIN IMMEDIATE');
    insert.run(id++, key(), value);
    db.exec('COMMIT');
  });
  const rows = 20_000;
  const rowRates: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    db.exec('BEGIN IMMEDIATE');
    for (let i = 0; i < rows; i++) insert.run(id++, key(), value);
    db.exec('COMMIT');
    rowRates.push(rows / ((performance.now() - t0) / 1000));
  }
  db.close();
  return { fsync, txPerSec, rowsPerSec: median(rowRates) };
}

/** CPU seconds (user + system) per thread of a process, by thread id, from /proc/<pid>/task/<tid>/stat. */
export function threadCpu(pid: number): Map<number, { name: string; s: number }> {
  const out = new Map<number, { name: string; s: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(Number(tid), { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), s: (Number(fields[11]) + Number(fields[12])) / 100 });
  }
  return out;
}

/** CPU used between two threadCpu() readings: the event loop (main thread), the worker threads, all. */
export function cpuBetween(pid: number, a: Map<number, { name: string; s: number }>, b: Map<number, { name: string; s: number }>): { loop: number; workers: number; all: number } {
  let all = 0;
  let workers = 0;
  for (const [tid, t] of b) {
    const d = t.s - (a.get(tid)?.s ?? 0);
    all += d;
    if (t.name === 'WorkerThread') workers += d;
  }
  return { loop: (b.get(pid)?.s ?? 0) - (a.get(pid)?.s ?? 0), workers, all };
}

/** How the service is started for one measurement: `--threads N` (0: everything on the event loop, as before threads). */
export const VARIANTS: { name: string; args: string[] }[] = [
  { name: 'event loop only (--threads 0)', args: ['--threads', '0'] },
  { name: 'commit thread (--threads 1, the default on 2 cores)', args: ['--threads', '1'] },
  { name: 'commit thread + 1 verification thread (--threads 2)', args: ['--threads', '2'] },
];

/** Registrations before the load, then a pause: the service starts its worker threads after THREADS_AFTER registrations. */
export async function warmUp(url: string, issuer: CoseKey): Promise<void> {
  const signer = keySigner(issuer);
  const kid = thumbprint(issuer);
  const tag = `${process.pid}-${Date.now()}`;
  for (let i = 0; i < THREADS_AFTER; i += 16) {
    await Promise.all(
      Array.from({ length: 16 }, async (_, k) => {
        const statement = await createSignedStatement({ payload: new TextEncoder().encode(`{"warm-up":${i + k}}`), contentType: 'application/json', signer, iss: 'https://issuer.example/load', sub: `pkg:generic/warm-up-${tag}@${i + k}`, kid });
        const r = await fetch(`${url}/entries`, { method: 'POST', headers: { 'content-type': 'application/cose' }, body: statement });
        if (r.status !== 201) throw new Error(`warm-up registration: ${r.status}`);
      }),
    );
  }
  await new Promise((res) => setTimeout(res, 2000));
}

async function registrations(dir: string, variant: { name: string; args: string[] }, n: number) {
  const issuer = generateKey('P-256');
  const dataDir = join(dir, `ts-${n}`);
  mkdirSync(dataDir);
  const ts = await startService({ dataDir, issuers: [publicKey(issuer)], args: ['--rate', '0', ...variant.args] }); // load from one address: no per-client limit
  try {
    const keyFile = writeIssuerKey(dir, issuer);
    const size = async () => ((await (await fetch(`${ts.url}/health`)).json()) as { treeSize: number }).treeSize;
    const before = await size();
    const pid = ts.proc.pid!;
    // The worker threads start after THREADS_AFTER registrations: made now, so they are up before the
    // load (which first spends seconds signing its statements)
    await warmUp(ts.url, issuer);
    // over the whole load: the service idles while the load process signs its statements, and the
    // warm-up's registrations count (acceptedTotal), so CPU ÷ acceptedTotal is CPU per registration
    const cpu0 = threadCpu(pid);
    const done = await runLoad({ url: ts.url, keyFile, connections: 16, warmupS: 2, durationS: 10, statements: 80_000, sample: 300 });
    const cpu = cpuBetween(pid, cpu0, threadCpu(pid));
    // The same at a rate every variant sustains, so the CPU per registration is compared at equal batch sizes
    const cpu1 = threadCpu(pid);
    const paced = await runLoad({ url: ts.url, keyFile, connections: 16, warmupS: 1, durationS: 6, rate: PACED, statements: PACED * 8 });
    const pacedCpu = cpuBetween(pid, cpu1, threadCpu(pid));
    const grown = (await size()) - before;
    if (done.reused > 0) throw new Error(`the load ran out of distinct statements (${done.reused} re-sent); raise --statements`);
    if (grown !== done.acceptedTotal + paced.acceptedTotal + WARM_UP) throw new Error(`the tree grew by ${grown} but ${done.acceptedTotal + paced.acceptedTotal} registrations (+ ${WARM_UP} warm-up) were acknowledged`);
    const keys = await serviceKeys(ts.url);
    for (const s of done.sample) verifyReceipt(Buffer.from(s.receipt, 'base64'), statementEntry(Buffer.from(s.statement, 'base64')), keys);
    const code = await ts.stop();
    if (code !== 0) throw new Error(`service exited ${code} on SIGTERM`);
    // Group commit: how many signed batches (one transaction, one fsync) held them.
    const db = LogDatabase.openReader(dataDir);
    const batches = Number((db.db.prepare('SELECT COUNT(*) AS n FROM batches').get() as { n: number }).n);
    db.close();
    return { load: done, grown, verified: done.sample.length, batches, cpu, paced, pacedCpu };
  } catch (e) {
    await ts.kill();
    throw e;
  }
}

async function proofs(dir: string) {
  const dataDir = join(dir, 'million');
  const built = await buildLog(dataDir, ENTRIES);
  const ts = await startService({ dataDir });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path: string) =>
    new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      request(new URL(path, ts.url), { agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      })
        .on('error', reject)
        .end();
    });
  try {
    const keys = await serviceKeys(ts.url);
    const latencies: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const leaf = randomInt(built.size);
      const t0 = performance.now();
      const r = await get(`/entries/${entryIdAt(built, leaf)}`);
      const dt = performance.now() - t0;
      if (r.status !== 200) throw new Error(`GET /entries for leaf ${leaf}: ${r.status}`);
      if (i >= 200) latencies.push(dt); // the first 200 warm up
      if (i % 10 === 0) {
        const statement = await get(`/entries/${entryIdAt(built, leaf)}/statement`);
        const v = verifyReceipt(r.body, statement.body, keys);
        if (v.leafIndex !== leaf) throw new Error(`receipt for leaf ${leaf} proves leaf ${v.leafIndex}`);
      }
    }
    // SQLite node lookups per proof, on the service's own reader and node store.
    const db = LogDatabase.openReader(dataDir);
    const counting = new CountingNodeStore(new SqliteNodeStore(db));
    const tree = new MerkleTree(counting);
    const reads: number[] = [];
    const hashes: number[] = [];
    const readsAtSize: number[] = [];
    const hashesAtSize: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const leaf = randomInt(built.size);
      const entry = db.entryByIndex(leaf)!;
      counting.reads = 0;
      const proof = tree.inclusionProof(leaf, entry.treeSize); // what GET /entries/{id} serves
      reads.push(counting.reads);
      hashes.push(proof.path.length);
      counting.reads = 0;
      const latest = tree.inclusionProof(leaf, built.size); // at the latest tree head
      readsAtSize.push(counting.reads);
      hashesAtSize.push(latest.path.length);
    }
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < 1000) {
      const leaf = randomInt(built.size);
      tree.inclusionProof(leaf, db.entryByIndex(leaf)!.treeSize);
      n++;
    }
    const proofsPerSec = n / ((performance.now() - t0) / 1000);
    db.close();
    return { built, latencies, reads, hashes, readsAtSize, hashesAtSize, proofsPerSec };
  } finally {
    agent.destroy();
    await ts.stop();
  }
}

export async function bench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'scitt-bench-ts-'));
  try {
    title('Transparency Service: durable registration and proofs (node:sqlite WAL, synchronous=FULL)');
    const base = baselines(dir);
    row('raw fsync: 128-byte append + fsync (baseline)', fmt(base.fsync));
    row('bare node:sqlite: one-row transaction', fmt(base.txPerSec, ' tx/s'), `${(base.txPerSec / base.fsync).toFixed(2)}× fsync`);
    row('bare node:sqlite: rows in 20,000-row transactions', fmt(base.rowsPerSec, ' rows/s'));

    // The variants run one after the other in this run: compare them with each other, not across runs
    // (on a shared machine the absolute rate moves; CPU per registration moves much less).
    const results = [];
    for (const [i, v] of VARIANTS.entries()) results.push({ v, reg: await registrations(dir, v, i) });
    for (const { v, reg } of results) {
      const l = reg.load;
      const errors = l.errors + Object.values(l.unexpected).reduce((a, b) => a + b, 0) + (l.byStatus['429'] ?? 0) + (l.byStatus['503'] ?? 0);
      const perReg = (s: number) => `${Math.round((s * 1e6) / Math.max(1, l.acceptedTotal))} µs`;
      title(`  ${v.name}`);
      row('registrations, 16 clients, separate load process', fmt(l.acceptedPerSec), `goal ≥ 5,000/s; ${(l.acceptedPerSec / base.fsync).toFixed(2)}× raw fsync rate; ${(l.acceptedPerSec / results[0]!.reg.load.acceptedPerSec).toFixed(2)}× ${results[0]!.v.name}`);
      row('  latency p50 / p99', `${ms(l.latencyMs.accepted.p50)} / ${ms(l.latencyMs.accepted.p99)}`, `goal p99 < 50 ms; max ${ms(l.latencyMs.accepted.max)}`);
      row('  errors (network, non-201)', String(errors), `${l.byStatus['201'] ?? 0} × 201 in ${(l.durationMs / 1000).toFixed(1)} s; tree +${reg.grown} = acknowledged + ${WARM_UP} warm-up; ${reg.verified} receipts verified`);
      const perBatch = (reg.grown + 1) / reg.batches;
      row('  registrations per commit (batch size, mean)', perBatch.toFixed(1), `${reg.batches} commits for ${reg.grown + 1} entries: ${fmt(l.acceptedPerSec / perBatch, ' fsync/s')} used of ${fmt(base.fsync)}`);
      row('  service CPU per registration: all threads', perReg(reg.cpu.all), `event loop ${perReg(reg.cpu.loop)}, worker threads ${perReg(reg.cpu.workers)}, other (GC, libuv) ${perReg(reg.cpu.all - reg.cpu.loop - reg.cpu.workers)}`);
      const pacedPerReg = (x: number) => `${Math.round((x * 1e6) / Math.max(1, reg.paced.acceptedTotal))} µs`;
      row(`  at ${PACED}/s offered: service CPU per registration`, pacedPerReg(reg.pacedCpu.all), `event loop ${pacedPerReg(reg.pacedCpu.loop)}, worker threads ${pacedPerReg(reg.pacedCpu.workers)}; p99 ${ms(reg.paced.latencyMs.accepted.p99)}`);
      row('  load process CPU per registration', `${Math.round((l.clientCpu * 1e6) / Math.max(1, l.acceptedPerSec))} µs`, `${l.clientCpu.toFixed(2)} cores: on 2 cores its share caps the service too`);
      row('  vs bare one-row sqlite transactions', `${(l.acceptedPerSec / base.txPerSec).toFixed(2)}×`, 'registrations/s ÷ committed-transactions/s');
    }

    // Where the CPU goes, by stage, in the default layout (all three layouts: ./dev bench ts-profile)
    report('profile of the default layout (--threads 1; V8 samples scaled to each thread kind\'s CPU)', await profileRun(['--threads', '1']));

    const p = await proofs(dir);
    row(`build ${p.built.size.toLocaleString('en-US')} entries through the batch-commit code`, `${(p.built.ms / 1000).toFixed(1)} s`, `${p.built.batches} batches, ${fmt(p.built.size / (p.built.ms / 1000), ' entries/s')}`);
    row(`GET /entries/{id} at ${p.built.size.toLocaleString('en-US')} entries, p50 / p99`, `${ms(percentile(p.latencies, 0.5))} / ${ms(percentile(p.latencies, 0.99))}`, `${p.latencies.length} random entries, one connection`);
    row('SQLite node reads per receipt proof: median / max', `${median(p.reads)} / ${Math.max(...p.reads)}`, `hashes per proof median ${median(p.hashes)} (at the entry's batch size)`);
    row(`  same leaves at the latest size ${p.built.size.toLocaleString('en-US')}: median / max`, `${median(p.readsAtSize)} / ${Math.max(...p.readsAtSize)}`, `hashes median ${median(p.hashesAtSize)}; ⌈log2 n⌉ = ${Math.ceil(Math.log2(p.built.size))}`);
    row('inclusion proofs from SQLite (reader connection)', fmt(p.proofsPerSec));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
