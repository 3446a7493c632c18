/**
 * SHA-256 of artifacts with constant memory and progress. Measured on Node 24 (test/bench/hashing.ts):
 * large files are read into two alternating 4 MiB buffers so the next read overlaps hashing of the
 * current one (faster than createReadStream at any highWaterMark, and than `openssl dgst`); files no
 * larger than one buffer are read and hashed synchronously, which avoids a thread-pool round trip per
 * call and is what makes thousands of small files fast.
 */
import { createHash, hash as oneShot } from 'node:crypto';
import { type Stats, closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { PayloadError } from '../errors.ts';

/** Read buffer size; two of them are in use while a large file is hashed. */
export const HASH_BUFFER_BYTES = 4 * 1024 * 1024;

export interface HashProgress {
  /** bytes hashed so far, over all files */
  bytesDone: number;
  /** bytes to hash in total (sizes at the time the files were opened) */
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
  /** the file being hashed */
  path: string;
}
export type ProgressCallback = (progress: HashProgress) => void;

export interface FileDigest {
  path: string;
  /** lower-case hex */
  sha256: string;
  size: number;
}

export interface HashOptions {
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

/** SHA-256 of bytes, lower-case hex. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Opened without blocking: a FIFO opens at once instead of waiting for a writer (and is then refused
 * by fstat), so no path an attacker controls can hang the hashing.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

function ioError(path: string, cause: unknown): PayloadError {
  const code = (cause as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new PayloadError('ERR_SUBJECT_NOT_FOUND', `${path} does not exist`, { cause });
  if (code === 'EISDIR') return new PayloadError('ERR_SUBJECT_DIRECTORY', `${path} is a directory; hash the files in it (e.g. ${path}/**)`, { cause });
  // a socket cannot be opened at all
  if (code === 'ENXIO') return notRegular(path, 'a socket');
  return new PayloadError('ERR_IO', `cannot read ${path}: ${code ?? String(cause)}`, { cause });
}

function fileType(info: Stats): string {
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
}

function notRegular(path: string, what: string): PayloadError {
  return new PayloadError('ERR_SUBJECT_NOT_REGULAR', `${path} is ${what}, not a regular file; only regular files (or symlinks to them) are artifacts — name the file itself`);
}

/** Refuses what is not a regular file, by fstat of the open descriptor (what is read is what was checked). */
function checkRegular(path: string, info: Stats): void {
  if (info.isDirectory()) throw ioError(path, Object.assign(new Error('EISDIR'), { code: 'EISDIR' }));
  if (!info.isFile()) throw notRegular(path, fileType(info));
}

/** Small file: one synchronous read into the shared buffer. Returns undefined when the file is larger than the buffer. */
function hashSmallSync(path: string, buffer: Buffer): FileDigest | undefined {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (cause) {
    throw ioError(path, cause);
  }
  try {
    const info = fstatSync(fd);
    checkRegular(path, info);
    if (info.size > buffer.length) return undefined;
    const first = readSync(fd, buffer, 0, buffer.length, null);
    // the common case: one read returns the size fstat reported; hash it in one call
    if (first === info.size) return { path, sha256: oneShot('sha256', buffer.subarray(0, first), 'hex'), size: first };
    // the file changed between fstat and read: hash whatever reading to EOF gives
    const h = createHash('sha256').update(buffer.subarray(0, first));
    let size = first;
    for (let n = first; n > 0; size += n) {
      n = readSync(fd, buffer, 0, buffer.length, null);
      h.update(buffer.subarray(0, n));
    }
    return { path, sha256: h.digest('hex'), size };
  } catch (cause) {
    throw cause instanceof PayloadError ? cause : ioError(path, cause);
  } finally {
    closeSync(fd);
  }
}

/** Large file: two buffers alternate so the next read runs in the thread pool while this one is hashed. */
async function hashLarge(path: string, onBytes: (n: number) => void, signal: AbortSignal | undefined): Promise<FileDigest> {
  let handle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (cause) {
    throw ioError(path, cause);
  }
  try {
    // opened again after the small-file check: it may have been replaced meanwhile
    checkRegular(path, await handle.stat());
  } catch (cause) {
    await handle.close();
    throw cause instanceof PayloadError ? cause : ioError(path, cause);
  }
  const buffers = [Buffer.allocUnsafe(HASH_BUFFER_BYTES), Buffer.allocUnsafe(HASH_BUFFER_BYTES)] as const;
  const hash = createHash('sha256');
  let size = 0;
  let which = 0;
  let pending = handle.read(buffers[0], 0, HASH_BUFFER_BYTES, null);
  try {
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      signal?.throwIfAborted();
      const current = buffers[which]!;
      which ^= 1;
      pending = handle.read(buffers[which]!, 0, HASH_BUFFER_BYTES, null);
      hash.update(current.subarray(0, bytesRead));
      size += bytesRead;
      onBytes(bytesRead);
    }
    return { path, sha256: hash.digest('hex'), size };
  } catch (cause) {
    throw cause instanceof PayloadError || (cause as Error).name === 'AbortError' ? cause : ioError(path, cause);
  } finally {
    // settle the read in flight before closing its file
    await pending.catch(() => undefined);
    await handle.close();
  }
}

/** A file's size for the progress total; 0 when it cannot be read (hashing then says why). */
function sizeOrZero(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** SHA-256 of one file. */
export async function sha256File(path: string, options: HashOptions = {}): Promise<FileDigest> {
  const [digest] = await sha256Files([path], options);
  return digest!;
}

/**
 * SHA-256 of files, in order. Memory stays constant (at most three 4 MiB buffers) whatever the
 * file sizes; progress is reported after each small file and each 4 MiB of a large one.
 */
export async function sha256Files(paths: readonly string[], options: HashOptions = {}): Promise<FileDigest[]> {
  const { onProgress, signal } = options;
  const shared = Buffer.allocUnsafe(HASH_BUFFER_BYTES);
  const out: FileDigest[] = [];
  let bytesTotal = 0;
  if (onProgress) {
    // sizes up front so the first report already knows the total (synchronous, as the small files are hashed: one call each, no thread-pool round trip)
    for (const p of paths) bytesTotal += sizeOrZero(p);
  }
  let bytesDone = 0;
  let lastYield = performance.now();
  for (let i = 0; i < paths.length; i++) {
    signal?.throwIfAborted();
    const path = paths[i]!;
    const report = (): void => onProgress?.({ bytesDone, bytesTotal: Math.max(bytesTotal, bytesDone), filesDone: out.length, filesTotal: paths.length, path });
    let digest = hashSmallSync(path, shared);
    if (digest) {
      bytesDone += digest.size;
    } else {
      digest = await hashLarge(path, (n) => {
        bytesDone += n;
        report();
      }, signal);
      lastYield = performance.now();
    }
    out.push(digest);
    report();
    // synchronous small-file hashing must not starve timers, signals and the progress display
    if (performance.now() - lastYield > 50) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
  }
  return out;
}
