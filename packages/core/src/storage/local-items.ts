/**
 * What to attach, read from a build's own files: each Transparent Statement file, and for a Hash
 * Envelope the evidence at its relative payload-location beside that file (as issue-statement
 * writes it). The location is resolved safely (safe-path.ts): it never reads outside the directory.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StorageError } from '../errors.ts';
import { parseSignedStatement } from '../statement/signed-statement.ts';
import { STATEMENT_MEDIA_TYPE } from '../statement/profile.ts';
import { locationSegments, resolveInside } from './safe-path.ts';
import type { StorageItem } from './types.ts';

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
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new StorageError('ERR_IO', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const statement = parseSignedStatement(bytes);
  const name = path.split('/').pop()!;
  const items: StorageItem[] = [{ name, bytes, mediaType: STATEMENT_MEDIA_TYPE }];
  const he = statement.hashEnvelope;
  if (he?.location) {
    const segments = locationSegments(he.location);
    const evidencePath = await resolveInside(dirname(path), segments, false);
    if (evidencePath) {
      const evidence = await readFile(evidencePath).catch(() => undefined);
      if (evidence) items.push({ name: segments[segments.length - 1]!, bytes: new Uint8Array(evidence), mediaType: String(he.preimageContentType ?? 'application/octet-stream') });
    }
  }
  return { path, bytes, sub: statement.sub, items };
}
