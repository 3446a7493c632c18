/**
 * One log, one identity: a data directory that holds a log but no service key (or a key that did not
 * sign it) refuses to start and mints nothing; the key is created only for an empty log, and a stale
 * temporary key file — even one named after our own PID, as PID 1 in a container — never blocks it.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateKey, loadKey, publicKey, toPem } from '@scitt-actions/core';
import { thumbprint } from '@scitt-actions/core/cose';
import { KEY_FILE, loadOrCreateServiceKey } from '../src/service-key.ts';
import { NOTE_KEY_FILE, loadOrCreateNoteKeySeed } from '../src/note-key.ts';
import { startService } from '../../../test/helpers/transparency-service.ts';
import { runServeExpectingExit } from '../../../test/helpers/ts-process.ts';
import { kidsOf, serviceKeys } from '../../../test/helpers/ts-tools.ts';
import { post, statementBy } from './helpers.ts';

const issuer = generateKey('P-256');
const dirs: string[] = [];
const scratch = () => {
  const d = mkdtempSync(join(tmpdir(), 'scitt-identity-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('a data directory holding a log', () => {
  it('without its key refuses to start and mints none; with another key refuses too; with its own key continues', async () => {
    const dataDir = scratch();
    const first = await startService({ dataDir, issuers: [publicKey(issuer)] });
    const kid = kidsOf(await serviceKeys(first.url));
    expect((await post(first.url, await statementBy(issuer))).status).toBe(201);
    expect(await first.stop()).toBe(0);
    const keyPath = join(dataDir, KEY_FILE);
    const kept = join(scratch(), 'kept.pem');
    renameSync(keyPath, kept);

    const noKey = await runServeExpectingExit({ dataDir });
    expect(noKey.started).toBe(false);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/holds a log of 2 entries but no service-key\.pem: refusing to mint a new key/);
    expect(existsSync(keyPath)).toBe(false);
    expect(readdirSync(dataDir).filter((f) => f.includes('service-key'))).toEqual([]);

    writeFileSync(keyPath, toPem(generateKey('P-256'), { includePrivate: true }), { mode: 0o600 });
    const otherKey = await runServeExpectingExit({ dataDir });
    expect(otherKey.started).toBe(false);
    expect(otherKey.code).toBe(2);
    expect(otherKey.stderr).toMatch(/did not sign the log .*refusing to continue the log under another identity/);

    renameSync(kept, keyPath);
    const again = await startService({ dataDir });
    try {
      expect(kidsOf(await serviceKeys(again.url))).toEqual(kid);
    } finally {
      expect(await again.stop()).toBe(0);
    }
  }, 60_000);
});

describe('one service per data directory', () => {
  it('a second scitt serve on a directory in use refuses to start and writes nothing; after a SIGKILL the lock is gone', async () => {
    const dataDir = scratch();
    const first = await startService({ dataDir, issuers: [publicKey(issuer)] });
    expect((await post(first.url, await statementBy(issuer))).status).toBe(201);
    const second = await runServeExpectingExit({ dataDir });
    expect(second.started).toBe(false);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/in use by another scitt serve.*\[ERR_DATA_DIR_IN_USE\]/);
    // the first goes on as if nothing had happened
    expect((await post(first.url, await statementBy(issuer))).status).toBe(201);
    await first.kill();
    const third = await startService({ dataDir });
    try {
      expect((await post(third.url, await statementBy(issuer))).status).toBe(201);
    } finally {
      expect(await third.stop()).toBe(0);
    }
  }, 60_000);
});

describe('key creation', () => {
  it('is not blocked by stale temporary files, one of them named after this very PID', () => {
    const dataDir = scratch();
    const stale = [`${KEY_FILE}.${process.pid}.tmp`, `${KEY_FILE}.1.tmp`, `${KEY_FILE}.1-0011223344556677.tmp`];
    for (const f of stale) writeFileSync(join(dataDir, f), '-----BEGIN PRIVATE KEY-----\ntorn');
    const k = loadOrCreateServiceKey(dataDir, { size: 0 });
    expect(k.created).toBe(true);
    expect(readdirSync(dataDir).sort()).toEqual([KEY_FILE]);
    const onDisk = loadKey(readFileSync(join(dataDir, KEY_FILE), 'utf8'));
    expect(Buffer.from(thumbprint(onDisk))).toEqual(Buffer.from(k.kid));
    // the next start loads the same key, and a key that exists is never replaced
    const again = loadOrCreateServiceKey(dataDir, { size: 0 });
    expect(again.created).toBe(false);
    expect(Buffer.from(again.kid)).toEqual(Buffer.from(k.kid));
  });

  it('of the checkpoint note key is not blocked by a stale temporary file named after this PID either', () => {
    const dataDir = scratch();
    writeFileSync(join(dataDir, `${NOTE_KEY_FILE}.${process.pid}.tmp`), 'torn');
    const seed = loadOrCreateNoteKeySeed(dataDir);
    expect(seed.length).toBe(32);
    expect(readdirSync(dataDir)).toEqual([NOTE_KEY_FILE]);
    expect(Buffer.from(loadOrCreateNoteKeySeed(dataDir))).toEqual(Buffer.from(seed));
  });

  it('for a log that has entries throws instead of minting', () => {
    const dataDir = scratch();
    expect(() => loadOrCreateServiceKey(dataDir, { size: 3 })).toThrow(/holds a log of 3 entries but no service-key\.pem/);
    expect(readdirSync(dataDir)).toEqual([]);
  });
});
