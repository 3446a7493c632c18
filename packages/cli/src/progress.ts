/** Hashing an artifact the user named, with a progress line on stderr when it is a terminal (never under --json, never in a log). */
import { basename } from 'node:path';

export async function sha256WithProgress(path: string, json: boolean): Promise<string> {
  // the payload module (evidence formats too) only when there is a file to hash
  const { createProgressRenderer, sha256File } = await import('@scitt-actions/core/payload');
  const progress = createProgressRenderer({ json, label: `hashing ${basename(path)}` });
  try {
    return (await sha256File(path, { onProgress: (p) => progress.update(p) })).sha256;
  } finally {
    progress.done();
  }
}
