/** Artifacts as stores see them: a name and the SHA-256 of the bytes, from a file or a given digest. */
import { basename } from 'node:path';
import { type ScittError, StorageError } from '../errors.ts';
import { sha256File as hashFile } from '../payload/hashing.ts';
import { normaliseSha256 } from '../payload/purl.ts';
import type { ArtifactRef } from './types.ts';

/** SHA-256 (hex) of a file, through the subject-hashing path (payload/hashing.ts); a missing file is a missing artifact. */
export async function sha256File(path: string): Promise<string> {
  try {
    return (await hashFile(path)).sha256;
  } catch (cause) {
    if ((cause as ScittError).code === 'ERR_SUBJECT_NOT_FOUND') throw new StorageError('ERR_STORAGE_NOT_FOUND', `cannot read artifact ${path}: no such file`, { cause });
    throw cause;
  }
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
