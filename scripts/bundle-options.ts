/**
 * esbuild settings of the actions' bundles, shared by scripts/bundle.ts and test/bench/actions.ts (which
 * bundles @actions/attest the same way, as the baseline of the actions' cold start).
 */
import type { BuildOptions, Plugin } from 'esbuild';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';

// CommonJS dependencies inside an ESM bundle still call require() and read __dirname; path.dirname, not
// a '/' search, so that the bundles run on Windows runners too.
export const banner = {
  js: [
    "import { createRequire as __scittCreateRequire } from 'node:module';",
    "import { fileURLToPath as __scittFileURLToPath } from 'node:url';",
    "import { dirname as __scittDirname } from 'node:path';",
    'const require = __scittCreateRequire(import.meta.url);',
    'const __filename = __scittFileURLToPath(import.meta.url);',
    'const __dirname = __scittDirname(__filename);',
  ].join(' '),
};

// A large JSON file (a schema, an encoding table) as one string given to JSON.parse: V8 scans a string
// many times faster than it parses the same data as an object literal, which --version paid for.
export const jsonAsString: Plugin = {
  name: 'json-as-string',
  setup(b) {
    b.onLoad({ filter: /\.json$/ }, (a) => {
      const text = readFileSync(a.path, 'utf8');
      return text.length < 4096 ? undefined : { contents: `module.exports = JSON.parse(${JSON.stringify(JSON.stringify(JSON.parse(text)))});`, loader: 'js' };
    });
  },
};

export const actionOptions = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  // a cold start is mostly V8 parsing the bundle: minified, and large JSON as strings, it parses in
  // three fifths of the time (test/bench/actions.ts). Not keepNames: its __name calls at load cost more
  // than minifying saves, and no code here reads a class's or function's name (scitt.mjs runs so too)
  minify: true,
  charset: 'ascii',
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  banner,
  plugins: [jsonAsString],
} satisfies BuildOptions;

// core/src/lazy-deps.cjs requires each heavy library on first use. In one file, esbuild keeps that lazy but
// still inlines the library, so every run reads and parses it. In the actions' split bundles each of its
// require()s becomes a file beside the entry (lazy-<name>.mjs, an entry point sharing chunks with the rest),
// required from there on first use: Node >= 22.12 loads an ES module synchronously with require().
const lazyDepsFile = /[\\/]packages[\\/]core[\\/]src[\\/]lazy-deps\.cjs$/;
const lazyFile = (spec: string) => `lazy-${spec.replace(/^@/, '').replace(/\.js$/, '').replace(/[^a-zA-Z0-9]+/g, '-')}`;
const REQUIRE = /\brequire\('([^']+)'\)/g;

/** The libraries lazy-deps.cjs requires, each an entry point of the split bundle named lazyFile(spec). */
export function lazyEntries(lazyDepsPath: string): Record<string, string> {
  const specs = [...readFileSync(lazyDepsPath, 'utf8').matchAll(REQUIRE)].map((m) => m[1]!);
  if (specs.length === 0) throw new Error(`${lazyDepsPath}: no require('…') found: update scripts/bundle-options.ts`);
  return Object.fromEntries(specs.map((s) => [lazyFile(s), `scitt-lazy:${s}`]));
}

export const splitLazyDeps = (lazyDepsPath: string): Plugin => ({
  name: 'split-lazy-deps',
  setup(b) {
    // the entry of one library: what require() returned to lazy-deps.cjs, as its default export
    b.onResolve({ filter: /^scitt-lazy:/ }, (a) => ({ path: a.path.slice('scitt-lazy:'.length), namespace: 'scitt-lazy' }));
    b.onLoad({ filter: /.*/, namespace: 'scitt-lazy' }, (a) => ({ contents: `module.exports = require(${JSON.stringify(a.path)});`, loader: 'js', resolveDir: dirname(lazyDepsPath) }));
    // lazy-deps.cjs itself requires the file beside the chunk that runs it (all chunks are in dist/)
    b.onLoad({ filter: lazyDepsFile }, (a) => ({
      contents: readFileSync(a.path, 'utf8').replace(REQUIRE, (_, spec: string) => `require(${JSON.stringify(`./${lazyFile(spec)}.mjs`)}).default`),
      loader: 'js',
    }));
    b.onResolve({ filter: /^\.\/lazy-[a-z0-9-]+\.mjs$/ }, (a) => (lazyDepsFile.test(a.importer) ? { path: a.path, external: true } : undefined));
  },
});

// @actions/core imports @actions/http-client (and through it undici, 400 KiB) for getIDToken alone, which
// no action calls (keyless signing asks for the token through @sigstore/sign): said to be free of side
// effects, it is left out unless something uses it (@actions/github, when a token is given, does).
const httpClientWhenUsed: Plugin = {
  name: 'http-client-when-used',
  setup(b) {
    b.onResolve({ filter: /^@actions\/http-client(\/|$)/ }, async (a) => {
      if (a.pluginData === 'http-client-when-used') return undefined;
      const r = await b.resolve(a.path, { kind: a.kind, importer: a.importer, resolveDir: a.resolveDir, pluginData: 'http-client-when-used' });
      return r.errors.length ? { errors: r.errors } : { path: r.path, sideEffects: false };
    });
  },
};

// Split into chunks, import() of a CommonJS module yields only its default export (esbuild's limit), where
// Node and a one-file bundle give its named exports too: such a library goes through lazy-deps.cjs instead.
const importedModulesAreEsm: Plugin = {
  name: 'imported-modules-are-esm',
  setup(b) {
    b.onEnd((result) => {
      const inputs = result.metafile?.inputs ?? {};
      const errors = Object.entries(inputs).flatMap(([file, input]) =>
        input.imports
          // a JSON module (jsonAsString makes it CommonJS) has only its default export anyway
          .filter((i) => i.kind === 'dynamic-import' && !i.external && inputs[i.path]?.format === 'cjs' && !i.path.endsWith('.json'))
          .map((i) => ({ text: `${file}: import(${JSON.stringify(i.original ?? i.path)}) of a CommonJS module: require it through packages/core/src/lazy-deps.cjs` })),
      );
      return { errors };
    });
  },
};

/** Split into chunks: entries keep their names, chunks are named by their content (the same build, the same names). */
export const splitOutput = { splitting: true, entryNames: '[name]', chunkNames: '[name]-[hash]', outExtension: { '.js': '.mjs' } } as const;

/**
 * The actions' bundles: ES modules split into chunks (deterministic names), so a run reads only the code it
 * uses. The entry is dist/index.mjs (action.yml's main); libraries behind an import() or lazy-deps.cjs
 * (`lazyDepsPath`, core's) come in files beside it, loaded when used.
 */
export function actionBuildOptions(entry: string, outdir: string, lazyDepsPath?: string): BuildOptions {
  return {
    ...actionOptions,
    entryPoints: { index: entry, ...(lazyDepsPath ? lazyEntries(lazyDepsPath) : {}) },
    outdir,
    ...splitOutput,
    metafile: true,
    plugins: [jsonAsString, ...(lazyDepsPath ? [splitLazyDeps(lazyDepsPath)] : []), httpClientWhenUsed, importedModulesAreEsm],
  };
}
