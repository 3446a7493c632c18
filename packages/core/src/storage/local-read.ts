/**
 * Reading untrusted local files (statements and evidence beside an artifact, a build's statement
 * files): opened without blocking, so a FIFO never hangs; checked by fstat of the open descriptor
 * to be a regular file within a size cap before a byte is read; hashed as a stream in fixed chunks,
 * so checking a digest never holds the file.
 */
import { createHash } from 'node:crypto';
import { type Stats, closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { StorageError } from '../errors.ts';

/** Chunk read while hashing a file as a stream: the only memory a digest check takes. */
export const STREAM_CHUNK_BYTES = 1024 * 1024;

export interface LocalReadOptions {
  /** what the file is, for messages: "statement", "evidence" */
  what: string;
  /** the most bytes that are read; a larger file is refused before it is read */
  maxBytes: number;
  /** refuse a symlink as the final component (O_NOFOLLOW); default true */
  noFollow?: boolean;
}

function fileType(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Opens `path` as a regular file no larger than the cap; the caller closes the handle. */
const openFlags = (o: LocalReadOptions) => constants.O_RDONLY | constants.O_NONBLOCK | (o.noFollow === false ? 0 : constants.O_NOFOLLOW);

function openError(cause: unknown, path: string, o: LocalReadOptions): StorageError {
  const code = (cause as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new StorageError('ERR_STORAGE_NOT_FOUND', `${o.what} ${path} does not exist`, { cause });
  if (code === 'ELOOP') return new StorageError('ERR_STORAGE_PATH', `${o.what} ${path} is a symlink; it is not followed`, { cause });
  if (code === 'ENXIO') return new StorageError('ERR_STORAGE_PATH', `${o.what} ${path} is a socket, not a regular file; refused`, { cause });
  return new StorageError('ERR_IO', `cannot read ${o.what} ${path}: ${code ?? (cause as Error).message}`, { cause });
}

/** The size of an open file that is regular and within the cap; throws otherwise. */
function regularSize(st: Stats, path: string, o: LocalReadOptions): number {
  if (!st.isFile()) throw new StorageError('ERR_STORAGE_PATH', `${o.what} ${path} is ${fileType(st)}, not a regular file; refused`);
  if (st.size > o.maxBytes) throw new StorageError('ERR_STORAGE_LIMIT', `${o.what} ${path} is ${st.size} bytes; at most ${o.maxBytes} are read`);
  return st.size;
}

/** The buffer a read of `size` bytes fills: one byte more than fstat said, to notice growth without reading past the cap. */
function readTarget(size: number, o: LocalReadOptions, scratch?: Buffer): Buffer {
  const want = Math.min(size, o.maxBytes) + 1;
  return scratch && scratch.length >= want ? scratch.subarray(0, want) : Buffer.allocUnsafe(want);
}

function changedWhileRead(path: string, o: LocalReadOptions, done: number): StorageError {
  if (done > o.maxBytes) return new StorageError('ERR_STORAGE_LIMIT', `${o.what} ${path} grew past ${o.maxBytes} bytes while it was read`);
  return new StorageError('ERR_STORAGE_PATH', `${o.what} ${path} changed while it was read; read it again`);
}

async function openRegular(path: string, o: LocalReadOptions): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(path, openFlags(o));
  } catch (cause) {
    throw openError(cause, path, o);
  }
  try {
    return { handle, size: regularSize(await handle.stat(), path, o) };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/**
 * The bytes of a regular file no larger than the cap; a file that grows while read is refused, never
 * read past the cap. With `scratch` (at least maxBytes + 1 long) the bytes are a view into it, so
 * screening many files allocates nothing per file; the caller copies what it keeps.
 */
export async function readRegular(path: string, o: LocalReadOptions, scratch?: Buffer): Promise<Uint8Array> {
  const { handle, size } = await openRegular(path, o);
  try {
    const buffer = readTarget(size, o, scratch);
    let done = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, done, buffer.length - done, null);
      if (bytesRead === 0) break;
      done += bytesRead;
      if (done === buffer.length) throw changedWhileRead(path, o, done);
    }
    return new Uint8Array(buffer.buffer, buffer.byteOffset, done);
  } finally {
    await handle.close();
  }
}

/**
 * readRegular with the same checks, in synchronous calls: for many small local files read one after
 * another (statement files beside a thousand artifacts), where each asynchronous call's round trip
 * through the thread pool costs more than the read. O_NONBLOCK keeps a FIFO from blocking here too.
 */
export function readRegularSync(path: string, o: LocalReadOptions, scratch?: Buffer): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, openFlags(o));
  } catch (cause) {
    throw openError(cause, path, o);
  }
  try {
    const buffer = readTarget(regularSize(fstatSync(fd), path, o), o, scratch);
    let done = 0;
    for (;;) {
      const bytesRead = readSync(fd, buffer, done, buffer.length - done, null);
      if (bytesRead === 0) break;
      done += bytesRead;
      if (done === buffer.length) throw changedWhileRead(path, o, done);
    }
    return new Uint8Array(buffer.buffer, buffer.byteOffset, done);
  } finally {
    closeSync(fd);
  }
}

/** Digest of a regular file no larger than the cap, read as a stream in STREAM_CHUNK_BYTES chunks. */
export async function hashRegular(path: string, nodeAlgorithm: string, o: LocalReadOptions): Promise<{ digest: Buffer; size: number; dev: number; ino: number; mtimeMs: number }> {
  const { handle } = await openRegular(path, o);
  try {
    const st = await handle.stat();
    const hash = createHash(nodeAlgorithm);
    const chunk = Buffer.allocUnsafe(STREAM_CHUNK_BYTES);
    let size = 0;
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size > o.maxBytes) throw new StorageError('ERR_STORAGE_LIMIT', `${o.what} ${path} grew past ${o.maxBytes} bytes while it was hashed`);
      hash.update(chunk.subarray(0, bytesRead));
    }
    return { digest: hash.digest(), size, dev: st.dev, ino: st.ino, mtimeMs: st.mtimeMs };
  } finally {
    await handle.close();
  }
}
