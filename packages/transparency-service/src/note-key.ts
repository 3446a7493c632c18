/**
 * The service's checkpoint key: an Ed25519 note key (c2sp.org/signed-note type 0x01) beside the
 * receipt key, generated at first start and kept in the data directory (mode 0600) as the raw
 * 32-byte seed in base64. Its name is the log's origin, chosen at start (--origin, or the issuer
 * without its scheme), so the file holds only the seed: the verifier key is printed at start and
 * served at /checkpoint/key. Created crash-safely like the receipt key (key-file.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateEd25519Seed } from '@scitt-actions/core/checkpoint';
import { createKeyFileOnce, removeStaleTemporaries } from './key-file.ts';

export const NOTE_KEY_FILE = 'note-key.ed25519';

/** The seed in `file` under dataDir, created when absent (also the witness's key, under another name). */
export function loadOrCreateNoteKeySeed(dataDir: string, file: string = NOTE_KEY_FILE): Uint8Array {
  const path = join(dataDir, file);
  // key-file.ts: a stale temporary file (even one named after our PID) never blocks a start
  removeStaleTemporaries(dataDir, file);
  if (!existsSync(path)) createKeyFileOnce(dataDir, file, `${Buffer.from(generateEd25519Seed()).toString('base64')}\n`);
  const seed = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (seed.length !== 32) throw new Error(`${path} must hold a base64 32-byte Ed25519 seed; restore it from a backup (its loss changes the log's checkpoint key)`);
  return new Uint8Array(seed);
}

/** The default origin: the issuer URL without its scheme and trailing slashes (c2sp.org/tlog-tiles §Parameters). */
export function originFromIss(iss: string): string {
  return iss.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/+$/, '');
}
