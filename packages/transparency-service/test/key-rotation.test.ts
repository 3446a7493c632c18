/**
 * Key rotation on a running service, under load: 16 clients register while the admin rotates the key.
 * Nothing acknowledged is lost, every receipt verifies with the key its kid names, the announcement on
 * the log is signed by the old key and carries the new one, tree heads before and after are consistent,
 * a restart signs with the new key, and a verifier pinned to the old key gets an error naming the kid.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScittError, generateKey, publicKey } from '@scitt-actions/core';
import { Claim, Header, decodeCoseKey, decodeKeySet, decodeSign1, thumbprint, verifySign1 } from '@scitt-actions/core/cose';
import { TrustedKeys, statementEntry, verifyConsistencyReceipt, verifyReceipt, verifyTreeHead } from '@scitt-actions/core/receipt';
import { type ServiceProcess, startService } from '../../../test/helpers/transparency-service.ts';
import { post, registerConcurrently, statementBy } from './helpers.ts';

const issuer = generateKey('P-256');
const ADMIN = 'admin-token-for-rotation-test-0123456789';
const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');

async function keySet(url: string) {
  return decodeKeySet(new Uint8Array(await (await fetch(`${url}/.well-known/scitt-keys`)).arrayBuffer()));
}
const rotate = (url: string, token = ADMIN) => fetch(`${url}/admin/rotate-key`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });

describe('key rotation while registrations are in flight', () => {
  let ts: ServiceProcess;
  beforeAll(async () => {
    const dir = (await import('node:fs')).mkdtempSync(join((await import('node:os')).tmpdir(), 'scitt-rot-'));
    writeFileSync(join(dir, 'admin-token'), `${ADMIN}\n`, { mode: 0o600 });
    ts = await startService({ issuers: [publicKey(issuer)], args: ['--rate', '0', '--admin-token-file', join(dir, 'admin-token')] });
  });
  afterAll(async () => {
    if (ts) await ts.stop();
  });

  it('loses nothing; receipts verify with the key they name; the announcement and consistency hold', async () => {
    const [oldKey] = await keySet(ts.url);
    const oldKid = oldKey!.kid!;
    const denied = await rotate(ts.url, 'wrong-token');
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toBe('Bearer');
    const headBefore = new Uint8Array(await (await fetch(`${ts.url}/tree-head`)).arrayBuffer());

    const pool = await Promise.all(Array.from({ length: 400 }, () => statementBy(issuer)));
    let answered = 0;
    let rotation: Promise<Response> | undefined;
    const load = registerConcurrently(ts.url, pool, {
      connections: 16,
      onAnswer: () => {
        if (++answered === 150) rotation = rotate(ts.url); // mid-load
      },
    });
    const { answers, networkErrors } = await load;
    const rotated = await rotation!;
    expect(rotated.status).toBe(201);
    const body = (await rotated.json()) as { kid: string; previousKid: string; announcement: { entryId: string; leafIndex: number } };
    expect(body.previousKid).toBe(b64u(oldKid));
    expect(networkErrors).toBe(0);
    expect(answers.every((a) => a?.status === 201)).toBe(true);

    // both keys are served, and each one by its kid
    const all = await keySet(ts.url);
    expect(all.map((k) => b64u(k.kid!))).toEqual([b64u(oldKid), body.kid]);
    const one = await fetch(`${ts.url}/.well-known/scitt-keys/${body.kid}`);
    expect(one.status).toBe(200);
    const newKey = decodeCoseKey(new Uint8Array(await one.arrayBuffer()));
    expect(b64u(thumbprint(newKey))).toBe(body.kid);
    const keys = new TrustedKeys(all);

    // the announcement: signed by the old key, names the new key
    const ann = new Uint8Array(await (await fetch(`${ts.url}/entries/${body.announcement.entryId}/statement`)).arrayBuffer());
    const sign1 = decodeSign1(ann);
    expect(b64u(sign1.protectedHeader.get(Header.kid) as Uint8Array)).toBe(b64u(oldKid));
    verifySign1(sign1, oldKey!);
    expect((sign1.protectedHeader.get(Header.cwtClaims) as Map<number, unknown>).get(Claim.sub)).toBe('scitt-actions:service-key');
    expect(b64u(decodeCoseKey(sign1.payload!).kid!)).toBe(body.kid);

    // every registration is on the log, and its receipt verifies with the key it names
    const kids = new Map<string, number>();
    for (const s of pool) {
      const id = Buffer.from(await crypto.subtle.digest('SHA-256', statementEntry(s))).toString('hex');
      const r = await fetch(`${ts.url}/entries/${id}`);
      expect(r.status).toBe(200);
      const v = verifyReceipt(new Uint8Array(await r.arrayBuffer()), statementEntry(s), keys);
      kids.set(b64u(v.kid), (kids.get(b64u(v.kid)) ?? 0) + 1);
      // leaves after the announcement are signed by the new key, those before by the old one
      expect(b64u(v.kid)).toBe(v.leafIndex! > body.announcement.leafIndex ? body.kid : b64u(oldKid));
    }
    expect([...kids.values()].reduce((a, b) => a + b)).toBe(pool.length);
    expect(kids.size).toBe(2); // the rotation landed mid-load: receipts under both keys

    // consistency across the rotation: the old tree head extends to the new one
    const headAfter = new Uint8Array(await (await fetch(`${ts.url}/tree-head`)).arrayBuffer());
    const before = verifyTreeHead(headBefore, keys);
    const after = verifyTreeHead(headAfter, keys);
    expect(b64u(before.kid)).toBe(b64u(oldKid));
    expect(b64u(after.kid)).toBe(body.kid);
    const proof = new Uint8Array(await (await fetch(`${ts.url}/consistency?from=${before.treeSize}&to=${after.treeSize}`)).arrayBuffer());
    expect(verifyConsistencyReceipt(proof, before, keys).root).toEqual(after.root);

    // a verifier pinned to the old key only: the error names the kid and how to refresh the pin
    const fresh = await statementBy(issuer);
    const receipt = new Uint8Array(await (await post(ts.url, fresh)).arrayBuffer());
    let err: unknown;
    try {
      verifyReceipt(receipt, statementEntry(fresh), new TrustedKeys([oldKey!]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScittError);
    expect((err as ScittError).code).toBe('ERR_RECEIPT_KEY_UNKNOWN');
    expect((err as Error).message).toContain(`${ts.url}/.well-known/scitt-keys/${body.kid}`);

    // a restart signs with the new key and serves both
    const dataDir = ts.dataDir;
    expect(await ts.stop()).toBe(0);
    ts = await startService({ dataDir, args: ['--rate', '0'] });
    expect((await keySet(ts.url)).map((k) => b64u(k.kid!))).toEqual([b64u(oldKid), body.kid]);
    const later = await statementBy(issuer);
    const r = await post(ts.url, later);
    expect(r.status).toBe(201);
    expect(b64u(verifyReceipt(new Uint8Array(await r.arrayBuffer()), statementEntry(later), keys).kid)).toBe(body.kid);
  });
});
