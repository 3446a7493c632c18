/**
 * The service's checkpoint key: an Ed25519 note key (c2sp.org/signed-note type 0x01) beside the
 * receipt key, generated at first start and kept in the data directory (mode 0600) as the raw
 * 32-byte seed in base64. Its name is the log's origin, chosen at start (--origin, or the issuer
 * without its scheme), so the file holds only the seed: the verifier key is printed at start and
 * served at /checkpoint/key. Written to a temporary file and renamed, like the receipt key.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { generateEd25519Seed } from '@scitt-actions/core/checkpoint';

export const NOTE_KEY_FILE = 'note-key.ed25519';

/** The seed in `file` under dataDir, created when absent (also the witness's key, under another name). */
export function loadOrCreateNoteKeySeed(dataDir: string, file: string = NOTE_KEY_FILE): Uint8Array {
  const path = join(dataDir, file);
  if (!existsSync(path)) {
    const tmp = `${path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, `${Buffer.from(generateEd25519Seed()).toString('base64')}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    const dir = openSync(dataDir, 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }
  const seed = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (seed.length !== 32) throw new Error(`${path} must hold a base64 32-byte Ed25519 seed; restore it from a backup (its loss changes the log's checkpoint key)`);
  return new Uint8Array(seed);
}

/** The default origin: the issuer URL without its scheme and trailing slashes (c2sp.org/tlog-tiles §Parameters). */
export function originFromIss(iss: string): string {
  return iss.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/+$/, '');
}
