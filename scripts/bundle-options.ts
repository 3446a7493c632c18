/**
 * esbuild settings of the actions' bundles, shared by scripts/bundle.ts and test/bench/actions.ts (which
 * bundles @actions/attest the same way, as the baseline of the actions' cold start).
 */
import type { BuildOptions, Plugin } from 'esbuild';
import { readFileSync } from 'node:fs';

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
