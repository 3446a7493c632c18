/**
 * The one-file CLI: `./dev bundle` builds dist/scitt.mjs, which alone, copied into an empty directory,
 * runs the whole release flow (serve included) on the oldest Node it supports (22) and verifies offline.
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { NODE22_PIN, ROOT, nodeBinary, releaseFlow, run } from '../helpers/packaging.ts';
import { BEGIN, END } from '../../scripts/one-file-format.ts';

let node22: string;
const dir = mkdtempSync(join(tmpdir(), 'scitt-one-file-'));

beforeAll(async () => {
  const built = await run(process.execPath, [join(ROOT, 'scripts', 'bundle.ts'), '--cli'], { cwd: ROOT });
  expect(built.code, built.stderr).toBe(0);
  copyFileSync(join(ROOT, 'dist', 'scitt.mjs'), join(dir, 'scitt.mjs'));
  node22 = await nodeBinary(NODE22_PIN);
}, 300_000);

describe('scitt.mjs', () => {
  it('carries no path of the machine that built it (the launcher gives the CLI its own file and directory at run time)', () => {
    const text = readFileSync(join(dir, 'scitt.mjs'), 'utf8');
    expect(text.includes(ROOT)).toBe(false);
    // the CLI is one comment after the launcher, which V8 skips for --version
    expect(text.indexOf(BEGIN)).toBeLessThan(8192);
    expect(text.endsWith(END)).toBe(true);
  });
  it('alone in an empty directory on Node 22: keygen, serve, statement, register, attach, verify, and a tampered artifact refused', async () => {
    expect((await run(node22, [join(dir, 'scitt.mjs'), '--version'], { cwd: dir })).stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8')).version);
    const flow = await releaseFlow({ cmd: node22, args: [join(dir, 'scitt.mjs')] }, dir, {});
    for (const name of ['keygen', 'create', 'register', 'attach', 'keys', 'health', 'verify']) expect(flow[name]!.code, `${name}: ${flow[name]!.stderr}`).toBe(0);
    expect(flow.tampered!.code).toBe(1);
    expect(flow.tampered!.stdout + flow.tampered!.stderr).toMatch(/ERR_SUBJECT_MISMATCH/);
  }, 120_000);
  it("keeps V8's code cache only in a directory of the user's that no one else can write, and runs the same with or without it", async () => {
    const verify = (cacheHome: string) => run(process.execPath, [join(dir, 'scitt.mjs'), 'verify', 'app.tar.scitt', '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'issuer.pub.pem', '--artifact', 'app.tar'], { cwd: dir, env: { XDG_CACHE_HOME: cacheHome } });
    const home = mkdtempSync(join(tmpdir(), 'scitt-cache-'));
    const cold = await verify(home);
    expect(cold.code, cold.stderr).toBe(0);
    expect(cold.stderr).toBe('');
    const entries = readdirSync(join(home, 'scitt')).filter((f) => f.endsWith('.v8cache'));
    expect(entries).toHaveLength(1);
    expect(statSync(join(home, 'scitt')).mode & 0o777).toBe(0o700);
    expect(statSync(join(home, 'scitt', entries[0]!)).mode & 0o777).toBe(0o600);
    expect(await verify(home)).toEqual(cold);
    // a cache V8 cannot use (here: garbage) is rejected, compiled afresh and replaced
    writeFileSync(join(home, 'scitt', entries[0]!), 'not a code cache');
    expect(await verify(home)).toEqual(cold);
    expect(statSync(join(home, 'scitt', entries[0]!)).size).toBeGreaterThan(1024);
    // a directory others can write is never read nor written: another user could have planted code there
    if (process.platform !== 'win32') {
      const shared = mkdtempSync(join(tmpdir(), 'scitt-cache-'));
      mkdirSync(join(shared, 'scitt'));
      chmodSync(join(shared, 'scitt'), 0o777);
      expect(await verify(shared)).toEqual(cold);
      expect(readdirSync(join(shared, 'scitt'))).toEqual([]);
    }
  }, 60_000);
});
