/**
 * Storage faults under the Transparency Service (`scitt serve` as a child process):
 *  - disk full: the data directory on a 2 MiB tmpfs (needs root: mount), and — everywhere — the
 *    service under RLIMIT_FSIZE (a shell lowers `ulimit -f` and ignores SIGXFSZ, so writes past the
 *    limit fail with EFBIG). Registrations until writes fail: only 201 or 503 with Retry-After; every
 *    201 receipt verifies and is served again after moving the directory to a roomy disk; nothing
 *    answered 503 is on the log; the tree holds exactly the acknowledged entries.
 *  - read-only data directory (a read-only bind mount, and 0500/0400 permissions for an unprivileged
 *    user — as root, permissions alone do not stop writes): the service refuses to start, names the
 *    database and says why on stderr, exits non-zero; nothing is registered. The PostgreSQL store's
 *    counterpart: a database that takes read-only sessions only (the same refusal).
 *  - a corrupted database page after a clean stop (which leaves everything in log.sqlite, no WAL):
 *    refuses to start, naming the file and what to do.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, cpSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as cbor from '@scitt-actions/core/cbor';
import { generateKey, publicKey, toPem } from '@scitt-actions/core';
import { keySigner, thumbprint } from '@scitt-actions/core/cose';
import { statementEntry, verifyReceipt } from '@scitt-actions/core/receipt';
import { createSignedStatement } from '@scitt-actions/core/statement';
import { DB_FILE } from '../src/database.ts';
import { type ServiceProcess, startService, writePolicy } from '../../../test/helpers/transparency-service.ts';
import { replicaDataDir, startPostgres } from '../../../test/helpers/postgres.ts';
import { runServeExpectingExit, spawnService } from '../../../test/helpers/ts-process.ts';
import { fetchTreeHead, kidsOf, serviceKeys } from '../../../test/helpers/ts-tools.ts';
import { generateStatements } from '../../../test/load/register-load.ts';

const issuer = generateKey('P-256');
const issuerPem = toPem(issuer, { includePrivate: true });
const isRoot = process.getuid?.() === 0;
const scratch = mkdtempSync(join(tmpdir(), 'scitt-faults-'));
const policyFile = writePolicy(scratch, [publicKey(issuer)]);
const mounts: string[] = [];
const entryId = (s: Uint8Array) => createHash('sha256').update(statementEntry(s)).digest('hex');
const post = (url: string, body: Uint8Array) => fetch(`${url}/entries`, { method: 'POST', body, headers: { 'Content-Type': 'application/cose' }, redirect: 'manual' });
let n = 0;
const statement = () =>
  createSignedStatement({ payload: new TextEncoder().encode(`{"fault":${n++}}`), contentType: 'application/json', signer: keySigner(issuer), iss: 'https://issuer.example', sub: `pkg:generic/fault@${n}`, kid: thumbprint(issuer) });

function canMount(): boolean {
  if (!isRoot) return false;
  const d = mkdtempSync(join(scratch, 'probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', d], { stdio: 'ignore' });
    execFileSync('umount', [d], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const mountable = canMount();

const serviceDirs: string[] = [];
afterAll(() => {
  for (const m of mounts.reverse()) {
    try {
      execFileSync('umount', [m], { stdio: 'ignore' });
    } catch {
      // already unmounted
    }
  }
  rmSync(scratch, { recursive: true, force: true });
  for (const d of serviceDirs) rmSync(d, { recursive: true, force: true });
});

function problemDetail(body: ArrayBuffer): string {
  const m = cbor.decode(new Uint8Array(body)) as Map<number, unknown>;
  return String(m.get(-2));
}

interface Filled {
  acked: Map<string, { statement: Uint8Array; receipt: Uint8Array }>;
  refused: { statement: Uint8Array; detail: string }[];
}

/** Registers from 8 clients until 150 answers in a row are refusals (or the pool or 25 s run out). */
async function fillUp(ts: ServiceProcess): Promise<Filled> {
  const pool = await generateStatements(issuerPem, 12_000, `fault-${Date.now()}`);
  const acked: Filled['acked'] = new Map();
  const refused: Filled['refused'] = [];
  let refusedInARow = 0;
  const deadline = performance.now() + 25_000;
  const client = async () => {
    while (refusedInARow < 150 && performance.now() < deadline) {
      const s = pool.pop();
      if (!s) return;
      const r = await post(ts.url, s);
      if (r.status === 201) {
        refusedInARow = 0;
        acked.set(entryId(s), { statement: s, receipt: new Uint8Array(await r.arrayBuffer()) });
      } else {
        // the only refusal allowed: 503 with Retry-After and a problem detail
        expect(r.status).toBe(503);
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
        refused.push({ statement: s, detail: problemDetail(await r.arrayBuffer()) });
        refusedInARow++;
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, client));
  return { acked, refused };
}

/** After the directory moved to a roomy disk: what the full disk acknowledged is there, nothing else. */
async function checkAfterMove(dir: string, kid: string[], { acked, refused }: Filled): Promise<void> {
  const ts = await startService({ dataDir: dir });
  try {
    const keys = await serviceKeys(ts.url);
    expect(kidsOf(keys)).toEqual(kid);
    const head = await fetchTreeHead(ts.url, keys);
    expect(head!.head.treeSize).toBe(acked.size + 1); // + the policy entry
    const all = [...acked.entries()];
    for (let i = 0; i < all.length; i += 16) {
      await Promise.all(
        all.slice(i, i + 16).map(async ([id, a]) => {
          const v = verifyReceipt(a.receipt, statementEntry(a.statement), keys);
          expect(v.treeSize).toBeLessThanOrEqual(head!.head.treeSize);
          const r = await fetch(`${ts.url}/entries/${id}`);
          expect(r.status).toBe(200);
          expect(Buffer.from(await r.arrayBuffer()).equals(Buffer.from(a.receipt))).toBe(true);
        }),
      );
    }
    for (const f of refused.slice(0, 200)) expect((await fetch(`${ts.url}/entries/${entryId(f.statement)}`)).status).toBe(404);
    // and with room again, registration continues: the refused statements now register
    for (const f of refused.slice(0, 20)) expect((await post(ts.url, f.statement)).status).toBe(201);
  } finally {
    expect(await ts.stop()).toBe(0);
  }
}

describe('disk full', () => {
  const cases: { name: string; enabled: boolean; setup: () => { dir: string; wrap?: string[] } }[] = [
    {
      name: 'data directory on a 2 MiB tmpfs',
      enabled: mountable,
      setup: () => {
        const dir = mkdtempSync(join(scratch, 'tmpfs-'));
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', dir]);
        mounts.push(dir);
        return { dir };
      },
    },
    {
      name: 'files limited to 1 MiB (RLIMIT_FSIZE, SIGXFSZ ignored)',
      enabled: process.platform === 'linux',
      setup: () => ({ dir: mkdtempSync(join(scratch, 'fsize-')), wrap: ['/bin/sh', '-c', 'trap "" XFSZ; ulimit -f 2048; exec "$@"', 'sh'] }),
    },
  ];
  for (const c of cases) {
    it.skipIf(!c.enabled)(`${c.name}: only 201 or 503, and every 201 survives a move to a bigger disk`, async () => {
      const { dir, wrap } = c.setup();
      const ts = await spawnService({ dataDir: dir, args: ['--policy', policyFile, '--rate', '0'], ...(wrap ? { wrap } : {}) });
      let filled: Filled;
      let kid: string[];
      try {
        kid = kidsOf(await serviceKeys(ts.url));
        filled = await fillUp(ts);
        // how many fit depends on batching (each commit appends its pages to a WAL that cannot outgrow the
        // limit): a faster service makes smaller batches, fewer entries. Dozens show it worked until full
        expect(filled.acked.size).toBeGreaterThan(50);
        expect(filled.refused.length).toBeGreaterThanOrEqual(150);
        expect(filled.refused[0]!.detail).toMatch(/could not commit.*(full|I\/O|too large)/i);
        // still serving what it has
        const some = [...filled.acked.keys()][0]!;
        expect((await fetch(`${ts.url}/entries/${some}`)).status).toBe(200);
        expect((await fetch(`${ts.url}/health`)).status).toBe(200);
      } finally {
        await ts.stop();
      }
      process.stdout.write(`${c.name}: ${filled.acked.size} acknowledged, then ${filled.refused.length} refused: "${filled.refused[0]!.detail}"\n`);
      const roomy = mkdtempSync(join(scratch, 'roomy-'));
      cpSync(dir, roomy, { recursive: true });
      await checkAfterMove(roomy, kid, filled);
    }, 60_000);
  }
});

describe('read-only data directory', () => {
  /** after a clean stop (all in log.sqlite) and after a kill (WAL and shared memory files left) */
  const sources: Record<'stopped' | 'killed', string> = { stopped: '', killed: '' };
  beforeAll(async () => {
    for (const how of ['stopped', 'killed'] as const) {
      const ts = await startService({ issuers: [publicKey(issuer)] });
      for (let i = 0; i < 20; i++) expect((await post(ts.url, await statement())).status).toBe(201);
      if (how === 'stopped') expect(await ts.stop()).toBe(0);
      else await ts.kill();
      expect(readdirSync(ts.dataDir).includes(`${DB_FILE}-wal`)).toBe(how === 'killed');
      sources[how] = ts.dataDir;
      serviceDirs.push(ts.dataDir);
    }
  });

  /** It must not start; and had it started, it must not have registered anything. */
  async function expectRefusal(dir: string, opts: { wrap?: string[]; args?: string[] } = {}) {
    const before = readdirSync(dir).sort();
    let registered = 0;
    const r = await runServeExpectingExit({ dataDir: dir, ...opts }, async (url) => {
      if ((await post(url, await statement())).status === 201) registered++;
    });
    expect(registered).toBe(0);
    expect(r.started).toBe(false);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toMatch(/not writable|read-only|permission denied|EROFS|EACCES|readonly/i);
    expect(readdirSync(dir).sort()).toEqual(before);
    return r;
  }

  it.skipIf(!mountable)('read-only bind mount of a data directory with a log: refuses to start, naming the database', async () => {
    const dir = mkdtempSync(join(scratch, 'robind-'));
    execFileSync('mount', ['--bind', sources.killed, dir]);
    mounts.push(dir);
    execFileSync('mount', ['-o', 'remount,bind,ro', dir]);
    const r = await expectRefusal(dir);
    expect(r.stderr).toContain(join(dir, DB_FILE));
    expect(r.stderr).toMatch(/not writable/);
  });

  it.skipIf(!mountable)('empty read-only data directory: refuses to start (cannot create its key)', async () => {
    const dir = mkdtempSync(join(scratch, 'roempty-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,ro', 'tmpfs', dir]);
    mounts.push(dir);
    const r = await expectRefusal(dir);
    expect(r.stderr).toContain(dir);
  });

  // The PostgreSQL store's counterpart: a database that takes read-only sessions only.
  it('PostgreSQL store, database read-only (default_transaction_read_only): refuses to start, naming the database', async () => {
    const db = await startPostgres({ settings: { default_transaction_read_only: 'on' } });
    try {
      for (const url of [db.url, `${db.url}?target_session_attrs=read-write`]) {
        const r = await expectRefusal(replicaDataDir(), { args: ['--store', url] });
        expect(r.stderr).toContain(`the PostgreSQL log database ${url} could not be opened`);
      }
    } finally {
      await db.stop();
    }
  });

  // Permissions bind everyone but root: as root, run the service as nobody.
  const asUser = isRoot ? ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  const canDrop = !isRoot || statSync('/usr/bin/setpriv', { throwIfNoEntry: false }) !== undefined;
  for (const how of ['stopped', 'killed'] as const) {
    it.skipIf(!canDrop)(`chmod 0500 directory, 0400 files (${how === 'stopped' ? 'after a clean stop, no WAL' : 'after a kill, WAL present'}): refuses to start`, async () => {
      const dir = mkdtempSync(join(scratch, 'chmod-'));
      cpSync(sources[how], dir, { recursive: true });
      for (const f of readdirSync(dir)) {
        if (isRoot) chownSync(join(dir, f), 65534, 65534);
        chmodSync(join(dir, f), 0o400);
      }
      if (isRoot) {
        chownSync(dir, 65534, 65534);
        chmodSync(scratch, 0o755);
      }
      chmodSync(dir, 0o500);
      try {
        const r = await expectRefusal(dir, { wrap: asUser });
        expect(r.stderr).toContain(join(dir, DB_FILE));
      } finally {
        chmodSync(dir, 0o700);
      }
    });
  }
});

describe('corrupted database', () => {
  let clean: string;
  beforeAll(async () => {
    const ts = await startService({ issuers: [publicKey(issuer)], args: ['--rate', '0'] });
    const statements = await generateStatements(issuerPem, 3000, `corrupt-${Date.now()}`);
    for (let i = 0; i < statements.length; i += 50) {
      const rs = await Promise.all(statements.slice(i, i + 50).map((s) => post(ts.url, s)));
      for (const r of rs) expect(r.status).toBe(201);
    }
    expect(await ts.stop()).toBe(0);
    // A clean stop leaves everything in log.sqlite (no WAL with newer copies of its pages), so the
    // bytes overwritten below are the ones SQLite reads.
    expect(readdirSync(ts.dataDir).filter((f) => f.startsWith(`${DB_FILE}-`))).toEqual([]);
    clean = ts.dataDir;
    serviceDirs.push(clean);
  });

  const pages = () => statSync(join(clean, DB_FILE)).size / 4096;
  const variants: [string, () => { offset: number; bytes: Buffer }][] = [
    ['a whole page of random bytes in the middle', () => ({ offset: Math.floor(pages() / 2) * 4096, bytes: randomBytes(4096) })],
    ['a page header in the middle zeroed', () => ({ offset: (Math.floor(pages() / 2) + 1) * 4096, bytes: Buffer.alloc(12) })],
    ['four pages in the middle zeroed', () => ({ offset: Math.floor(pages() / 3) * 4096, bytes: Buffer.alloc(4 * 4096) })],
    ['the first page (database header) overwritten', () => ({ offset: 0, bytes: randomBytes(100) })],
  ];
  for (const [name, corrupt] of variants) {
    it(`${name}: refuses to start, naming the file and what to do`, async () => {
      expect(pages()).toBeGreaterThan(100);
      const dir = mkdtempSync(join(scratch, 'corrupt-'));
      cpSync(clean, dir, { recursive: true });
      const { offset, bytes } = corrupt();
      const fd = openSync(join(dir, DB_FILE), 'r+');
      writeSync(fd, bytes, 0, bytes.length, offset);
      closeSync(fd);
      let served = 0;
      const r = await runServeExpectingExit({ dataDir: dir }, async (url) => {
        if ((await fetch(`${url}/tree-head`)).status === 200) served++;
      });
      expect(r.started).toBe(false);
      expect(served).toBe(0);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(join(dir, DB_FILE));
      expect(r.stderr).toMatch(/corrupt|not a database|malformed/i);
      expect(r.stderr).toMatch(/restore the data directory from a backup/);
    });
  }

  it('the clean copy still starts (the corruption, not the setup, is what is refused)', async () => {
    const dir = mkdtempSync(join(scratch, 'clean-'));
    cpSync(clean, dir, { recursive: true });
    const ts = await startService({ dataDir: dir });
    try {
      expect((await fetchTreeHead(ts.url, await serviceKeys(ts.url)))!.head.treeSize).toBe(3001);
    } finally {
      expect(await ts.stop()).toBe(0);
    }
  });
});
