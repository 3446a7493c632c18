/**
 * The service's signing key: generated at first start, kept in the data directory with mode 0600,
 * the same across restarts. Written to a temporary file and renamed, so a kill during generation
 * leaves either no key or a whole one, never half of one.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type CoseKey, generateKey, loadKey, thumbprint, toPem } from '@scitt-actions/core';

export interface ServiceKey {
  key: CoseKey;
  /** RFC 9679 thumbprint, the kid of every receipt (SCRAPI recommends it) */
  kid: Uint8Array;
}

export const KEY_FILE = 'service-key.pem';

export function loadOrCreateServiceKey(dataDir: string): ServiceKey & { created: boolean } {
  const path = join(dataDir, KEY_FILE);
  let created = false;
  if (!existsSync(path)) {
    const key = generateKey('P-256');
    const tmp = `${path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, toPem(key, { includePrivate: true }));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    fsyncDir(dataDir);
    created = true;
  }
  const key = loadKey(readFileSync(path, 'utf8'));
  return { key, kid: thumbprint(key), created };
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
