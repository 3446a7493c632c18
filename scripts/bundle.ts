/**
 * Bundles each action's src/main.ts into actions/<name>/dist/index.mjs with esbuild: one file per
 * action, everything inlined, as GitHub runs it (`node dist/index.mjs`, runs.using: node24).
 *   node scripts/bundle.ts            write the bundles
 *   node scripts/bundle.ts --check    fail if a committed bundle differs from a fresh build
 */
import { build } from 'esbuild';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const actions = readdirSync(join(root, 'actions')).filter((n) => existsSync(join(root, 'actions', n, 'action.yml')) && existsSync(join(root, 'actions', n, 'src', 'main.ts')));
const out = check ? mkdtempSync(join(tmpdir(), 'scitt-bundle-')) : undefined;

let stale = 0;
for (const name of actions) {
  const outfile = out ? join(out, `${name}.mjs`) : join(root, 'actions', name, 'dist', 'index.mjs');
  const result = await build({
    entryPoints: [join(root, 'actions', name, 'src', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: false,
    sourcemap: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    // CommonJS dependencies inside an ESM bundle still call require() for Node built-ins.
    banner: { js: "import { createRequire as __scittCreateRequire } from 'node:module'; const require = __scittCreateRequire(import.meta.url);" },
  });
  const bytes = Object.values(result.metafile.outputs)[0]!.bytes;
  if (check) {
    const committed = join(root, 'actions', name, 'dist', 'index.mjs');
    const same = existsSync(committed) && readFileSync(committed).equals(readFileSync(outfile));
    if (!same) {
      stale++;
      process.stderr.write(`actions/${name}/dist/index.mjs is out of date with its sources: run ./dev bundle and commit\n`);
    }
  } else {
    process.stdout.write(`actions/${name}/dist/index.mjs  ${(bytes / 1024).toFixed(0)} KiB\n`);
  }
}
if (out) rmSync(out, { recursive: true, force: true });
if (check) {
  if (stale) process.exit(1);
  process.stdout.write(`${actions.length} action bundles match their sources\n`);
}
