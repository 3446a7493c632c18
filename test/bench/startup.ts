/**
 * Start-up of the `scitt` command as users run it, against `node -e 0` measured in the same run:
 * the npm-installed bin (the packed packages installed with npm into .bench/install, as
 * test/e2e/packaging.test.ts does) and the one-file dist/scitt.mjs, each for `scitt --version` and
 * for `scitt verify` of a small Transparent Statement with a key file. Targets: --version within
 * 80 ms of the floor, verify within 200 ms. Medians of 15 runs: wall time, and CPU time (user + sys
 * of the child, from bash's `times`), which a loaded machine disturbs far less than wall time. Both
 * keep V8's compiled code in the user's cache directory (packages/cli/src/compile-cache.ts): verify is
 * measured without it, on a first run (an empty cache directory, which it then fills) and warm.
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

/** `cache`: the XDG cache directory of each run (the CLI's compiled-code cache), or none: caching off */
function startMs(args: string[], cwd: string, cache?: () => string): { median: number; cpu: number } {
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const env = { ...process.env, ...(cache ? { XDG_CACHE_HOME: cache() } : { NODE_DISABLE_COMPILE_CACHE: '1' }) };
    const t0 = process.hrtime.bigint();
    const r = spawnSync('bash', ['-c', '"$@" > /dev/null 2>&1 || exit 3; times', 'bash', process.execPath, ...args], { cwd, encoding: 'utf8', env });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed`);
    cpu.push(seconds(r.stdout.trim().split('\n')[1] ?? '') * 1000);
  }
  return { median: median(times), cpu: median(cpu) };
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

  const floor = startMs(['-e', '0'], work);
  row('node -e 0 (floor)', `${floor.median.toFixed(0)} ms`, `CPU ${floor.cpu.toFixed(0)} ms`);
  // first run: an empty cache directory each time (compiling, then saving the cache); warm: one kept directory
  let n = 0;
  const first = () => mkdtempSync(join(work, `first-${n++}-`));
  const warmDir = mkdtempSync(join(work, 'warm-'));
  const warm = () => warmDir;
  const line = (label: string, args: string[], budget: number, cache?: () => string) => {
    if (cache === warm) spawnSync(process.execPath, args, { cwd: work, env: { ...process.env, XDG_CACHE_HOME: warmDir }, stdio: 'ignore' });
    const t = startMs(args, work, cache);
    const over = t.median - floor.median;
    const overCpu = t.cpu - floor.cpu;
    row(label, `${t.median.toFixed(0)} ms`, `floor + ${over.toFixed(0)} ms; CPU ${t.cpu.toFixed(0)} ms = floor + ${overCpu.toFixed(0)} ms (target: floor + ${budget} ms)`);
  };
  line('scitt --version (npm-installed bin)', [bin, '--version'], 80);
  line('scitt verify, key file (npm-installed bin, no cache)', [bin, ...verifyArgs], 200);
  line('scitt verify, key file (npm-installed bin, first run)', [bin, ...verifyArgs], 200, first);
  line('scitt verify, key file (npm-installed bin, warm cache)', [bin, ...verifyArgs], 200, warm);
  const one = join(ROOT, 'dist', 'scitt.mjs');
  row('dist/scitt.mjs', `${(statSync(one).size / 1024).toFixed(0)} KiB`);
  line('scitt --version (node scitt.mjs)', [one, '--version'], 80);
  line('scitt verify, key file (node scitt.mjs, no cache)', [one, ...verifyArgs], 200);
  line('scitt verify, key file (node scitt.mjs, first run)', [one, ...verifyArgs], 200, first);
  line('scitt verify, key file (node scitt.mjs, warm cache)', [one, ...verifyArgs], 200, warm);
  rmSync(work, { recursive: true, force: true });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
