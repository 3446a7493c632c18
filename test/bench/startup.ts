/**
 * Start-up of the `scitt` command as users run it, against `node -e 0` measured in the same run:
 * the npm-installed bin (the packed packages installed with npm into .bench/install, as
 * test/e2e/packaging.test.ts does) and the one-file dist/scitt.mjs, each for `scitt --version` and
 * for `scitt verify` of a small Transparent Statement with a key file. Targets: --version within
 * 80 ms of the floor, verify within 200 ms. Medians of 15 runs: wall time, and CPU time (user + sys
 * of the child, from bash's `times`), which a loaded machine disturbs far less than wall time. Both
 * keep V8's compiled code in the user's cache directory (packages/cli/src/compile-cache.ts): verify is
 * measured without it, on a first run (an empty cache directory, which it then fills) and warm. The
 * rows are measured in interleaved rounds (each round runs the floor and every row once), so that a
 * load that comes and goes on a shared machine weighs on all rows alike.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, releaseFlow, run } from '../helpers/packaging.ts';
import { median, row, title } from './stats.ts';

const RUNS = 15;

/** bash's `times`: its children's user and system time, e.g. "0m0.071s 0m0.020s" */
const seconds = (t: string) => t.split(/\s+/).reduce((sum, x) => {
  const m = /^(\d+)m([\d.]+)s$/.exec(x);
  return m ? sum + Number(m[1]) * 60 + Number(m[2]) : sum;
}, 0);

/** One run of node with `args`: wall time, and CPU time of the child. `cache`: its XDG cache directory (the CLI's compiled-code cache), or none: caching off */
function startOnce(args: string[], cwd: string, cache?: string): { wall: number; cpu: number } {
  const env = { ...process.env, ...(cache ? { XDG_CACHE_HOME: cache } : { NODE_DISABLE_COMPILE_CACHE: '1' }) };
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', '"$@" > /dev/null 2>&1 || exit 3; times', 'bash', process.execPath, ...args], { cwd, encoding: 'utf8', env });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed`);
  return { wall, cpu: seconds(r.stdout.trim().split('\n')[1] ?? '') * 1000 };
}

/** The packed packages, npm-installed once into .bench/install (rebuilt when a source is newer). */
async function installed(): Promise<string> {
  const dir = join(ROOT, '.bench', 'install');
  const packs = join(ROOT, '.bench', 'packs');
  const check = (r: { code: number; stderr: string }, what: string) => {
    if (r.code !== 0) throw new Error(`${what}: ${r.stderr}`);
  };
  check(await run(process.execPath, [join(ROOT, 'scripts/build-packages.ts'), '--if-stale'], { cwd: ROOT }), 'build-packages');
  const bin = join(dir, 'node_modules', '@scitt-actions', 'cli', 'dist', 'main.js');
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(join(ROOT, 'packages/cli/dist/main.js')).mtimeMs) return dir;
  rmSync(packs, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // its own package.json: npm must not take the workspace above for the project
  writeFileSync(join(dir, 'package.json'), '{ "private": true }\n');
  for (const p of ['core', 'transparency-service', 'cli']) check(await run('pnpm', ['pack', '--pack-destination', packs], { cwd: join(ROOT, 'packages', p) }), `pack ${p}`);
  check(await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...readdirSync(packs).map((f) => join(packs, f))], { cwd: dir, timeout: 300_000 }), 'npm install');
  return dir;
}

export async function bench(): Promise<void> {
  title(`scitt start-up (medians of ${RUNS} runs: wall time, and CPU time; the floor is node -e 0 in the same run)`);
  const dir = await installed();
  // always rebuilt: a dist/scitt.mjs left from older sources would measure the wrong thing
  spawnSync(process.execPath, [join(ROOT, 'scripts/bundle.ts'), '--cli'], { stdio: 'ignore' });
  const bin = join(dir, 'node_modules', '@scitt-actions', 'cli', 'dist', 'main.js');
  // a small Transparent Statement, its service's keys and the issuer's key file, made by the installed CLI
  const work = mkdtempSync(join(ROOT, '.bench', 'startup-'));
  const flow = await releaseFlow({ cmd: process.execPath, args: [bin] }, work, {});
  if (flow.verify!.code !== 0) throw new Error(`could not make the statement to verify: ${flow.verify!.stderr}`);
  const verifyArgs = ['verify', 'app.tar.scitt', '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'issuer.pub.pem'];

  // first run: an empty cache directory each time (compiling, then saving the cache); warm: one kept directory
  let n = 0;
  const first = () => mkdtempSync(join(work, `first-${n++}-`));
  const warmDir = mkdtempSync(join(work, 'warm-'));
  const warm = () => warmDir;
  const one = join(ROOT, 'dist', 'scitt.mjs');
  const rows: { label: string; args: string[]; budget?: number; cache?: () => string; wall: number[]; cpu: number[] }[] = [
    { label: 'node -e 0 (floor)', args: ['-e', '0'] },
    { label: 'scitt --version (npm-installed bin)', args: [bin, '--version'], budget: 80 },
    { label: 'scitt verify, key file (npm-installed bin, no cache)', args: [bin, ...verifyArgs], budget: 200 },
    { label: 'scitt verify, key file (npm-installed bin, first run)', args: [bin, ...verifyArgs], budget: 200, cache: first },
    { label: 'scitt verify, key file (npm-installed bin, warm cache)', args: [bin, ...verifyArgs], budget: 200, cache: warm },
    { label: 'scitt --version (node scitt.mjs)', args: [one, '--version'], budget: 80 },
    { label: 'scitt verify, key file (node scitt.mjs, no cache)', args: [one, ...verifyArgs], budget: 200 },
    { label: 'scitt verify, key file (node scitt.mjs, first run)', args: [one, ...verifyArgs], budget: 200, cache: first },
    { label: 'scitt verify, key file (node scitt.mjs, warm cache)', args: [one, ...verifyArgs], budget: 200, cache: warm },
  ].map((r) => ({ ...r, wall: [], cpu: [] }));
  for (const r of rows) if (r.cache === warm) startOnce(r.args, work, warmDir);
  for (let i = 0; i < RUNS; i++) {
    for (const r of rows) {
      const t = startOnce(r.args, work, r.cache?.());
      r.wall.push(t.wall);
      r.cpu.push(t.cpu);
    }
  }
  const [floor, ...measured] = rows.map((r) => ({ ...r, wallMs: median(r.wall), cpuMs: median(r.cpu) }));
  row(floor!.label, `${floor!.wallMs.toFixed(0)} ms`, `CPU ${floor!.cpuMs.toFixed(0)} ms`);
  for (const r of measured) {
    if (r.args[0] === one && r.args[1] === '--version') row('dist/scitt.mjs', `${(statSync(one).size / 1024).toFixed(0)} KiB`);
    row(r.label, `${r.wallMs.toFixed(0)} ms`, `floor + ${(r.wallMs - floor!.wallMs).toFixed(0)} ms; CPU ${r.cpuMs.toFixed(0)} ms = floor + ${(r.cpuMs - floor!.cpuMs).toFixed(0)} ms (target: floor + ${r.budget} ms)`);
  }
  rmSync(work, { recursive: true, force: true });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
