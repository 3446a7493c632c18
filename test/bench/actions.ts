/**
 * The actions as shipped: cold start of each committed bundle (node loading it until it exits), against
 * actions/attest's library (@actions/attest, what actions/attest bundles) bundled with the same esbuild
 * settings (scripts/bundle-options.ts: ES modules split into chunks, minified), and a bare `node -e 0` as the
 * floor. Each action with no inputs (it loads, reports the first missing input, exits 1), and a real offline
 * run of those that work offline (test/helpers/offline-release.ts): issue-statement signing a small SPDX
 * JSON with a key, attach-receipt storing a Transparent Statement beside its artifact (target files),
 * verify-gate verifying it with key files. register needs a Transparency Service: no-input only. Runs are interleaved, round by
 * round, so a change of load on the machine falls on every row alike; medians of 9 rounds, wall time and CPU
 * time (user + sys of the child, from bash's `times`). Sizes: what the entry loads before it runs (index.mjs
 * and its static imports) and the whole dist/.
 */
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, row, title } from './stats.ts';
import { actionBuildOptions } from '../../scripts/bundle-options.ts';
import { GITHUB_CONTEXT } from '../helpers/action-runner.ts';
import { offlineRelease } from '../helpers/offline-release.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const ROUNDS = 9;

/** bash's `times`: its children's user and system time, e.g. "0m0.071s 0m0.020s" */
const seconds = (t: string) =>
  t.split(/\s+/).reduce((sum, x) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(x);
    return m ? sum + Number(m[1]) * 60 + Number(m[2]) : sum;
  }, 0);

interface Case {
  label: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** the exit code a correct run ends with */
  expect: number;
  wall: number[];
  cpu: number[];
}

function once(c: Case): void {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', '"$@" > /dev/null 2>&1; code=$?; times; exit $code', 'bash', process.execPath, ...c.args], { cwd: c.cwd, encoding: 'utf8', env: { ...process.env, ...c.env } });
  c.wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
  if (r.status !== c.expect) throw new Error(`${c.label}: exit ${r.status}, expected ${c.expect}`);
  c.cpu.push(seconds(r.stdout.trim().split('\n')[1] ?? '') * 1000);
}

/** index.mjs and the chunks it imports statically, transitively: what node reads before the action runs */
function startBytes(dist: string): { files: number; bytes: number } {
  const seen = new Set<string>();
  const visit = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    // esbuild's static imports: `import{…}from"./x.mjs"` and `import"./x.mjs"` (an import() has a parenthesis)
    for (const m of readFileSync(join(dist, f), 'utf8').matchAll(/\b(?:from|import)\s*"\.\/([\w.-]+\.mjs)"/g)) visit(m[1]!);
  };
  visit('index.mjs');
  return { files: seen.size, bytes: [...seen].reduce((n, f) => n + statSync(join(dist, f)).size, 0) };
}

const distBytes = (dist: string) => readdirSync(dist).filter((f) => f.endsWith('.mjs')).reduce((n, f) => n + statSync(join(dist, f)).size, 0);
const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

export async function bench(): Promise<void> {
  title(`GitHub Actions bundles: cold start (medians of ${ROUNDS} interleaved rounds: wall time, and CPU time)`);
  const dir = mkdtempSync(join(tmpdir(), 'actions-bench-'));
  const runner = (extra: Record<string, string> = {}) => {
    const temp = mkdtempSync(join(dir, 'runner-'));
    const files = { GITHUB_OUTPUT: join(temp, 'output'), GITHUB_STEP_SUMMARY: join(temp, 'summary'), GITHUB_ENV: join(temp, 'env') };
    for (const f of Object.values(files)) writeFileSync(f, '');
    return { ...GITHUB_CONTEXT, RUNNER_TEMP: temp, ...files, ...extra };
  };
  const inputs = (i: Record<string, string>) => Object.fromEntries(Object.entries(i).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]));

  // actions/attest's library, bundled the way we bundle ours
  const attestDir = join(dir, 'attest');
  const entry = join(dir, 'entry.mjs');
  writeFileSync(entry, `import { attest } from ${JSON.stringify(fileURLToPath(import.meta.resolve('@actions/attest')))};\nif (!process.env.INPUT_SUBJECT) { console.log(typeof attest); process.exit(1); }\n`);
  await build({ ...actionBuildOptions(entry, attestDir), logLevel: 'silent' });

  const release = await offlineRelease(join(dir, 'release'));
  const cases: Case[] = [];
  const add = (label: string, script: string, env: Record<string, string>, expect: number) => cases.push({ label, args: [script], env, cwd: release.dir, expect, wall: [], cpu: [] });
  cases.push({ label: 'node -e 0 (floor)', args: ['-e', '0'], env: {}, cwd: release.dir, expect: 0, wall: [], cpu: [] });
  add('@actions/attest bundled (baseline)', join(attestDir, 'index.mjs'), runner(), 1);
  const actions = readdirSync(join(root, 'actions')).sort().filter((n) => existsSync(join(root, 'actions', n, 'dist', 'index.mjs')));
  for (const name of actions) add(`actions/${name}`, join(root, 'actions', name, 'dist', 'index.mjs'), runner(), 1);
  add('actions/issue-statement: sign SPDX JSON with a key', join(root, 'actions/issue-statement/dist/index.mjs'), runner(inputs(release.issueInputs)), 0);
  add('actions/attach-receipt: store beside the artifact', join(root, 'actions/attach-receipt/dist/index.mjs'), runner(inputs(release.attachInputs)), 0);
  add('actions/verify-gate: verify with key files', join(root, 'actions/verify-gate/dist/index.mjs'), runner(inputs(release.gateInputs)), 0);

  for (let i = 0; i < ROUNDS; i++) for (const c of cases) once(c);

  const attest = cases[1]!;
  const base = { wall: median(attest.wall), cpu: median(attest.cpu) };
  const attestStart = startBytes(attestDir);
  for (const c of cases) {
    const wall = median(c.wall);
    const cpu = median(c.cpu);
    const ratio = c === cases[0] ? '' : ` (${(wall / base.wall).toFixed(2)}× wall, ${(cpu / base.cpu).toFixed(2)}× CPU of @actions/attest)`;
    row(c.label, `${wall.toFixed(0)} ms`, `CPU ${cpu.toFixed(0)} ms${ratio}`);
  }
  title('Sizes: what the entry loads before it runs (index.mjs and its static imports), and the whole dist/');
  row('@actions/attest bundled (baseline)', kib(attestStart.bytes), `${attestStart.files} files; dist ${kib(distBytes(attestDir))}`);
  for (const name of actions) {
    const dist = join(root, 'actions', name, 'dist');
    const s = startBytes(dist);
    row(`actions/${name}`, kib(s.bytes), `${s.files} files; dist ${kib(distBytes(dist))} in ${readdirSync(dist).filter((f) => f.endsWith('.mjs')).length} files`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
