/**
 * Crash safety of the Transparency Service as users run it (`scitt serve`, a real child process):
 * SIGKILL under concurrent registration load (test/helpers/ts-crash.ts checks every restart), during
 * the first start (key generation and the initial policy), and right after a policy update.
 * The long version: `node test/load/crash-soak.ts --kills 200`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateKey, loadKey, publicKey, toPem, type CoseKey } from '@scitt-actions/core';
import { keySigner, thumbprint, toJwk } from '@scitt-actions/core/cose';
import { statementEntry, verifyReceipt } from '@scitt-actions/core/receipt';
import { createSignedStatement, parseSignedStatement, verifySignedStatement } from '@scitt-actions/core/statement';
import { LogDatabase } from '../src/database.ts';
import { KEY_FILE } from '../src/service-key.ts';
import { SCITT_MAIN, startService, writePolicy } from '../../../test/helpers/transparency-service.ts';
import { crashCycles } from '../../../test/helpers/ts-crash.ts';
import { compileCacheEnv } from '../../../test/helpers/ts-process.ts';
import { fetchTreeHead, kidsOf, serviceKeys } from '../../../test/helpers/ts-tools.ts';

const issuer = generateKey('P-256');
let n = 0;
const statementBy = (key: CoseKey) =>
  createSignedStatement({ payload: new TextEncoder().encode(`{"crash":${n++}}`), contentType: 'application/json', signer: keySigner(key), iss: 'https://issuer.example', sub: `pkg:generic/crash@${n}`, kid: thumbprint(key) });
const post = (url: string, body: Uint8Array) => fetch(`${url}/entries`, { method: 'POST', body, headers: { 'Content-Type': 'application/cose' }, redirect: 'manual' });

describe('SIGKILL under sustained registration load', () => {
  it('survives 20 kills at random moments: receipts, tree heads, key, no duplicates, registration continues', async () => {
    const t0 = performance.now();
    const report = await crashCycles({ kills: 20, clients: 6, minMs: 100, maxMs: 450, issuer, issuerPem: toPem(issuer, { includePrivate: true }) });
    const s = (performance.now() - t0) / 1000;
    process.stdout.write(
      `crash: ${report.kills} kills in ${s.toFixed(1)} s; ${report.acknowledged} acknowledged registrations, ${report.inDoubt} in doubt at a kill ` +
        `(${report.inDoubtCommitted} had committed), ${report.treeHeads} tree heads, ${report.consistencyChecks} consistency proofs, ` +
        `final tree ${report.finalTreeSize}, restart median ${Math.round([...report.restartMs].sort((a, b) => a - b)[report.restartMs.length >> 1]!)} ms\n`,
    );
    rmSync(report.dataDir, { recursive: true, force: true });
    expect(report.kills).toBeGreaterThanOrEqual(20);
    expect(report.acknowledged).toBeGreaterThan(report.kills * 10);
    expect(report.consistencyChecks).toBeGreaterThan(report.kills);
  }, 60_000);
});

/** `scitt serve` without waiting for anything: for killing it early. */
function spawnServe(dataDir: string, extra: string[] = [], env: Record<string, string> = {}) {
  const proc = spawn(process.execPath, [SCITT_MAIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--data', dataDir, ...extra], { stdio: 'pipe', env: { ...process.env, ...env } });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', () => undefined);
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  return { proc, exited, url: () => out.split('\n')[0]!.trim() };
}

describe('SIGKILL during the first start', () => {
  it('a kill while the key is generated leaves no key or a whole one; then one stable key', async () => {
    const policyDir = mkdtempSync(join(tmpdir(), 'scitt-crash-policy-'));
    const policy = writePolicy(policyDir, [publicKey(issuer)]);
    const dir = mkdtempSync(join(tmpdir(), 'scitt-crash-first-'));
    const keyPath = join(dir, KEY_FILE);
    const env = compileCacheEnv();
    let keyPem: string | undefined;
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const s = spawnServe(dir, ['--policy', policy], env);
      if (i < 4) {
        // the first file the service creates is the temporary key: kill as soon as anything appears
        await new Promise<void>((res) => {
          const w = watch(dir, () => {
            w.close();
            s.proc.kill('SIGKILL');
            res();
          });
          void s.exited.then(() => (w.close(), res()));
          setTimeout(() => (w.close(), s.proc.kill('SIGKILL'), res()), 5_000).unref();
        });
      } else {
        await new Promise((r) => setTimeout(r, randomInt(150, 700)));
        s.proc.kill('SIGKILL');
      }
      await s.exited;
      if (existsSync(keyPath)) {
        const pem = readFileSync(keyPath, 'utf8');
        expect(() => loadKey(pem)).not.toThrow(); // never a torn key
        if (keyPem !== undefined) expect(pem).toBe(keyPem); // once written, never replaced
        keyPem = pem;
        outcomes.push(existsSync(join(dir, 'log.sqlite')) ? 'key+db' : 'key');
      } else outcomes.push('no key');
    }
    process.stdout.write(`first-start kills: ${outcomes.join(', ')}; leftovers: ${readdirSync(dir).filter((f) => f.includes('.tmp')).join(', ') || 'none'}\n`);

    const first = await startService({ dataDir: dir, args: ['--policy', policy], env });
    const kid = kidsOf(await serviceKeys(first.url));
    const key = loadKey(readFileSync(keyPath, 'utf8'));
    expect(kid).toEqual([Buffer.from(thumbprint(key)).toString('hex')]);
    if (keyPem !== undefined) expect(readFileSync(keyPath, 'utf8')).toBe(keyPem);
    const statement = await statementBy(issuer);
    const r = await post(first.url, statement);
    expect(r.status).toBe(201);
    const receipt = new Uint8Array(await r.arrayBuffer());
    expect(await first.stop()).toBe(0);
    const second = await startService({ dataDir: dir, env });
    try {
      const keys = await serviceKeys(second.url);
      expect(kidsOf(keys)).toEqual(kid);
      verifyReceipt(receipt, statementEntry(statement), keys);
      expect((await post(second.url, await statementBy(issuer))).status).toBe(201);
      // the initial policy is on the log exactly once however often the first start was killed
      const db = LogDatabase.openReader(dir);
      try {
        expect(Number((db.db.prepare('SELECT COUNT(*) AS n FROM policies').get() as { n: number }).n)).toBe(1);
      } finally {
        db.close();
      }
    } finally {
      await second.stop();
      rmSync(dir, { recursive: true, force: true });
      rmSync(policyDir, { recursive: true, force: true });
      rmSync(env.NODE_COMPILE_CACHE, { recursive: true, force: true });
    }
  }, 40_000);
});

describe('SIGKILL right after a policy update', () => {
  it('after restart the policy in force is the old or the new one, its entry is on the log, and it is what is enforced', async () => {
    const a = generateKey('P-256');
    const b = generateKey('P-256');
    const policyFor = (k: CoseKey) => JSON.stringify({ issuers: [{ name: 'only', key: toJwk(publicKey(k)) }] });
    const token = 'admin-crash-token';
    const env = { SCITT_TS_ADMIN_TOKEN: token, ...compileCacheEnv() };
    let ts = await startService({ issuers: [publicKey(a)], env, args: ['--iss', 'https://ts.crash.test'] });
    const dir = ts.dataDir;
    const kid = kidsOf(await serviceKeys(ts.url));
    const trusted = (p: { policy: { issuers: { key: { x?: string } }[] } }) => {
      const x = p.policy.issuers[0]?.key.x;
      return x === toJwk(publicKey(a)).x ? 'a' : x === toJwk(publicKey(b)).x ? 'b' : 'other';
    };
    const outcomes: string[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        const before = (await (await fetch(`${ts.url}/policy`)).json()) as { policy: { issuers: { key: { x?: string } }[] }; leafIndex: number };
        const old = trusted(before);
        const wanted = old === 'a' ? 'b' : 'a';
        const sent = fetch(`${ts.url}/policy`, { method: 'POST', body: policyFor(wanted === 'a' ? a : b), headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` } }).then(
          async (r) => ({ status: r.status, body: (await r.json()) as { entryId: string; leafIndex: number } }),
          () => undefined,
        );
        // kill at once, a little later, or just after the answer
        if (i % 3 === 2) await sent;
        else await new Promise((r) => setTimeout(r, randomInt(0, 6)));
        await ts.kill();
        const answer = await sent;
        ts = await startService({ dataDir: dir, env, args: ['--iss', 'https://ts.crash.test'] });
        const keys = await serviceKeys(ts.url);
        expect(kidsOf(keys)).toEqual(kid);
        const now = (await (await fetch(`${ts.url}/policy`)).json()) as { policy: { issuers: { key: { x?: string } }[] }; leafIndex: number; default: boolean };
        const inForce = trusted(now);
        expect([old, wanted]).toContain(inForce);
        if (answer?.status === 201) {
          expect(inForce).toBe(wanted); // acknowledged, so committed
          expect(now.leafIndex).toBe(answer.body.leafIndex);
        }
        outcomes.push(`${answer?.status ?? 'killed'}→${inForce === wanted ? 'new' : 'old'}`);
        // the policy in force is an entry on the log: a statement by the service key carrying exactly this policy
        const db = LogDatabase.openReader(dir);
        let entry;
        try {
          entry = db.entryByIndex(now.leafIndex);
        } finally {
          db.close();
        }
        expect(entry).toBeDefined();
        const serviceKey = [...keys][0]!.key;
        verifySignedStatement(entry!.statement, serviceKey);
        expect(JSON.parse(new TextDecoder().decode(parseSignedStatement(entry!.statement).sign1.payload!))).toEqual(now.policy);
        const id = createHash('sha256').update(statementEntry(entry!.statement)).digest('hex');
        const served = await fetch(`${ts.url}/entries/${id}`);
        expect(served.status).toBe(200);
        expect(verifyReceipt(new Uint8Array(await served.arrayBuffer()), statementEntry(entry!.statement), keys).leafIndex).toBe(now.leafIndex);
        expect((await fetchTreeHead(ts.url, keys))!.head.treeSize).toBeGreaterThan(now.leafIndex);
        // and it is the policy enforced
        const good = await post(ts.url, await statementBy(inForce === 'a' ? a : b));
        const bad = await post(ts.url, await statementBy(inForce === 'a' ? b : a));
        expect([good.status, bad.status]).toEqual([201, 400]);
      }
    } finally {
      await ts.stop();
      rmSync(dir, { recursive: true, force: true });
      rmSync(env.NODE_COMPILE_CACHE, { recursive: true, force: true });
    }
    process.stdout.write(`policy kills: ${outcomes.join(', ')}\n`);
  }, 40_000);
});
