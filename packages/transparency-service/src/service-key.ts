/**
 * The service's signing key: generated at first start, kept in the data directory with mode 0600,
 * the same across restarts. It is the log's identity, so it is minted only for an empty log: a data
 * directory that holds a log but no key (or a key that did not sign that log) refuses to start.
 *
 * Crash safety (key-file.ts): a kill at any moment leaves no key or a whole one; a stale temporary
 * file, even one named after a process with our PID (PID 1 in a container), never blocks a start.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CoseKey, ScittError, generateKey, loadKey, toPem } from '@scitt-actions/core';
import { decodeSign1, thumbprint, verifySign1 } from '@scitt-actions/core/cose';
import type { ServiceKeyRow } from './database.ts';
import { createKeyFileOnce, removeStaleTemporaries } from './key-file.ts';

export interface ServiceKey {
  key: CoseKey;
  /** RFC 9679 thumbprint, the kid of every receipt (SCRAPI recommends it) */
  kid: Uint8Array;
}

export const KEY_FILE = 'service-key.pem';

/** What the service knows about its log before it has a key. */
export interface LogIdentity {
  /** leaves on the log (0: empty, a key may be minted) */
  size: number;
  /** the latest signed tree head, which the key must verify */
  treeHead?: Uint8Array;
  /** keys rotated in, oldest first (key-rotation.ts): the last one signs */
  rotated?: readonly ServiceKeyRow[];
}

export function loadOrCreateServiceKey(dataDir: string, log: LogIdentity): ServiceKey & { created: boolean } {
  const path = join(dataDir, KEY_FILE);
  removeStaleTemporaries(dataDir, KEY_FILE);
  let created = false;
  if (!existsSync(path)) {
    if (log.size > 0) {
      throw new ScittError(
        'ERR_KEY_INVALID',
        `data directory ${dataDir} holds a log of ${log.size} entries but no ${KEY_FILE}: refusing to mint a new key, which would fork the log's identity; restore ${KEY_FILE} from the backup taken with this log (or start a new log in an empty data directory)`,
      );
    }
    created = createKeyFileOnce(dataDir, KEY_FILE, toPem(generateKey('P-256'), { includePrivate: true }));
  }
  let key: CoseKey;
  try {
    key = loadKey(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ScittError('ERR_KEY_INVALID', `cannot load the service key ${path} (${(e as Error).message}); restore it from the backup taken with this log`);
  }
  if (log.treeHead) assertSignedLog(key, log.treeHead, path, dataDir);
  return { key, kid: thumbprint(key), created };
}

/** The key must be the one that signed the log: a swapped key file is another identity for the same log. */
export function assertSignedLog(key: CoseKey, treeHead: Uint8Array, path: string, dataDir: string): void {
  try {
    verifySign1(decodeSign1(treeHead), key);
  } catch {
    throw new ScittError(
      'ERR_KEY_INVALID',
      `the service key ${path} did not sign the log in ${dataDir} (its latest tree head does not verify with it): refusing to continue the log under another identity; restore the key that belongs to this log`,
    );
  }
}
