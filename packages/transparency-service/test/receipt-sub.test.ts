/**
 * RFC 9943 §6: receipts carry iss and sub; the sub is the registered statement's (the RFC's Figure 10
 * example). A data directory written before receipts carried sub (batch signature only, no
 * entry_signatures rows) keeps serving its receipts unchanged: they verify, with a reported profile
 * deviation, while new registrations on the same log get sub.
 */
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey, loadKey, publicKey } from '@scitt-actions/core';
import { Claim, Header, decodeKeySet, decodeSign1, keySigner, sigStructure, thumbprint } from '@scitt-actions/core/cose';
import { TrustedKeys, receiptProtectedHeader, statementEntry, verifyReceipt } from '@scitt-actions/core/receipt';
import { createSignedStatement } from '@scitt-actions/core/statement';
import { type ServiceProcess, startService } from '../../../test/helpers/transparency-service.ts';
import { post, statementBy } from './helpers.ts';

const issuer = generateKey('P-256');

async function keysOf(url: string): Promise<TrustedKeys> {
  return new TrustedKeys(decodeKeySet(new Uint8Array(await (await fetch(`${url}/.well-known/scitt-keys`)).arrayBuffer())));
}
const claimsOf = (receipt: Uint8Array) => decodeSign1(receipt).protectedHeader.get(Header.cwtClaims) as Map<number, unknown>;
const subOf = (statement: Uint8Array) => (decodeSign1(statement).protectedHeader.get(Header.cwtClaims) as Map<number, unknown>).get(Claim.sub);

describe('receipts carry the statement sub (RFC 9943 §6)', () => {
  let ts: ServiceProcess;
  beforeAll(async () => {
    ts = await startService({ issuers: [publicKey(issuer)], args: ['--rate', '0'] });
  });
  afterAll(async () => {
    if (ts) await ts.stop();
  });

  it('every receipt of a batch names its own statement, two statements about one subject share a signature', async () => {
    const keys = await keysOf(ts.url);
    const statements = await Promise.all(Array.from({ length: 12 }, () => statementBy(issuer)));
    // another statement about the subject of the first: same sub, so the same receipt signature
    const twin = await createSignedStatement({ payload: new TextEncoder().encode('{"twin":1}'), contentType: 'application/json', signer: keySigner(issuer), iss: 'https://issuer.example', sub: subOf(statements[0]!) as string, kid: thumbprint(issuer) });
    const answers = await Promise.all([...statements, twin].map((s) => post(ts.url, s)));
    const receipts = await Promise.all(answers.map(async (r) => (expect(r.status).toBe(201), new Uint8Array(await r.arrayBuffer()))));
    [...statements, twin].forEach((s, i) => {
      const v = verifyReceipt(receipts[i]!, statementEntry(s), keys);
      expect(v.sub).toBe(subOf(s));
      expect(v.iss).toBe(ts.url);
      expect(v.profileDeviations).toBeUndefined();
      expect(claimsOf(receipts[i]!).get(Claim.sub)).toBe(subOf(s));
    });
    const sig = (r: Uint8Array) => Buffer.from(decodeSign1(r).signature).toString('hex');
    // same batch (one tree size) and same sub: signed once; two batches may share a header (same second), not a signature
    const sizeOf = (i: number) => verifyReceipt(receipts[i]!, statementEntry([...statements, twin][i]!), keys).treeSize;
    if (sizeOf(0) === sizeOf(12)) expect(sig(receipts[12]!)).toBe(sig(receipts[0]!));
    // GET /entries/{id} rebuilds the same receipt from the stored entry signature
    const id = (await post(ts.url, statements[3]!)).headers.get('location')!;
    const again = new Uint8Array(await (await fetch(`${ts.url}${id}`)).arrayBuffer());
    expect(verifyReceipt(again, statementEntry(statements[3]!), keys).sub).toBe(subOf(statements[3]!));
  });
});

describe('a data directory from before receipts carried sub', () => {
  it('keeps serving its old receipts (no sub: a reported profile deviation); new ones get sub', async () => {
    const ts = await startService({ issuers: [publicKey(issuer)], args: ['--rate', '0'] });
    const old = await Promise.all(Array.from({ length: 5 }, () => statementBy(issuer)));
    for (const s of old) expect((await post(ts.url, s)).status).toBe(201);
    const keys = await keysOf(ts.url);
    expect(await ts.stop()).toBe(0);

    // Rewrite the directory as the previous release left it: batch signatures over a header without
    // sub (receiptProtectedHeader with iss and iat only, as signBatch wrote it), no entry signatures.
    const key = loadKey(readFileSync(join(ts.dataDir, 'service-key.pem'), 'utf8'));
    const db = new DatabaseSync(join(ts.dataDir, 'log.sqlite'));
    const batches = db.prepare('SELECT tree_size, root, iat FROM batches').all() as { tree_size: number; root: Uint8Array; iat: number }[];
    for (const b of batches) {
      const protectedBytes = receiptProtectedHeader({ signer: keySigner(key), kid: thumbprint(key), iss: ts.url, iat: Number(b.iat) });
      const signature = await keySigner(key).sign(sigStructure(protectedBytes, b.root));
      db.prepare('UPDATE batches SET protected = ?, signature = ? WHERE tree_size = ?').run(protectedBytes, signature, b.tree_size);
    }
    db.exec('DROP TABLE entry_signatures');
    db.close();

    const again = await startService({ dataDir: ts.dataDir, args: ['--rate', '0'] });
    try {
      for (const s of old) {
        const r = await post(again.url, s); // already on the log: its old receipt
        expect(r.status).toBe(201);
        const v = verifyReceipt(new Uint8Array(await r.arrayBuffer()), statementEntry(s), keys);
        expect(v.sub).toBeUndefined();
        expect(v.profileDeviations?.[0]).toMatch(/lack sub \(2\).*RFC 9943 §6/);
      }
      const fresh = await statementBy(issuer);
      const r = await post(again.url, fresh);
      expect(r.status).toBe(201);
      const v = verifyReceipt(new Uint8Array(await r.arrayBuffer()), statementEntry(fresh), keys);
      expect(v.sub).toBe(subOf(fresh));
    } finally {
      expect(await again.stop()).toBe(0);
    }
  });
});
