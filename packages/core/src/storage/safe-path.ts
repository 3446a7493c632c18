/**
 * Paths inside a directory, for evidence written where a Hash Envelope's payload-location says:
 * absolute paths, `..`, and symlinks that lead out of the directory are refused; the final component
 * is never followed when it is a symlink. Writes are atomic (temporary file + link or rename), and
 * creating never replaces a file that appeared meanwhile.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, link, lstat, mkdir, open, realpath, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep, basename, isAbsolute } from 'node:path';
import { StorageError } from '../errors.ts';

function pathError(message: string): StorageError {
  return new StorageError('ERR_STORAGE_PATH', message);
}

function isInside(base: string, candidate: string): boolean {
  const rel = relative(base, candidate);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * The path segments of a relative payload-location, refusing anything that could leave the
 * directory. An absolute URL (https://…/name) stands for its last path segment, stored beside the artifact.
 */
export function locationSegments(location: string): string[] {
  if (/^[A-Za-z]:[\\/]/.test(location) || location.startsWith('/') || location.startsWith('\\')) {
    throw pathError(`payload-location ${JSON.stringify(location)} is an absolute path; evidence is stored only inside the artifact's directory — use a path relative to the artifact`);
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(location)) {
    let url: URL;
    try {
      url = new URL(location);
    } catch {
      throw pathError(`payload-location ${JSON.stringify(location)} is neither a relative path nor a valid URL`);
    }
    if (url.protocol === 'file:') throw pathError(`payload-location ${JSON.stringify(location)} is an absolute file: URL; use a path relative to the artifact`);
    const last = url.pathname.split('/').pop() ?? '';
    let name: string;
    try {
      name = decodeURIComponent(last);
    } catch {
      throw pathError(`payload-location ${JSON.stringify(location)} has a malformed last path segment`);
    }
    return [checkSegment(name, location)];
  }
  if (/[?#]/.test(location)) throw pathError(`payload-location ${JSON.stringify(location)} has a query or fragment; a stored evidence path has neither`);
  return location.split('/').map((s) => checkSegment(s, location));
}

function checkSegment(segment: string, location: string): string {
  // '/' can only get into one segment through the percent-decoded last segment of a URL (%2F):
  // there it would reach a directory (or a symlink out of the directory) that was never checked
  if (!segment || segment === '.' || segment === '..' || /[/\\\u0000-\u001f\u007f]/.test(segment)) {
    throw pathError(`payload-location ${JSON.stringify(location)} has the path segment ${JSON.stringify(segment)}; \`..\`, \`.\`, empty segments and backslashes are refused so evidence stays inside the artifact's directory`);
  }
  return segment;
}

async function lstatOrUndefined(path: string) {
  try {
    return await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * The absolute path of `segments` under `directory`. Intermediate directories are created when
 * `create` is set; a symlinked directory is accepted only when it resolves inside the directory. Returns undefined when a directory is missing and `create` is not set.
 */
export async function resolveInside(directory: string, segments: readonly string[], create: boolean): Promise<string | undefined> {
  const baseDir = await realpath(directory);
  let current = baseDir;
  for (const segment of segments.slice(0, -1)) {
    const next = join(current, segment);
    const st = await lstatOrUndefined(next);
    if (!st) {
      if (!create) return undefined;
      await mkdir(next);
      current = next;
    } else if (st.isSymbolicLink()) {
      const real = await realpath(next);
      if (!isInside(baseDir, real)) throw pathError(`${join(...segments)}: ${segment} is a symlink that leads out of ${baseDir}; refused`);
      if (!(await stat(real)).isDirectory()) throw pathError(`${join(...segments)}: ${segment} is not a directory`);
      current = real;
    } else if (st.isDirectory()) {
      current = next;
    } else {
      throw pathError(`${join(...segments)}: ${segment} is not a directory`);
    }
  }
  const final = join(current, segments[segments.length - 1]!);
  if (!isInside(baseDir, final)) throw pathError(`${join(...segments)} leads out of ${baseDir}; refused`);
  const st = await lstatOrUndefined(final);
  if (st?.isSymbolicLink()) throw pathError(`${final} is a symlink; it is not followed or replaced`);
  if (st && !st.isFile()) throw pathError(`${final} exists and is not a regular file`);
  return final;
}

async function writeTemp(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  const tmp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return tmp;
}

/** Creates `path` with `bytes` atomically; fails with ERR_STORAGE_CONFLICT if it exists (never replaces). */
export async function createFile(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = await writeTemp(dirname(path), basename(path), bytes);
  try {
    try {
      await link(tmp, path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new StorageError('ERR_STORAGE_CONFLICT', `${path} appeared while attaching; it is not overwritten — run attach again`);
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw e;
      // file systems without hard links: an exclusive copy keeps the no-clobber guarantee
      await copyFile(tmp, path, constants.COPYFILE_EXCL).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST') throw new StorageError('ERR_STORAGE_CONFLICT', `${path} appeared while attaching; it is not overwritten — run attach again`);
        throw err;
      });
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** Replaces `path` with `bytes` atomically (rename over it): readers see the old or the new file, never a mix. */
export async function replaceFile(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = await writeTemp(dirname(path), basename(path), bytes);
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}
