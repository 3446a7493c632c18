/**
 * What to attach, read from a build's own files: each Transparent Statement file, and for a Hash
 * Envelope the evidence at its relative payload-location beside that file (as issue-statement
 * writes it). The location is resolved safely (safe-path.ts): it never reads outside the directory.
 */
import { dirname } from 'node:path';
import { StorageError } from '../errors.ts';
import { parseSignedStatement } from '../statement/signed-statement.ts';
import { STATEMENT_MEDIA_TYPE } from '../statement/profile.ts';
import { readRegular } from './local-read.ts';
import { locationSegments, resolveInside } from './safe-path.ts';
import { DEFAULT_STORAGE_LIMITS, type StorageItem } from './types.ts';

export interface LocalStatement {
  path: string;
  bytes: Uint8Array;
  sub: string;
  /** the statement and, for a Hash Envelope whose evidence is beside it, the evidence */
  items: StorageItem[];
}

export async function readLocalStatement(path: string): Promise<LocalStatement> {
  let bytes: Uint8Array;
  try {
    // the path the build named may be a symlink; what it leads to must be a regular file within the statement limit
    bytes = await readRegular(path, { what: 'statement', maxBytes: DEFAULT_STORAGE_LIMITS.statementBytes, noFollow: false });
  } catch (e) {
    if (e instanceof StorageError && e.code !== 'ERR_STORAGE_NOT_FOUND') throw e;
    throw new StorageError('ERR_IO', `cannot read ${path}: ${e instanceof StorageError ? 'no such file' : (e as Error).message}`, { cause: e });
  }
  const statement = parseSignedStatement(bytes);
  const name = path.split('/').pop()!;
  const items: StorageItem[] = [{ name, bytes, mediaType: STATEMENT_MEDIA_TYPE }];
  const he = statement.hashEnvelope;
  if (he?.location) {
    const segments = locationSegments(he.location);
    const evidencePath = await resolveInside(dirname(path), segments, false);
    if (evidencePath) {
      // the location is the statement's word: a capped read of a regular file, never a symlink, FIFO or device
      const evidence = await readRegular(evidencePath, { what: 'evidence', maxBytes: DEFAULT_STORAGE_LIMITS.evidenceBytes }).catch((e: unknown) => {
        // evidence that is not there is attached later or not at all; anything else is refused loudly
        if (e instanceof StorageError && e.code === 'ERR_STORAGE_NOT_FOUND') return undefined;
        throw e;
      });
      if (evidence) items.push({ name: segments[segments.length - 1]!, bytes: evidence, mediaType: String(he.preimageContentType ?? 'application/octet-stream') });
    }
  }
  return { path, bytes, sub: statement.sub, items };
}
