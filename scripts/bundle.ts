/**
 * Bundles each action's src/main.ts into actions/<name>/dist/ with esbuild, as GitHub runs it (`node
 * dist/index.mjs`, runs.using: node24): the entry index.mjs and, beside it, the chunks it loads when a run
 * needs them (scripts/bundle-options.ts); dist/ holds everything, nothing is installed.
 *   node scripts/bundle.ts            write the bundles
 *   node scripts/bundle.ts --check    fail if a committed bundle (any file of it) differs from a fresh build
 *   node scripts/bundle.ts --cli      only dist/scitt.mjs
 * It also writes dist/scitt.mjs: the whole scitt CLI in one file that runs with nothing but node (>= 22),
 * attached to every GitHub release (not committed; --check leaves it alone).
 */
import { build, transform } from 'esbuild';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENTRY, assemble } from './one-file-format.ts';
import { actionBuildOptions, jsonAsString, lazyEntries, splitLazyDeps, splitOutput } from './bundle-options.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const cliOnly = process.argv.includes('--cli');
const actions = cliOnly ? [] : readdirSync(join(root, 'actions')).filter((n) => existsSync(join(root, 'actions', n, 'action.yml')) && existsSync(join(root, 'actions', n, 'src', 'main.ts')));
const out = check ? mkdtempSync(join(tmpdir(), 'scitt-bundle-')) : undefined;

let stale = 0;
const lazyDeps = join(root, 'packages', 'core', 'src', 'lazy-deps.cjs');
// The files of a dist/ that the build writes; anything else there is a stale chunk of an earlier build
const built = (f: string) => f.endsWith('.mjs');
for (const name of actions) {
  const dist = join(root, 'actions', name, 'dist');
  const outdir = out ? join(out, name) : dist;
  // a fresh build leaves no chunk of an earlier one behind (chunk names carry a hash of their content)
  if (!check) for (const f of existsSync(dist) ? readdirSync(dist).filter(built) : []) rmSync(join(dist, f));
  const result = await build({ ...actionBuildOptions(join(root, 'actions', name, 'src', 'main.ts'), outdir, lazyDeps), metafile: true });
  const outputs = Object.entries(result.metafile.outputs).map(([f, o]) => ({ file: relative(outdir, resolve(f)), bytes: o.bytes })); // esbuild's paths are from the cwd
  // xmllint-wasm (CycloneDX XML validation) starts a worker from xmllint-node.js beside itself, which reads xmllint.wasm
  const xmllint = Object.keys(result.metafile.inputs).find((f) => f.includes('/xmllint-wasm/'));
  for (const file of xmllint ? ['xmllint-node.js', 'xmllint.wasm', 'package.json'] : []) {
    // xmllint-node.js is CommonJS; actions/package.json says "type": "module" (the bundle is .mjs either way)
    const source = file === 'package.json' ? Buffer.from('{ "type": "commonjs" }\n') : readFileSync(join(root, dirname(xmllint!), file));
    const target = join(dist, file);
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
    // every file of the committed dist/ and no other: the entry, its chunks and the lazy libraries
    const fresh = outputs.map((o) => o.file).sort();
    const committed = existsSync(dist) ? readdirSync(dist).filter(built).sort() : [];
    for (const f of new Set([...fresh, ...committed])) {
      const same = fresh.includes(f) && committed.includes(f) && readFileSync(join(dist, f)).equals(readFileSync(join(outdir, f)));
      if (!same) {
        stale++;
        process.stderr.write(`actions/${name}/dist/${f} ${!committed.includes(f) ? 'is missing' : !fresh.includes(f) ? 'is stale (no longer built)' : 'is out of date'}: run ./dev bundle and commit\n`);
      }
    }
  } else {
    const index = outputs.find((o) => o.file === 'index.mjs')!;
    const all = outputs.reduce((n, o) => n + o.bytes, 0);
    process.stdout.write(`actions/${name}/dist/index.mjs  ${(index.bytes / 1024).toFixed(0)} KiB (${outputs.length} files, ${(all / 1024).toFixed(0)} KiB in all)\n`);
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
  // One file that starts fast: the launcher (scripts/one-file.ts) answers --version at once; the CLI follows it
  // in comments (one-file-format.ts), compiled only for the other commands: esbuild's split chunks of it
  // (an entry, the chunks each import() and each library of core/lazy-deps.cjs loads, the chunks they
  // share), each made CommonJS, so that a command reads and compiles only the modules it uses.
  const outfile = join(root, 'dist', 'scitt.mjs');
  const common = { bundle: true, platform: 'node', target: 'node22', write: false, sourcemap: false, legalComments: 'none', logLevel: 'warning', charset: 'ascii', minify: true } as const;
  const split = await build({
    ...common,
    entryPoints: { [ENTRY.replace(/\.mjs$/, '')]: join(root, 'packages', 'cli', 'src', 'start.ts'), ...lazyEntries(lazyDeps) },
    outdir: join(root, 'dist', 'scitt-cli'),
    format: 'esm',
    ...splitOutput,
    define: { 'import.meta.url': '__scittImportMetaUrl' },
    plugins: [jsonAsString, splitLazyDeps(lazyDeps)],
  });
  const modules: Record<string, string> = {};
  for (const f of split.outputFiles) {
    // CommonJS: import and export become require() and module.exports, import() a require() behind a promise
    const { code } = await transform(f.text, { format: 'cjs', loader: 'js', target: 'node22', charset: 'ascii', minify: true, supported: { 'dynamic-import': false } });
    // kerberos (an optional peer of a proxy agent) is absent either way: its import() fails and is caught
    const imports = [...code.matchAll(/[^\w$.]import\(([^)]*)\)(?!\{)/g)].map((m) => m[1]).filter((s) => s !== '"kerberos"');
    if (imports.length) throw new Error(`dist/scitt.mjs: import() cannot run in the one-file CLI: ${imports.join(', ')}`);
    modules[basename(f.path)] = code;
  }
  const launcher = await build({ ...common, entryPoints: [join(root, 'scripts', 'one-file.ts')], format: 'esm' });
  mkdirSync(dirname(outfile), { recursive: true });
  writeFileSync(outfile, assemble(launcher.outputFiles[0]!.text, modules));
  const entrySize = Buffer.byteLength(modules[ENTRY]!);
  process.stdout.write(`${relative(root, outfile)}  ${(statSync(outfile).size / 1024).toFixed(0)} KiB: ${Object.keys(modules).length} modules, the entry ${(entrySize / 1024).toFixed(0)} KiB\n`);
}
if (check) {
  if (stale) process.exit(1);
  process.stdout.write(`${actions.length} action bundles match their sources\n`);
}
