#!/usr/bin/env node
/**
 * The start of dist/scitt.mjs (scripts/bundle.ts builds it and appends the CLI's modules after it, in
 * comments, with their index last: one-file-format.ts). `scitt --version` is answered here, before node
 * has parsed the CLI: the rest of the file is comments, which V8 skips without parsing. Any other
 * command runs the CLI's entry module, and each module it requires is read alone out of this same file
 * and compiled with V8's code cache from the user's own cache directory (compile-cache.ts): the first
 * run of a command compiles its modules and saves their caches, later runs reuse them.
 */
import { userCacheDir } from '../packages/cli/src/compile-cache.ts';
import { BEGIN, END, ENTRY, type OneFileIndex, PARAMS, moduleOf, readIndex, unhide } from './one-file-format.ts';
import { VERSION } from '../packages/cli/src/version.ts';

/** A cache entry, read only as a regular file of this user's, at most 64 MiB. */
function readCache(path: string): Buffer | undefined {
  const { closeSync, constants, fstatSync, openSync, readSync } = process.getBuiltinModule('node:fs');
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > 64 << 20 || (process.getuid && st.uid !== process.getuid())) return undefined;
    const buf = Buffer.alloc(st.size);
    return readSync(fd, buf, 0, st.size, 0) === st.size ? buf : undefined;
  } finally {
    closeSync(fd);
  }
}

/** The index of the file's modules, from its last line. */
function readFileIndex(file: string): OneFileIndex {
  const { closeSync, fstatSync, openSync, readSync } = process.getBuiltinModule('node:fs');
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const tail = Buffer.alloc(Math.min(size, 64 << 10));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    return readIndex(tail.toString('latin1'), size);
  } finally {
    closeSync(fd);
  }
}

/** One module's bytes, from BEGIN to END, read alone: the rest of the file is other modules' code. */
function readModule(file: string, [start, end]: readonly [number, number]): Buffer {
  const { closeSync, openSync, readSync } = process.getBuiltinModule('node:fs');
  const fd = openSync(file, 'r');
  try {
    const bytes = Buffer.alloc(end - start + BEGIN.length + END.length);
    const read = readSync(fd, bytes, 0, bytes.length, start - BEGIN.length);
    if (read !== bytes.length || bytes.toString('latin1', 0, BEGIN.length) !== BEGIN || bytes.toString('latin1', bytes.length - END.length) !== END) {
      throw new Error(`${file} is not a complete scitt.mjs: download it again`);
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

async function main(args: readonly string[]): Promise<void> {
  // builtins here, not imported: an ES import of node:fs alone loads streams and readline, which --version does without
  const { renameSync, writeFileSync } = process.getBuiltinModule('node:fs');
  const { createHash } = process.getBuiltinModule('node:crypto');
  const { createRequire } = process.getBuiltinModule('node:module');
  const { dirname, join } = process.getBuiltinModule('node:path');
  const { fileURLToPath } = process.getBuiltinModule('node:url');
  const vm = process.getBuiltinModule('node:vm');
  const file = fileURLToPath(import.meta.url);
  const index = readFileIndex(file);
  const nodeRequire = createRequire(import.meta.url);
  // the cache is V8's, for this source, this node and its flags: V8 rejects one from another build
  const dir = userCacheDir();
  const runtime = `${process.version} ${process.arch} ${process.execArgv.join(' ')}`;
  const unsaved: { entry: string; script: InstanceType<typeof vm.Script> }[] = [];
  const loaded = new Map<string, { exports: unknown }>();

  /** The CLI's require(): its own modules from this file, each evaluated once; node's builtins from node. */
  const require = (specifier: string): unknown => {
    const name = moduleOf(specifier, index);
    if (name === undefined) return nodeRequire(specifier);
    const known = loaded.get(name);
    if (known) return known.exports;
    const bytes = readModule(file, index[name]!);
    const code = `(function (${PARAMS.join(', ')}) {'use strict';${unhide(bytes.toString('latin1', BEGIN.length, bytes.length - END.length))}\n})`;
    // hashed as bytes (the module's, markers included), three times faster than the code as a string
    const key = createHash('sha256').update(bytes).update(runtime).digest('hex').slice(0, 32);
    const entry = dir && join(dir, `scitt-mjs-${key}.v8cache`);
    const cachedData = entry ? readCache(entry) : undefined;
    const script = new vm.Script(code, { filename: `${file}/${name}`, cachedData, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
    if (entry && (!cachedData || script.cachedDataRejected)) unsaved.push({ entry, script });
    // registered before it runs: a module that requires one still running gets its exports so far, as node's require does
    const module = { exports: {} };
    loaded.set(name, module);
    (script.runInThisContext() as (...a: unknown[]) => void)(module.exports, require, module, file, dirname(file), import.meta.url);
    return module.exports;
  };
  // at exit, when the functions this command ran are compiled too: the next run skips compiling those
  process.once('exit', () => {
    for (const { entry, script } of unsaved) {
      try {
        const tmp = `${entry}.${process.pid}.tmp`;
        writeFileSync(tmp, script.createCachedData(), { mode: 0o600, flag: 'wx' });
        renameSync(tmp, entry);
      } catch {
        // a full disk or a race with another run: the next run compiles again
      }
    }
  });
  await (require(`./${ENTRY}`) as { start: (args: readonly string[]) => Promise<void> }).start(args);
}

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${VERSION}\n`);
} else {
  await main(args);
}
