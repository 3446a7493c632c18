/**
 * Builds the published packages (core, transparency-service, cli): one tsc program emits JavaScript
 * and .d.ts for all three, then each package's output moves to packages/<name>/dist. The sources stay
 * TypeScript; Node refuses to strip types under node_modules, so what is published is the emit.
 * Type checking is `./dev typecheck`'s job; tsconfig.build.json only emits (noCheck).
 *   node scripts/build-packages.ts              build
 *   node scripts/build-packages.ts --if-stale   build unless every dist/ is newer than every source (each package's prepack)
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const PACKAGES = ['core', 'transparency-service', 'cli'] as const;

/** [oldest, newest] modification time of the files under dir */
function mtimes(dir: string): [number, number] {
  let lo = Infinity;
  let hi = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const t = statSync(join(e.parentPath, e.name)).mtimeMs;
    lo = Math.min(lo, t);
    hi = Math.max(hi, t);
  }
  return [lo, hi];
}

const sourcesNewest = Math.max(statSync(join(root, 'tsconfig.build.json')).mtimeMs, ...PACKAGES.map((p) => mtimes(join(root, 'packages', p, 'src'))[1]));
const fresh = PACKAGES.every((p) => existsSync(join(root, 'packages', p, 'dist')) && mtimes(join(root, 'packages', p, 'dist'))[0] > sourcesNewest);
if (process.argv.includes('--if-stale') && fresh) process.exit(0);

const out = join(root, '.build');
rmSync(out, { recursive: true, force: true });
const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
for (const p of PACKAGES) {
  const dist = join(root, 'packages', p, 'dist');
  rmSync(dist, { recursive: true, force: true });
  renameSync(join(out, p, 'src'), dist);
  // CommonJS sources (core's lazy-deps.cjs) and their hand-written types, which tsc neither emits nor copies
  for (const e of readdirSync(join(root, 'packages', p, 'src'), { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || !/\.(cjs|d\.cts)$/.test(e.name)) continue;
    const from = join(e.parentPath, e.name);
    copyFileSync(from, join(dist, relative(join(root, 'packages', p, 'src'), from)));
  }
}
rmSync(out, { recursive: true, force: true });
process.stdout.write(`built ${PACKAGES.map((p) => `packages/${p}/dist`).join(', ')}\n`);
