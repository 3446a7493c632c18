/**
 * Bundles each action's src/main.ts into actions/<name>/dist/index.mjs with esbuild: one file per
 * action, everything inlined, as GitHub runs it (`node dist/index.mjs`, runs.using: node24).
 *   node scripts/bundle.ts            write the bundles
 *   node scripts/bundle.ts --check    fail if a committed bundle differs from a fresh build
 *   node scripts/bundle.ts --cli      only dist/scitt.mjs
 * It also writes dist/scitt.mjs: the whole scitt CLI in one file that runs with nothing but node (>= 22),
 * attached to every GitHub release (not committed; --check leaves it alone).
 */
import { build } from 'esbuild';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const cliOnly = process.argv.includes('--cli');
const actions = cliOnly ? [] : readdirSync(join(root, 'actions')).filter((n) => existsSync(join(root, 'actions', n, 'action.yml')) && existsSync(join(root, 'actions', n, 'src', 'main.ts')));
const out = check ? mkdtempSync(join(tmpdir(), 'scitt-bundle-')) : undefined;

// CommonJS dependencies inside an ESM bundle still call require() and read __dirname; path.dirname, not
// a '/' search, so that the bundles run on Windows runners too.
const banner = {
  js: [
    "import { createRequire as __scittCreateRequire } from 'node:module';",
    "import { fileURLToPath as __scittFileURLToPath } from 'node:url';",
    "import { dirname as __scittDirname } from 'node:path';",
    'const require = __scittCreateRequire(import.meta.url);',
    'const __filename = __scittFileURLToPath(import.meta.url);',
    'const __dirname = __scittDirname(__filename);',
  ].join(' '),
};

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
    banner,
  });
  const bytes = Object.values(result.metafile.outputs)[0]!.bytes;
  // xmllint-wasm (CycloneDX XML validation) starts a worker from xmllint-node.js beside itself, which reads xmllint.wasm
  const xmllint = Object.keys(result.metafile.inputs).find((f) => f.includes('/xmllint-wasm/'));
  for (const file of xmllint ? ['xmllint-node.js', 'xmllint.wasm', 'package.json'] : []) {
    // xmllint-node.js is CommonJS; actions/package.json says "type": "module" (the bundle is .mjs either way)
    const source = file === 'package.json' ? Buffer.from('{ "type": "commonjs" }\n') : readFileSync(join(root, dirname(xmllint!), file));
    const target = join(root, 'actions', name, 'dist', file);
    if (check) {
      if (!existsSync(target) || !readFileSync(target).equals(source)) {
        stale++;
        process.stderr.write(`actions/${name}/dist/${file} is out of date: run ./dev bundle and commit\n`);
      }
    } else {
      writeFileSync(target, source);
    }
  }
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
// The CycloneDX XSDs are read at run time beside the code (payload/cyclonedx.ts reads
// ../../schemas/cyclonedx/ from the module): from actions/<name>/dist/ that is actions/schemas/cyclonedx/.
const xsdFrom = join(root, 'packages/core/schemas/cyclonedx');
const xsdTo = join(root, 'actions/schemas/cyclonedx');
for (const name of cliOnly ? [] : readdirSync(xsdFrom).filter((n) => n.endsWith('.xsd'))) {
  const source = readFileSync(join(xsdFrom, name));
  const target = join(xsdTo, name);
  if (check) {
    if (!existsSync(target) || !readFileSync(target).equals(source)) {
      stale++;
      process.stderr.write(`actions/schemas/cyclonedx/${name} is out of date: run ./dev bundle and commit\n`);
    }
  } else {
    mkdirSync(xsdTo, { recursive: true });
    writeFileSync(target, source);
  }
}
if (out) rmSync(out, { recursive: true, force: true });
if (!check) {
  // One file, lazily evaluated: esbuild turns each verb's import() into a deferred initialiser, so
  // `scitt --version` and `scitt verify` evaluate only the modules they use.
  const outfile = join(root, 'dist', 'scitt.mjs');
  const result = await build({
    entryPoints: [join(root, 'packages', 'cli', 'src', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    // start-up is parsing: minified and ASCII-only, node reads and pre-parses half the bytes
    minify: true,
    charset: 'ascii',
    sourcemap: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    banner,
  });
  const bytes = Object.values(result.metafile.outputs)[0]!.bytes;
  process.stdout.write(`${relative(root, outfile)}  ${(bytes / 1024).toFixed(0)} KiB\n`);
}
if (check) {
  if (stale) process.exit(1);
  process.stdout.write(`${actions.length} action bundles match their sources\n`);
}
