/**
 * Coverage-guided fuzzing of one decoder, or of all of them:
 *
 *   ./dev fuzz <target|all|list> [seconds=60] [--engine=auto|jazzer|v8] [--seed=N]
 *   (package.json: "fuzz": "node test/security/jazzer/run.ts")
 *
 * Engines: jazzer.js (libFuzzer, @jazzer.js/core; the source under test is instrumented through its
 * ESM loader after strip-types.mjs has turned the TypeScript into JavaScript), or, where jazzer's
 * native addon cannot load, v8-engine.ts (V8 block coverage). `auto` (the default) picks jazzer when
 * it loads. Both start from the target's seeds, test/security/corpus/<target>/ and the working corpus
 * tmp/fuzz/<target>/ (git-ignored, kept between runs); a finding is written to
 * test/security/corpus/<target>/ (jazzer: crash-<sha1>, v8: crash-<sha1>.bin), which fuzz.test.ts
 * replays from then on. Exit 0: no finding; 1: a finding; 2: usage error.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCorpus } from '../corpus.ts';
import { type FuzzTarget, TARGETS, loadTargets } from '../fuzz-targets.ts';
import { runEngine, startCoverage } from './v8-engine.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const HERE = fileURLToPath(new URL('.', import.meta.url));

function usage(message?: string): never {
  if (message) process.stderr.write(`fuzz: ${message}\n`);
  process.stderr.write('usage: ./dev fuzz <target|all|list> [seconds=60] [--engine=auto|jazzer|v8] [--seed=N]\n');
  process.exit(2);
}

const args = process.argv.slice(2);
const flags = Object.fromEntries(args.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=') as [string, string]));
const [which, secondsArg] = args.filter((a) => !a.startsWith('--'));
if (!which) usage();
if (which === 'list') {
  for (const t of TARGETS) process.stdout.write(`${t.name.padEnd(18)} ${t.what}\n`);
  process.exit(0);
}
const seconds = Number(secondsArg ?? 60);
if (!Number.isFinite(seconds) || seconds <= 0) usage(`seconds must be a positive number, got ${secondsArg}`);
const targets = which === 'all' ? TARGETS : TARGETS.filter((t) => t.name === which);
if (targets.length === 0) usage(`no target "${which}"; run ./dev fuzz list`);
const engineFlag = flags.engine ?? 'auto';
if (!['auto', 'jazzer', 'v8'].includes(engineFlag)) usage(`unknown engine ${engineFlag}`);
const seed = flags.seed !== undefined ? Number(flags.seed) : undefined;

/** Whether jazzer.js's native libFuzzer addon loads here; the reason when it does not. */
function jazzerProblem(): string | undefined {
  // @jazzer.js/fuzzer is a dependency of @jazzer.js/core, resolvable from there only (pnpm)
  const probe = "require('node:module').createRequire(require.resolve('@jazzer.js/core/package.json'))('@jazzer.js/fuzzer')";
  const r = spawnSync(process.execPath, ['-e', probe], { cwd: ROOT, encoding: 'utf8' });
  if (r.status === 0) return undefined;
  const line = (r.stderr.split('\n').find((l) => /Error|not found/.test(l)) ?? r.stderr.trim().split('\n')[0] ?? '').trim();
  return line || `exit ${r.status}`;
}

let engine = engineFlag;
if (engine !== 'v8') {
  const problem = jazzerProblem();
  if (problem) {
    if (engine === 'jazzer') usage(`jazzer.js cannot run here: ${problem}`);
    process.stderr.write(`fuzz: jazzer.js's native addon does not load here (${problem}); using the V8-coverage engine\n`);
    engine = 'v8';
  } else engine = 'jazzer';
}

if (engine === 'v8') startCoverage(); // before any code under test runs (see v8-engine.ts)
await loadTargets();

async function prepare(t: FuzzTarget): Promise<{ workDir: string; seeds: Uint8Array[] }> {
  const workDir = join(ROOT, 'tmp', 'fuzz', t.name);
  mkdirSync(workDir, { recursive: true });
  const seeds = [...(await t.seeds()), ...readCorpus(t.name).map((e) => e.bytes)];
  if (engine === 'jazzer') for (const s of seeds) writeFileSync(join(workDir, `seed-${createHash('sha1').update(s).digest('hex')}`), s);
  return { workDir, seeds };
}

function runJazzer(t: FuzzTarget, workDir: string): number {
  const cli = createRequire(join(ROOT, 'package.json')).resolve('@jazzer.js/core/dist/cli.js');
  const harness = relative(ROOT, join(HERE, `${t.name}.fuzz.ts`));
  const artifacts = `${relative(ROOT, join(ROOT, 'test', 'security', 'corpus', t.name))}/`;
  mkdirSync(join(ROOT, artifacts), { recursive: true });
  const r = spawnSync(
    process.execPath,
    [cli, harness, relative(ROOT, workDir), '--sync', '-i', 'packages/core/src', '-i', 'packages/transparency-service/src', '-e', 'node_modules', '--',
      `-max_total_time=${Math.round(seconds)}`, `-artifact_prefix=${artifacts}`, '-timeout=10', '-print_final_stats=1', ...(seed !== undefined ? [`-seed=${seed}`] : [])],
    { cwd: ROOT, stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --disable-warning=ExperimentalWarning --import=${new URL('./strip-types.mjs', import.meta.url).href}`.trim() } },
  );
  return r.status ?? 1;
}

let failed = false;
for (const t of targets) {
  const { workDir, seeds } = await prepare(t);
  process.stderr.write(`fuzz: ${t.name} (${t.what}) for ${seconds} s with ${engine}, ${seeds.length} seeds\n`);
  if (engine === 'jazzer') {
    const status = runJazzer(t, workDir);
    if (status !== 0) failed = true;
    continue;
  }
  const r = runEngine(t, seeds, { seconds, workDir, ...(seed !== undefined ? { seed } : {}) });
  process.stdout.write(`${t.name}: ${r.execs} execs in ${r.seconds.toFixed(1)} s (${r.execsPerSecond} exec/s), corpus ${r.corpus}, coverage features ${r.features}${r.finding ? `, FINDING ${r.finding.error} → ${relative(ROOT, r.finding.file)}` : ''}\n`);
  if (r.finding) {
    failed = true;
    break;
  }
}
process.exit(failed ? 1 : 0);
