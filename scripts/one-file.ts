#!/usr/bin/env node
/**
 * The start of dist/scitt.mjs (scripts/bundle.ts builds it and appends the CLI after it, in a comment).
 * `scitt --version` is answered here, before node has parsed the CLI: the rest of the file is one
 * comment, which V8 skips without parsing. Any other command reads the CLI back out of this same file
 * and compiles it with V8's code cache from the user's own cache directory (compile-cache.ts): the
 * first run compiles it all and saves the cache, later runs reuse it.
 */
import { userCacheDir } from '../packages/cli/src/compile-cache.ts';
import { BEGIN, END, PARAMS, unhide } from './one-file-format.ts';
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

async function main(args: readonly string[]): Promise<void> {
  // builtins here, not imported: an ES import of node:fs alone loads streams and readline, which --version does without
  const { readFileSync, renameSync, writeFileSync } = process.getBuiltinModule('node:fs');
  const { createHash } = process.getBuiltinModule('node:crypto');
  const { createRequire } = process.getBuiltinModule('node:module');
  const { dirname, join } = process.getBuiltinModule('node:path');
  const { fileURLToPath } = process.getBuiltinModule('node:url');
  const vm = process.getBuiltinModule('node:vm');
  const file = fileURLToPath(import.meta.url);
  const bytes = readFileSync(file);
  const text = bytes.toString('latin1');
  // from the end: the launcher itself holds the markers, as strings
  const to = text.lastIndexOf(END);
  const from = text.lastIndexOf(BEGIN, to);
  if (from < 0 || to < from) throw new Error(`${file} is not a complete scitt.mjs: download it again`);
  const code = `(function (${PARAMS.join(', ')}) {'use strict';${unhide(text.slice(from + BEGIN.length, to))}\n})`;
  // the cache is V8's, for this source, this node and its flags: V8 rejects one from another build
  const dir = userCacheDir();
  // hashed as bytes (the whole file), three times faster than the code as a string
  const key = createHash('sha256').update(bytes).update(`${process.version} ${process.arch} ${process.execArgv.join(' ')}`).digest('hex').slice(0, 32);
  const entry = dir && join(dir, `scitt-mjs-${key}.v8cache`);
  const cachedData = entry ? readCache(entry) : undefined;
  const script = new vm.Script(code, { filename: file, cachedData, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
  if (entry && (!cachedData || script.cachedDataRejected)) {
    // at exit, when the functions this command ran are compiled too: the next run skips compiling those
    process.once('exit', () => {
      try {
        const tmp = `${entry}.${process.pid}.tmp`;
        writeFileSync(tmp, script.createCachedData(), { mode: 0o600, flag: 'wx' });
        renameSync(tmp, entry);
      } catch {
        // a full disk or a race with another run: the next run compiles again
      }
    });
  }
  const module = { exports: {} as { start?: (args: readonly string[]) => Promise<void> } };
  (script.runInThisContext() as (...a: unknown[]) => void)(module.exports, createRequire(import.meta.url), module, file, dirname(file), import.meta.url);
  await module.exports.start!(args);
}

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${VERSION}\n`);
} else {
  await main(args);
}
