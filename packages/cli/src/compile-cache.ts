/**
 * Where compiled code may be cached between runs: a directory only this user can write, or none.
 * V8's code cache is code: loading one that another user wrote would run their code as ours. Node's
 * default (os.tmpdir()/node-compile-cache) is shared, so scitt never uses it: it uses the user's own
 * cache directory, created 0700, and only once it is a real directory (not a symlink) that no other
 * user can write, as is its parent. NODE_DISABLE_COMPILE_CACHE=1 turns caching off, as it does for Node.
 */
// builtins on first use, not imported: scitt.mjs's launcher includes this module, and its --version loads no more than node does
const fs = () => process.getBuiltinModule('node:fs');
const path = () => process.getBuiltinModule('node:path');

/** A real directory (not a symlink) owned by one of `owners` that no one else can write: no other user can plant or swap a file in it. */
function private_(dir: string, owners: readonly number[]): boolean {
  const st = fs().lstatSync(dir);
  // Windows has no uids or mode bits: %LOCALAPPDATA% is per-user by the OS's ACLs
  return st.isDirectory() && (process.platform === 'win32' || (owners.includes(st.uid) && (st.mode & 0o022) === 0));
}

/** The user's cache directory for scitt (created if missing), or undefined when none is safe to use. */
export function userCacheDir(): string | undefined {
  if (process.env.NODE_DISABLE_COMPILE_CACHE) return undefined;
  try {
    const base = process.platform === 'win32' ? process.env.LOCALAPPDATA
      : process.platform === 'darwin' ? path().join(process.getBuiltinModule('node:os').homedir(), 'Library', 'Caches')
        : process.env.XDG_CACHE_HOME?.startsWith('/') ? process.env.XDG_CACHE_HOME : path().join(process.getBuiltinModule('node:os').homedir(), '.cache');
    if (!base) return undefined;
    const dir = path().join(base, 'scitt');
    fs().mkdirSync(dir, { recursive: true, mode: 0o700 });
    const uid = process.getuid?.() ?? -1;
    return private_(path().dirname(dir), [uid, 0]) && private_(dir, [uid]) ? dir : undefined;
  } catch {
    // no home, a read-only file system, a foreign directory: run without a cache
    return undefined;
  }
}
