/**
 * The actions as shipped: bundle size and cold start (node loading the bundle until it exits on
 * missing inputs), against actions/attest's library (@actions/attest, what actions/attest bundles)
 * bundled with the same esbuild settings (scripts/bundle-options.ts), and a bare `node -e 0` as the floor. Medians of 7 runs.
 */
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, row, title } from './stats.ts';
import { actionOptions } from '../../scripts/bundle-options.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

function coldStartMs(args: string[], env: Record<string, string> = {}): number {
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = process.hrtime.bigint();
    spawnSync(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

export async function bench(): Promise<void> {
  title('GitHub Actions bundles: size and cold start (medians of 7 runs)');
  const floor = coldStartMs(['-e', '0']);
  row('node -e 0 (floor)', `${floor.toFixed(0)} ms`);

  // actions/attest's library, bundled the way we bundle ours
  const dir = mkdtempSync(join(tmpdir(), 'attest-bundle-'));
  const entry = join(dir, 'entry.mjs');
  writeFileSync(entry, `import { attest } from ${JSON.stringify(fileURLToPath(import.meta.resolve('@actions/attest')))};\nif (!process.env.INPUT_SUBJECT) { console.log(typeof attest); process.exit(1); }\n`);
  const out = join(dir, 'attest.mjs');
  await build({ ...actionOptions, entryPoints: [entry], outfile: out, logLevel: 'silent' });
  const attestSize = statSync(out).size;
  const attestStart = coldStartMs([out]);
  row('@actions/attest bundled (baseline)', `${(attestSize / 1024).toFixed(0)} KiB`, `cold start ${attestStart.toFixed(0)} ms`);

  for (const name of readdirSync(join(root, 'actions')).sort()) {
    const bundle = join(root, 'actions', name, 'dist', 'index.mjs');
    if (!existsSync(bundle)) continue;
    const size = statSync(bundle).size;
    // no inputs: the action loads, reads its inputs, reports the first missing one and exits 1
    const ms = coldStartMs([bundle], { GITHUB_OUTPUT: join(dir, 'out'), RUNNER_TEMP: dir });
    row(`actions/${name}`, `${(size / 1024).toFixed(0)} KiB`, `cold start ${ms.toFixed(0)} ms (${(size / attestSize).toFixed(1)}× size, ${(ms / attestStart).toFixed(2)}× start of @actions/attest)`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
