/**
 * Debian's PostgreSQL 15 as a real server for tests: initdb in a temporary directory, postgres
 * listening on loopback on a free port, trust authentication for one role (scitt). PostgreSQL refuses
 * to run as root, so under uid 0 the server and its tools run as the system user postgres (spawn's
 * uid/gid, the same as runuser without an intermediate process, so SIGKILL reaches the postmaster);
 * as any other user they run as that user.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey, toPem } from '@scitt-actions/core';
import type { CrashStore } from './ts-crash.ts';

export const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface PostgresServer {
  /** postgres://scitt@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  /** the cluster's data directory */
  dataDir: string;
  proc: ChildProcess;
  /** the server's own log */
  log: () => string;
  /** fast shutdown (SIGINT) and wait */
  stop(): Promise<void>;
  /** SIGKILL the postmaster: a crash of the machine's database */
  kill(): Promise<void>;
  /** SIGKILL the postmaster and every process it started at the same moment: the machine is lost */
  crash(): Promise<void>;
}

/** uid/gid to run PostgreSQL as: postgres under root, else nothing to change. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root and there is no postgres user to run PostgreSQL as (it refuses to run as root)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

function tool(name: string, args: string[], who: { uid: number; gid: number } | undefined): string {
  const r = spawnSync(join(PG_BIN, name), args, { encoding: 'utf8', ...(who ?? {}) });
  if (r.status !== 0) throw new Error(`${name} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A fresh temporary directory the PostgreSQL user owns. */
function pgTempDir(prefix = 'scitt-pg-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const who = runAs();
  if (who) chownSync(dir, who.uid, who.gid);
  return dir;
}

export interface StartPostgresOptions {
  /** an existing cluster directory (e.g. a standby made by pg_basebackup); default: initdb a new one */
  dataDir?: string;
  port?: number;
  /** extra postgresql.conf settings, as -c NAME=VALUE */
  settings?: Record<string, string>;
}

/** initdb (unless given a cluster) and start postgres; resolves once it accepts connections. */
export async function startPostgres(o: StartPostgresOptions = {}): Promise<PostgresServer> {
  if (!existsSync(join(PG_BIN, 'postgres'))) throw new Error(`PostgreSQL 15 is not installed at ${PG_BIN} (Debian: apt-get install postgresql-15)`);
  const who = runAs();
  let dataDir = o.dataDir;
  if (!dataDir) {
    dataDir = join(pgTempDir(), 'data');
    tool('initdb', ['-D', dataDir, '-U', 'scitt', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], who);
    // replication connections from loopback for standby tests (trust, like every other connection here)
    writeFileSync(join(dataDir, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n');
  }
  const port = o.port ?? (await freePort());
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    fsync: 'on',
    synchronous_commit: 'on',
    max_connections: '200',
    shared_buffers: '64MB',
    ...o.settings,
  };
  const args = ['-D', dataDir, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const proc = spawn(join(PG_BIN, 'postgres'), args, { stdio: ['ignore', 'pipe', 'pipe'], ...(who ?? {}) });
  let log = '';
  proc.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  const url = `postgres://scitt@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`postgres exited (${proc.exitCode}) before accepting connections:\n${log}`);
    const r = spawnSync(join(PG_BIN, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'scitt', '-d', 'postgres'], { encoding: 'utf8' });
    if (r.status === 0) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`postgres did not accept connections within 30 s:\n${log}`);
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  return {
    url,
    port,
    dataDir,
    proc,
    log: () => log,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGINT');
      await exited;
    },
    async kill() {
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await exited;
    },
    async crash() {
      if (proc.exitCode === null && proc.pid !== undefined) {
        // Backends left alive after their postmaster could still commit what the standby never saw.
        const children = childrenOf(proc.pid);
        proc.kill('SIGKILL');
        for (const pid of children) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
      await exited;
    },
  };
}

/** Process ids whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/**
 * A streaming-replication standby of `primary` (pg_basebackup -R over loopback), started with
 * cluster_name `name`, which is the application_name the primary's synchronous_standby_names lists.
 * Resolves once the primary reports it as its synchronous standby.
 */
export async function startStandby(primary: PostgresServer, name: string): Promise<PostgresServer> {
  const dataDir = join(pgTempDir('scitt-pg-standby-'), 'data');
  tool('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'scitt', '-D', dataDir, '-R', '-X', 'stream', '-c', 'fast', '--no-sync'], runAs());
  const standby = await startPostgres({ dataDir, settings: { cluster_name: name } });
  const deadline = Date.now() + 30_000;
  while (sql(primary.url, `SELECT sync_state FROM pg_stat_replication WHERE application_name = '${name}'`)[0]?.[0] !== 'sync') {
    if (Date.now() > deadline) throw new Error(`standby ${name} did not become synchronous within 30 s:\n${standby.log()}`);
    await new Promise((res) => setTimeout(res, 50));
  }
  return standby;
}

/** Promotes a standby to primary and waits until it accepts writes. */
export function promote(standby: PostgresServer): void {
  const done = sql(standby.url, 'SELECT pg_promote(true, 30)')[0]?.[0];
  if (done !== 't') throw new Error(`pg_promote did not complete within 30 s:\n${standby.log()}`);
}

/** A replica's data directory holding the shared service key (a fresh one unless given), as an operator provisions it. */
export function replicaDataDir(keyPem = toPem(generateKey('P-256'), { includePrivate: true })): string {
  const dataDir = mkdtempSync(join(tmpdir(), 'scitt-pg-replica-'));
  writeFileSync(join(dataDir, 'service-key.pem'), keyPem, { mode: 0o600 });
  return dataDir;
}

/** Runs SQL through psql (no driver needed by the helpers); rows as arrays of text fields. */
export function sql(url: string, query: string): string[][] {
  const r = spawnSync(join(PG_BIN, 'psql'), [url, '-X', '-A', '-t', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', query], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql: ${query}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}

/** The PostgreSQL store for the crash cycles (test/helpers/ts-crash.ts): the URL, the shared key, its audit. */
export function postgresCrashStore(url: string, keyPem: string): CrashStore {
  const dataDir = replicaDataDir(keyPem);
  return {
    args: ['--store', url],
    dataDir,
    async settled() {
      const deadline = Date.now() + 30_000;
      while (Number(sql(url, 'SELECT COUNT(*) FROM pending')[0]![0]) > 0) {
        if (Date.now() > deadline) throw new Error('pending registrations were not integrated within 30 s of the restart');
        await new Promise((res) => setTimeout(res, 50));
      }
    },
    async audit() {
      const rows = sql(url, "SELECT encode(entry_id, 'hex'), leaf_index FROM entries");
      const size = Number(sql(url, 'SELECT COALESCE(MAX(tree_size), 0) FROM batches')[0]![0]);
      const duplicates = Number(sql(url, 'SELECT COUNT(*) FROM (SELECT entry_id FROM entries GROUP BY entry_id HAVING COUNT(*) > 1) d')[0]![0]);
      return { rows: rows.length, size, duplicates, leafOf: new Map(rows.map(([id, leaf]) => [id!, Number(leaf)])) };
    },
  };
}
