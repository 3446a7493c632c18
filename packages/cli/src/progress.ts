/** Hashing an artifact the user named, with a progress line on stderr when it is a terminal (never under --json, never in a log). */
import { basename } from 'node:path';
import { createProgressRenderer, sha256File } from '@scitt-actions/core/payload';

export async function sha256WithProgress(path: string, json: boolean): Promise<string> {
  const progress = createProgressRenderer({ json, label: `hashing ${basename(path)}` });
  try {
    return (await sha256File(path, { onProgress: (p) => progress.update(p) })).sha256;
  } finally {
    progress.done();
  }
}
