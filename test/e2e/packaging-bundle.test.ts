/**
 * The one-file CLI: `./dev bundle` builds dist/scitt.mjs, which alone, copied into an empty directory,
 * runs the whole release flow (serve included) on the oldest Node it supports (22) and verifies offline.
 */
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { NODE22_PIN, ROOT, nodeBinary, releaseFlow, run } from '../helpers/packaging.ts';

let node22: string;
const dir = mkdtempSync(join(tmpdir(), 'scitt-one-file-'));

beforeAll(async () => {
  const built = await run(process.execPath, [join(ROOT, 'scripts', 'bundle.ts'), '--cli'], { cwd: ROOT });
  expect(built.code, built.stderr).toBe(0);
  copyFileSync(join(ROOT, 'dist', 'scitt.mjs'), join(dir, 'scitt.mjs'));
  node22 = await nodeBinary(NODE22_PIN);
}, 300_000);

describe('scitt.mjs', () => {
  it('carries no path of the machine that built it (the __dirname banner derives paths at run time)', () => {
    const text = readFileSync(join(dir, 'scitt.mjs'), 'utf8');
    expect(text.includes(ROOT)).toBe(false);
    expect(text).toMatch(/const __dirname = __scittDirname\(__filename\)/);
  });
  it('alone in an empty directory on Node 22: keygen, serve, statement, register, attach, verify, and a tampered artifact refused', async () => {
    expect((await run(node22, [join(dir, 'scitt.mjs'), '--version'], { cwd: dir })).stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8')).version);
    const flow = await releaseFlow({ cmd: node22, args: [join(dir, 'scitt.mjs')] }, dir, {});
    for (const name of ['keygen', 'create', 'register', 'attach', 'keys', 'health', 'verify']) expect(flow[name]!.code, `${name}: ${flow[name]!.stderr}`).toBe(0);
    expect(flow.tampered!.code).toBe(1);
    expect(flow.tampered!.stdout + flow.tampered!.stderr).toMatch(/ERR_SUBJECT_MISMATCH/);
  }, 120_000);
});
