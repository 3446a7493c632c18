/**
 * The registration policy applies in log order: an issuer revoked under load has no statement on the
 * log after the revoking policy entry, and every registration it had already acknowledged (303 with a
 * Location) resolves to a receipt for a leaf before that entry or to a problem detail saying the
 * policy in force at commit refused it — never a receipt after it, never "no such entry".
 */
import { afterAll, expect, it } from 'vitest';
import { generateKey, publicKey } from '@scitt-actions/core';
import { thumbprint, toJwk } from '@scitt-actions/core/cose';
import { statementEntry, verifyReceipt } from '@scitt-actions/core/receipt';
import { parseSignedStatement } from '@scitt-actions/core/statement';
import { LogDatabase } from '../src/database.ts';
import { startService } from '../../../test/helpers/transparency-service.ts';
import { serviceKeys } from '../../../test/helpers/ts-tools.ts';
import { outcome, problemOf, registerConcurrently, statementBy } from './helpers.ts';

const revoked = generateKey('P-256');
const kept = generateKey('P-256');
const ADMIN = 'policy-order-admin-token';
const stops: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const s of stops) await s();
});

it.each([['0'], ['5000']])('revoking an issuer under load (--sync-wait %s): none of its statements lands after the revoking entry', async (syncWait) => {
  // the statement checks on a verification thread and the commits on the commit thread from the first registration: the new policy reaches the thread mid-load
  const ts = await startService({ issuers: [publicKey(revoked), publicKey(kept)], args: ['--rate', '0', '--sync-wait', syncWait, '--threads', '2'], env: { SCITT_TS_ADMIN_TOKEN: ADMIN, SCITT_TS_THREADS_AFTER: '1' } });
  stops.push(() => ts.stop());
  const pool = await Promise.all(Array.from({ length: 700 }, () => statementBy(revoked)));
  let acked = 0;
  let revocation: Promise<Response> | undefined;
  const { answers, networkErrors } = await registerConcurrently(ts.url, pool, {
    onAnswer: (a) => {
      if (a.location && ++acked === 200) {
        revocation = fetch(`${ts.url}/policy`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ issuers: [{ name: 'kept', key: toJwk(publicKey(kept)) }] }) });
      }
    },
  });
  expect(networkErrors).toBe(0);
  expect(revocation, 'the load never reached 200 acknowledged registrations').toBeDefined();
  const r = await revocation!;
  expect(r.status).toBe(201);
  const policyLeaf = ((await r.json()) as { leafIndex: number }).leafIndex;

  // Every acknowledged registration has an outcome: a receipt before the revoking entry, or a refusal.
  const keys = await serviceKeys(ts.url);
  let receipts = 0;
  let refusedAtCommit = 0;
  for (const [i, a] of answers.entries()) {
    if (!a?.location) continue;
    const got = await outcome(ts.url, a.location);
    if (got.status === 200) {
      const v = verifyReceipt(new Uint8Array(await got.arrayBuffer()), statementEntry(pool[i]!), keys);
      expect(v.leafIndex).toBeLessThan(policyLeaf);
      receipts++;
    } else {
      expect(got.status).toBe(400);
      expect((await problemOf(got)).detail).toMatch(/refused at commit by the registration policy in force then \(the policy entry at leaf \d+/);
      expect(a.status).toBe(303); // a 201 is a receipt: only a registration not yet committed can be refused
      refusedAtCommit++;
    }
  }
  // After the revocation committed, the issuer is refused at once.
  const refusedAtOnce = answers.filter((a) => a?.status === 400).length;
  process.stdout.write(`--sync-wait ${syncWait}: revoking policy at leaf ${policyLeaf}; ${receipts} receipts before it, ${refusedAtCommit} acknowledged then refused at commit, ${refusedAtOnce} refused at once\n`);
  expect(receipts).toBeGreaterThanOrEqual(200);
  expect(refusedAtOnce).toBeGreaterThan(0);

  // The log itself: no statement of the revoked issuer after the revoking entry.
  const db = LogDatabase.openReader(ts.dataDir);
  try {
    const revokedKid = Buffer.from(thumbprint(revoked)).toString('hex');
    const size = db.size();
    expect(size).toBeGreaterThan(policyLeaf);
    for (let leaf = policyLeaf + 1; leaf < size; leaf++) {
      const kid = parseSignedStatement(db.entryByIndex(leaf)!.statement).kid;
      expect(Buffer.from(kid!).toString('hex'), `leaf ${leaf} after the revoking entry ${policyLeaf} is a statement of the revoked issuer`).not.toBe(revokedKid);
    }
    expect(db.duplicateEntries()).toBe(0);
  } finally {
    db.close();
  }
}, 120_000);
