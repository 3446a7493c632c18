/** Artifacts as stores see them: a name and the SHA-256 of the bytes, from a file or a given digest. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { StorageError } from '../errors.ts';
import { normaliseSha256 } from '../payload/purl.ts';
import type { ArtifactRef } from './types.ts';

/** SHA-256 (hex) of a file, streamed in constant memory. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Uint8Array);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new StorageError(code === 'ENOENT' ? 'ERR_STORAGE_NOT_FOUND' : 'ERR_IO', `cannot read artifact ${path}: ${(cause as Error).message}`, { cause });
  }
  return hash.digest('hex');
}

/** The artifact a local file is: its base name and digest. */
export async function fileArtifact(path: string): Promise<ArtifactRef> {
  return { name: basename(path), sha256: await sha256File(path) };
}

/** An artifact from a name and a digest given as `sha256:<hex>` or hex. */
export function artifactRef(name: string, digest: string): ArtifactRef {
  const sha256 = normaliseSha256(digest);
  if (!sha256) throw new StorageError('ERR_STORAGE_TARGET', `artifact digest ${JSON.stringify(digest)} of ${JSON.stringify(name)} is not sha256:<64 hex digits>`);
  if (!name) throw new StorageError('ERR_STORAGE_TARGET', 'an artifact needs a name');
  return { name, sha256 };
}

export function checkArtifact(artifact: ArtifactRef): ArtifactRef {
  return artifactRef(artifact.name, artifact.sha256);
}
