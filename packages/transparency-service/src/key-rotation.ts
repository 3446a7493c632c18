/**
 * Key rotation. The log's first key is service-key.pem; each rotation mints a key, keeps it next to it
 * as service-key-<kid hex>.pem (mode 0600, created once, crash-safe: key-file.ts), and announces it on
 * the log: a Signed Statement by the current key, sub KEY_ROTATION_SUBJECT, whose payload is the new
 * public COSE_Key with its kid. The announcement ends a batch signed by the current key; the next
 * batch is signed by the new key. The service_keys table records each rotation in the transaction that
 * appends its announcement, so a restart signs with the key the log last announced.
 *
 * A crash after the key file is written but before the announcement commits leaves an unused key
 * file and the old key in force: nothing is announced that the log does not sign with.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CoseKey, ScittError, generateKey, loadKey, toPem } from '@scitt-actions/core';
import { type Signer, decodeCoseKey, encodeCoseKey, publicKey, thumbprint } from '@scitt-actions/core/cose';
import { createSignedStatement } from '@scitt-actions/core/statement';
import { createKeyFileOnce, removeStaleTemporaries } from './key-file.ts';
import { KEY_FILE, type LogIdentity, type ServiceKey, assertSignedLog, loadOrCreateServiceKey } from './service-key.ts';

const KEY_ROTATION_SUBJECT = 'scitt-actions:service-key';
const KEY_ROTATION_MEDIA_TYPE = 'application/cose-key';

/** What a rotation needs: the new key, and its public COSE_Key (with kid) as announced. */
export interface RotationTarget {
  key: ServiceKey;
  coseKey: Uint8Array;
}

/** The key signing now, and every key that signed the log (oldest first). */
export interface KeyHistory {
  current: ServiceKey;
  all: ServiceKey[];
}

const keyFileOf = (kid: Uint8Array) => `service-key-${Buffer.from(kid).toString('hex')}.pem`;

/** Mints the next key and stores it in the data directory; the log announces it (TransparencyLog.rotateKey). */
export function createRotationKey(dataDir: string): RotationTarget {
  const key = generateKey('P-256');
  const kid = thumbprint(key);
  const name = keyFileOf(kid);
  removeStaleTemporaries(dataDir, name);
  if (!createKeyFileOnce(dataDir, name, toPem(key, { includePrivate: true }))) throw new ScittError('ERR_KEY_INVALID', `key file ${name} already exists`);
  return { key: { key, kid }, coseKey: encodeCoseKey({ ...publicKey(key), kid }) };
}

/** The announcement: the new public key, signed by the key in force. */
export function announcementStatement(o: { signer: Signer; kid: Uint8Array; iss: string; next: ServiceKey }): Promise<Uint8Array> {
  return createSignedStatement({
    payload: encodeCoseKey({ ...publicKey(o.next.key), kid: o.next.kid }),
    contentType: KEY_ROTATION_MEDIA_TYPE,
    signer: o.signer,
    iss: o.iss,
    sub: KEY_ROTATION_SUBJECT,
    kid: o.kid,
  });
}

/**
 * The keys of a data directory: service-key.pem (created for an empty log only), then each key the
 * log announced, whose private key must be in service-key-<kid hex>.pem. The last one signs, and must
 * have signed the latest tree head.
 */
export function loadServiceKeys(dataDir: string, log: LogIdentity): KeyHistory & { created: boolean } {
  const rotated = log.rotated ?? [];
  const first = loadOrCreateServiceKey(dataDir, rotated.length > 0 ? { size: log.size } : log);
  const all: ServiceKey[] = [{ key: first.key, kid: first.kid }];
  for (const r of rotated) {
    const pub = decodeCoseKey(r.coseKey);
    all.push({ key: publicKey(pub), kid: r.kid });
  }
  if (rotated.length === 0) return { current: all[0]!, all, created: first.created };
  const last = rotated[rotated.length - 1]!;
  const path = join(dataDir, keyFileOf(last.kid));
  if (!existsSync(path)) {
    throw new ScittError('ERR_KEY_INVALID', `the log announced key ${Buffer.from(last.kid).toString('hex')} at leaf ${last.leafIndex} but ${path} is missing: restore it from the backup taken with this log (${KEY_FILE} and every service-key-*.pem belong to it)`);
  }
  let key: CoseKey;
  try {
    key = loadKey(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ScittError('ERR_KEY_INVALID', `cannot load the service key ${path} (${(e as Error).message}); restore it from the backup taken with this log`);
  }
  if (!Buffer.from(thumbprint(key)).equals(last.kid)) throw new ScittError('ERR_KEY_INVALID', `${path} does not hold the key its name and the log announce`);
  if (log.treeHead) assertSignedLog(key, log.treeHead, path, dataDir);
  const current = { key, kid: last.kid };
  all[all.length - 1] = { key: publicKey(key), kid: last.kid };
  return { current, all, created: false };
}
