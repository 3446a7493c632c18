/**
 * SIGTERM / SIGINT under load with --sync-wait 0: every registration acknowledged (201, or 303 with a
 * Location, i.e. before its batch committed) is on the log when the process has exited.
 */
import { rmSync } from 'node:fs';
import { expect, it } from 'vitest';
import { generateKey, publicKey } from '@scitt-actions/core';
import { LogDatabase } from '../src/database.ts';
import { startService } from '../../../test/helpers/transparency-service.ts';
import { registerConcurrently, statementBy } from './helpers.ts';

const issuer = generateKey('P-256');

it.each([['SIGTERM'], ['SIGINT']] as const)('%s under load: every acknowledged registration is committed before exit', async (signal) => {
  const ts = await startService({ issuers: [publicKey(issuer)], args: ['--rate', '0', '--sync-wait', '0'] });
  try {
    const pool = await Promise.all(Array.from({ length: 800 }, () => statementBy(issuer)));
    let acked = 0;
    const exited = new Promise<number | null>((res) => ts.proc.once('exit', (code) => res(code)));
    const { answers } = await registerConcurrently(ts.url, pool, {
      connections: 32,
      onAnswer: (a) => {
        if (a.location && ++acked === 300) ts.proc.kill(signal); // mid-load: batches queued and in flight
      },
    });
    expect(await exited).toBe(0);
    expect(ts.stderr()).toContain(`${signal}: shutting down`);
    const acknowledged = answers.flatMap((a) => (a?.location ? [a.location.split('/').pop()!] : []));
    const refused = answers.filter((a) => a && !a.location);
    // once closing, the service answers 503 (never an acknowledgement it will not keep)
    for (const a of refused) expect(a!.status).toBe(503);
    const db = LogDatabase.openReader(ts.dataDir);
    try {
      const missing = acknowledged.filter((id) => !db.entryById(Buffer.from(id, 'hex')));
      process.stdout.write(`${signal}: ${acknowledged.length} acknowledged (${answers.filter((a) => a?.status === 303).length} × 303), ${refused.length} × 503 while closing, tree size ${db.size()}, missing ${missing.length}\n`);
      expect(missing).toEqual([]);
      expect(db.size()).toBeGreaterThanOrEqual(acknowledged.length + 1); // + the policy entry
    } finally {
      db.close();
    }
  } finally {
    if (ts.proc.exitCode === null) await ts.kill();
    rmSync(ts.dataDir, { recursive: true, force: true });
  }
}, 120_000);
