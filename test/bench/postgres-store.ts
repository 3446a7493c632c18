/**
 * The two stores side by side, in one run on this machine (issue #18): durable registrations/s and
 * p99 from separate load processes (test/load/register-load.ts, 16 connections in all), against
 *  - the SQLite store (one `scitt serve`),
 *  - the PostgreSQL store with one replica, and with three replicas on one database (Debian's
 *    PostgreSQL 15 on loopback, fsync and synchronous_commit on; each replica its own load process).
 * Anchors from Tessera: POSIX about 2,900 writes/s on 12 cores; MySQL about 2,000 writes/s on an
 * e2-micro with CloudSQL. Goal here, on 2 shared cores: PostgreSQL within 2× of the SQLite store and
 * at least 500/s. Run alone: `./dev bench postgres-store` (about 2 minutes).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CoseKey, generateKey, publicKey, toPem } from '@scitt-actions/core';
import { PG_BIN, type PostgresServer, startPostgres } from '../helpers/postgres.ts';
import { type ServiceProcess, startService } from '../helpers/transparency-service.ts';
import { type LoadResult, runLoad, writeIssuerKey } from '../helpers/ts-tools.ts';
import { fmt, row, title } from './stats.ts';

const SECONDS = Number(process.env.SCITT_BENCH_SECONDS ?? 10);
const CONNECTIONS = 16;
const ms = (x: number) => `${x.toFixed(1)} ms`;

interface Run {
  perSec: number;
  p50: number;
  p99: number;
  errors: number;
}

function summarise(loads: LoadResult[]): Run {
  const errors = loads.reduce((n, l) => n + l.errors + Object.values(l.unexpected).reduce((a, b) => a + b, 0) + (l.byStatus['503'] ?? 0), 0);
  return {
    perSec: loads.reduce((n, l) => n + l.acceptedPerSec, 0),
    p50: Math.max(...loads.map((l) => l.latencyMs.accepted.p50)),
    p99: Math.max(...loads.map((l) => l.latencyMs.accepted.p99)),
    errors,
  };
}

async function measure(replicas: ServiceProcess[], keyFile: string): Promise<Run> {
  const per = Math.max(1, Math.floor(CONNECTIONS / replicas.length));
  return summarise(await Promise.all(replicas.map((r) => runLoad({ url: r.url, keyFile, connections: per, durationS: SECONDS, warmupS: 2, statements: 30_000 }))));
}

async function replicasOn(db: PostgresServer, database: string, n: number, keyPem: string, issuer: CoseKey): Promise<ServiceProcess[]> {
  const made = spawnSync(join(PG_BIN, 'createdb'), ['-h', '127.0.0.1', '-p', String(db.port), '-U', 'scitt', database], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`createdb ${database}: ${made.stderr}`);
  const url = db.url.replace(/\/postgres$/, `/${database}`);
  const replicas: ServiceProcess[] = [];
  // one after another: the first registers the policy, the others find it on the log
  for (let i = 0; i < n; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'scitt-bench-replica-'));
    writeFileSync(join(dir, 'service-key.pem'), keyPem, { mode: 0o600 });
    replicas.push(await startService({ dataDir: dir, ...(i === 0 ? { issuers: [publicKey(issuer)] } : {}), args: ['--store', url, '--iss', 'https://ts.example', '--rate', '0'] }));
  }
  return replicas;
}

export async function bench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'scitt-bench-pg-'));
  const issuer = generateKey('P-256');
  const keyFile = writeIssuerKey(dir, issuer);
  const keyPem = toPem(generateKey('P-256'), { includePrivate: true });
  let db: PostgresServer | undefined;
  const all: ServiceProcess[] = [];
  try {
    title(`Transparency Service stores side by side: durable registrations, ${CONNECTIONS} connections from separate load processes, ${SECONDS} s`);
    const sqlite = await startService({ issuers: [publicKey(issuer)], args: ['--rate', '0'] });
    all.push(sqlite);
    const s = await measure([sqlite], keyFile);
    await sqlite.stop();

    db = await startPostgres();
    const one = await replicasOn(db, 'bench1', 1, keyPem, issuer);
    all.push(...one);
    const p1 = await measure(one, keyFile);
    await Promise.all(one.map((r) => r.stop()));

    const three = await replicasOn(db, 'bench3', 3, keyPem, issuer);
    all.push(...three);
    const p3 = await measure(three, keyFile);
    await Promise.all(three.map((r) => r.stop()));

    const line = (label: string, r: Run, note: string) => row(label, fmt(r.perSec), `p50 ${ms(r.p50)}, p99 ${ms(r.p99)}; ${r.errors} errors/503; ${note}`);
    line('SQLite store (one process, one file)', s, 'the embedded default');
    line('PostgreSQL store, 1 replica', p1, `${((p1.perSec / s.perSec) * 100).toFixed(0)}% of SQLite`);
    line('PostgreSQL store, 3 replicas, one database', p3, `${((p3.perSec / s.perSec) * 100).toFixed(0)}% of SQLite; p50/p99: worst replica`);
    row('goal (Tessera anchors: POSIX ~2,900/s on 12 cores, MySQL ~2,000/s on e2-micro)', '≥ 500/s', 'on 2 shared cores, PostgreSQL within 2× of SQLite');
  } finally {
    await Promise.allSettled(all.map((r) => r.kill()));
    await db?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
