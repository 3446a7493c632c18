/**
 * Key files created once and never replaced, crash-safe at any moment: the contents go to a temporary
 * file with a random name (never one a killed process with the same PID — PID 1 in a container — can
 * have left behind), fsynced, then hard-linked to the final name, which fails if that name exists (two
 * processes starting at once cannot both install a key), and the directory is fsynced. A kill leaves
 * no key or a whole one, plus at most a stale temporary file that the next start removes.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Removes `<name>.*.tmp` left by killed processes. */
export function removeStaleTemporaries(dataDir: string, name: string): void {
  for (const f of readdirSync(dataDir)) {
    if (!f.startsWith(`${name}.`) || !f.endsWith('.tmp')) continue;
    try {
      unlinkSync(join(dataDir, f));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}

/** Writes `dataDir/name` unless it exists; true when this call installed it. */
export function createKeyFileOnce(dataDir: string, name: string, contents: string): boolean {
  const path = join(dataDir, name);
  const tmp = `${path}.${process.pid}-${randomBytes(8).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, contents);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  let installed = true;
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    installed = false; // a concurrent start installed its key first: that one is used
  } finally {
    unlinkSync(tmp);
  }
  const dir = openSync(dataDir, 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
  return installed;
}
