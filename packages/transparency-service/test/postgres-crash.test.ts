/**
 * The crash cycles of crash.test.ts (test/helpers/ts-crash.ts), parameterised for the PostgreSQL store:
 * one replica on a real PostgreSQL 15, SIGKILLed at random moments under load and restarted on the same
 * database, with the same checks (receipts, tree heads and their consistency, the key, re-registration,
 * in-doubt statements at most once, no duplicates, each acknowledged entry at its receipt's leaf).
 * A restart waits until what was pending at the kill is integrated. Heavy: a file of its own.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { generateKey, toPem } from '@scitt-actions/core';
import { type PostgresServer, postgresCrashStore, startPostgres } from '../../../test/helpers/postgres.ts';
import { crashCycles } from '../../../test/helpers/ts-crash.ts';

describe('PostgreSQL store: SIGKILL under sustained registration load', () => {
  let db: PostgresServer | undefined;
  afterAll(async () => {
    await db?.stop();
  });

  it('survives 8 kills at random moments: receipts, tree heads, key, no duplicates, registration continues', async () => {
    db = await startPostgres();
    const issuer = generateKey('P-256');
    const store = postgresCrashStore(db.url, toPem(generateKey('P-256'), { includePrivate: true }));
    const report = await crashCycles({ kills: 8, clients: 6, minMs: 150, maxMs: 600, issuer, issuerPem: toPem(issuer, { includePrivate: true }), store });
    process.stdout.write(`postgres crash: ${report.kills} kills; ${report.acknowledged} acknowledged, ${report.inDoubt} in doubt (${report.inDoubtCommitted} had committed), ${report.consistencyChecks} consistency proofs, final tree ${report.finalTreeSize}\n`);
    expect(report.kills).toBe(8);
    expect(report.acknowledged).toBeGreaterThan(report.kills * 10);
    expect(report.consistencyChecks).toBeGreaterThan(report.kills);
  }, 600_000);
});
