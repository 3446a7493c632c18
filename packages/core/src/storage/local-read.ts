/**
 * Reading untrusted local files (statements and evidence beside an artifact, a build's statement
 * files): opened without blocking, so a FIFO never hangs; checked by fstat of the open descriptor
 * to be a regular file within a size cap before a byte is read; hashed as a stream in fixed chunks,
 * so checking a digest never holds the file.
 */
import { createHash } from 'node:crypto';
import { type Stats, constants } from 'node:fs';
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
async function openRegular(path: string, o: LocalReadOptions): Promise<{ handle: FileHandle; size: number }> {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (o.noFollow === false ? 0 : constants.O_NOFOLLOW);
  let handle: FileHandle;
  try {
    handle = await open(path, flags);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new StorageError('ERR_STORAGE_NOT_FOUND', `${o.what} ${path} does not exist`, { cause });
    if (code === 'ELOOP') throw new StorageError('ERR_STORAGE_PATH', `${o.what} ${path} is a symlink; it is not followed`, { cause });
    if (code === 'ENXIO') throw new StorageError('ERR_STORAGE_PATH', `${o.what} ${path} is a socket, not a regular file; refused`, { cause });
    throw new StorageError('ERR_IO', `cannot read ${o.what} ${path}: ${code ?? (cause as Error).message}`, { cause });
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new StorageError('ERR_STORAGE_PATH', `${o.what} ${path} is ${fileType(st)}, not a regular file; refused`);
    if (st.size > o.maxBytes) throw new StorageError('ERR_STORAGE_LIMIT', `${o.what} ${path} is ${st.size} bytes; at most ${o.maxBytes} are read`);
    return { handle, size: st.size };
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
    // one byte more than fstat said, to notice growth without reading past the cap
    const want = Math.min(size, o.maxBytes) + 1;
    const buffer = scratch && scratch.length >= want ? scratch.subarray(0, want) : Buffer.allocUnsafe(want);
    let done = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, done, buffer.length - done, null);
      if (bytesRead === 0) break;
      done += bytesRead;
      if (done === buffer.length) {
        if (done > o.maxBytes) throw new StorageError('ERR_STORAGE_LIMIT', `${o.what} ${path} grew past ${o.maxBytes} bytes while it was read`);
        throw new StorageError('ERR_STORAGE_PATH', `${o.what} ${path} changed while it was read; read it again`);
      }
    }
    return new Uint8Array(buffer.buffer, buffer.byteOffset, done);
  } finally {
    await handle.close();
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
