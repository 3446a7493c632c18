/**
 * The one-file CLI: `./dev bundle` builds dist/scitt.mjs, which alone, copied into an empty directory,
 * runs the whole release flow (serve included) on the oldest Node it supports (22) and verifies offline.
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { NODE22_PIN, ROOT, nodeBinary, releaseFlow, run } from '../helpers/packaging.ts';
import { BEGIN, ENTRY, readIndex } from '../../scripts/one-file-format.ts';

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
    // the CLI's modules are comments after the launcher, which V8 skips for --version, with their index last
    expect(text.indexOf(BEGIN)).toBeLessThan(8192);
    expect(Object.keys(readIndex(text.slice(-65536), Buffer.byteLength(text)))).toContain(ENTRY);
    // ASCII throughout: a single byte beyond it and node decodes the whole file to a two-byte string
    expect(readFileSync(join(dir, 'scitt.mjs')).findIndex((b) => b > 0x7f)).toBe(-1);
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
    // one entry per module the command compiled
    const entries = readdirSync(join(home, 'scitt')).filter((f) => f.endsWith('.v8cache'));
    expect(entries.length).toBeGreaterThan(1);
    expect(statSync(join(home, 'scitt')).mode & 0o777).toBe(0o700);
    for (const e of entries) expect(statSync(join(home, 'scitt', e)).mode & 0o777).toBe(0o600);
    expect(await verify(home)).toEqual(cold);
    expect(readdirSync(join(home, 'scitt')).filter((f) => f.endsWith('.v8cache')).sort()).toEqual([...entries].sort());
    // a cache V8 cannot use (here: garbage) is rejected, compiled afresh and replaced
    for (const e of entries) writeFileSync(join(home, 'scitt', e), 'not a code cache');
    expect(await verify(home)).toEqual(cold);
    for (const e of entries) expect(readFileSync(join(home, 'scitt', e), 'latin1')).not.toBe('not a code cache');
    // a directory others can write is never read nor written: another user could have planted code there
    if (process.platform !== 'win32') {
      const shared = mkdtempSync(join(tmpdir(), 'scitt-cache-'));
      mkdirSync(join(shared, 'scitt'));
      chmodSync(join(shared, 'scitt'), 0o777);
      expect(await verify(shared)).toEqual(cold);
      expect(readdirSync(join(shared, 'scitt'))).toEqual([]);
    }
  }, 60_000);
  it('verify with a key file compiles only its own modules: none of the libraries core loads on first use but packageurl-js, a small part of the CLI', async () => {
    // lists each module the launcher compiles (vm.Script, filename FILE/MODULE) and its size
    writeFileSync(join(dir, 'trace.cjs'), "const vm = require('node:vm'); const S = vm.Script; vm.Script = function (code, o) { process._rawDebug('COMPILED ' + o.filename.split('/').pop() + ' ' + code.length); return new S(code, o); };\n");
    const r = await run(process.execPath, ['-r', join(dir, 'trace.cjs'), join(dir, 'scitt.mjs'), 'verify', 'app.tar.scitt', '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'issuer.pub.pem'], { cwd: dir, env: { NODE_DISABLE_COMPILE_CACHE: '1' } });
    expect(r.code, r.stderr).toBe(0);
    const compiled = [...r.stderr.matchAll(/^COMPILED (\S+) (\d+)$/gm)].map((m) => ({ name: m[1]!, size: Number(m[2]) }));
    expect(compiled.map((m) => m.name)).toContain(ENTRY);
    expect(compiled.map((m) => m.name).filter((n) => n.startsWith('lazy-'))).toEqual(['lazy-packageurl-js.mjs']);
    expect(compiled.reduce((sum, m) => sum + m.size, 0)).toBeLessThan(statSync(join(dir, 'scitt.mjs')).size / 8);
  }, 60_000);
});
