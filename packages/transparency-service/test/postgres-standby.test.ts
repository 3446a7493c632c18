/**
 * Issue #18: the database itself fails over. A PostgreSQL 15 primary with a synchronous standby
 * (pg_basebackup -R, streaming replication on loopback, synchronous_standby_names); two replicas of
 * `scitt serve` reach it by a multi-host URL with target_session_attrs=read-write, under load from a
 * separate process (test/load/failover-load.ts). Every process of the primary is SIGKILLed at once (the
 * machine is lost) and the standby promoted. The replicas reconnect to the new primary by themselves and
 * registration continues; every acknowledged statement is on the new primary at its receipt's leaf,
 * every receipt verifies, consistency proofs from every earlier tree head verify, no duplicate leaves.
 * Prints the unavailability window: from the kill to the first 201 for a request sent after it.
 * Heavy: a file of its own.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { generateKey, toPem } from '@scitt-actions/core';
import { statementEntry, verifyReceipt } from '@scitt-actions/core/receipt';
import { parseSignedStatement } from '@scitt-actions/core/statement';
import { KEY_FILE } from '../src/service-key.ts';
import { type ServiceProcess, startService } from '../../../test/helpers/transparency-service.ts';
import { type PostgresServer, promote, sql, startPostgres, startStandby } from '../../../test/helpers/postgres.ts';
import { compileCacheEnv } from '../../../test/helpers/ts-process.ts';
import { type SignedHead, assertConsistent, fetchTreeHead, serviceKeys, writeIssuerKey } from '../../../test/helpers/ts-tools.ts';
import { outcome } from './helpers.ts';

const LOAD = resolve(fileURLToPath(import.meta.url), '../../../../test/load/failover-load.ts');
const ISS = 'https://ts.example';
const entryIdOf = (s: Uint8Array) => createHash('sha256').update(statementEntry(parseSignedStatement(s))).digest('hex');
const now = () => performance.timeOrigin + performance.now();

interface Answer {
  t: number;
  sent: number;
  status: number;
  s?: string;
  r?: string;
}

async function until(what: string, ms: number, f: () => boolean): Promise<void> {
  const t0 = performance.now();
  while (!f()) {
    if (performance.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('PostgreSQL store: the primary is lost, its synchronous standby promoted', () => {
  const dbs: PostgresServer[] = [];
  const replicas: ServiceProcess[] = [];
  let load: ChildProcessWithoutNullStreams | undefined;
  afterAll(async () => {
    load?.kill('SIGKILL');
    for (const r of replicas) if (r.proc.exitCode !== null || r.proc.signalCode !== null) console.log(`replica ${r.url} exited ${r.proc.exitCode ?? r.proc.signalCode}:\n${r.stderr().slice(-4000)}`);
    await Promise.allSettled(replicas.map((r) => r.kill()));
    await Promise.allSettled(dbs.map((d) => d.stop()));
  });

  it('replicas reconnect through the multi-host URL and continue; nothing acknowledged is lost; receipts and consistency verify; one leaf per statement', async () => {
    const primary = await startPostgres({ settings: { synchronous_standby_names: 'standby1' } });
    dbs.push(primary);
    const standby = await startStandby(primary, 'standby1');
    dbs.push(standby);
    const url = `postgres://scitt@127.0.0.1:${primary.port},127.0.0.1:${standby.port}/postgres?target_session_attrs=read-write`;

    const keyPem = toPem(generateKey('P-256'), { includePrivate: true });
    const issuer = generateKey('P-256');
    const args = ['--store', url, '--iss', ISS, '--rate', '0', '--sync-wait', '3000'];
    for (let i = 0; i < 2; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'scitt-replica-'));
      writeFileSync(join(dataDir, KEY_FILE), keyPem, { mode: 0o600 });
      replicas.push(await startService({ dataDir, args, env: compileCacheEnv(), issuers: [issuer] }));
    }
    const keys = await serviceKeys(replicas[0]!.url);

    const answers: Answer[] = [];
    load = spawn(process.execPath, [LOAD, '--urls', replicas.map((r) => r.url).join(','), '--key', writeIssuerKey(mkdtempSync(join(tmpdir(), 'scitt-issuer-')), issuer), '--clients', '12', '--statements', '1000']);
    let buffered = '';
    let done = false;
    load.stdout.on('data', (d: Buffer) => {
      const lines = (buffered + d.toString()).split('\n');
      buffered = lines.pop()!;
      for (const l of lines) {
        const a = JSON.parse(l) as Answer & { done?: boolean };
        if (a.done) done = true;
        else if (a.status !== undefined) answers.push(a);
      }
    });
    let loadErr = '';
    load.stderr.on('data', (d: Buffer) => (loadErr += d.toString()));
    const acked = (from = 0) => answers.filter((a) => (a.status === 201 || a.status === 303) && a.sent > from);

    // Tree heads seen before the loss: every later head must extend each of them.
    const heads: SignedHead[] = [];
    await until('100 acknowledged before the loss', 60_000, () => acked().length >= 100);
    for (const r of replicas) heads.push((await fetchTreeHead(r.url, keys))!);

    const killedAt = now();
    await primary.crash();
    promote(standby);
    const promotedMs = now() - killedAt;
    await until('100 acknowledged after the loss', 60_000, () => acked(killedAt).filter((a) => a.status === 201).length >= 100).catch((e: Error) => {
      const statuses: Record<number, number> = {};
      for (const a of answers.filter((x) => x.sent > killedAt)) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
      throw new Error(`${e.message}; answers since: ${JSON.stringify(statuses)}; load: ${loadErr}\n${replicas.map((r) => r.stderr().slice(-3000)).join('\n---\n')}`);
    });
    const firstNew = Math.min(...acked(killedAt).filter((a) => a.status === 201).map((a) => a.t));
    load.stdin.end();
    await until('the load process stops', 20_000, () => done);

    // Nothing acknowledged is lost: each statement is on the new primary at the leaf of its receipt.
    const leafOf = new Map(sql(standby.url, "SELECT encode(entry_id, 'hex'), leaf_index FROM entries").map(([id, leaf]) => [id!, Number(leaf)]));
    const ack = acked();
    for (const a of ack) {
      const statement = Buffer.from(a.s!, 'base64');
      const id = entryIdOf(statement);
      let receipt = a.r ? Buffer.from(a.r, 'base64') : undefined;
      if (!receipt) {
        const r = await outcome(replicas[0]!.url, `/entries/${id}`);
        expect(r.status, `303-acknowledged ${id}`).toBe(200);
        receipt = Buffer.from(await r.arrayBuffer());
      }
      const { leafIndex } = verifyReceipt(receipt, statementEntry(parseSignedStatement(statement)), keys);
      expect(leafOf.get(id), `acknowledged ${id} on the new primary`).toBe(leafIndex);
    }
    // Every replica serves the new primary's tree, consistent with every head seen before the loss.
    for (const r of replicas) {
      const newest = (await fetchTreeHead(r.url, keys))!;
      for (const h of heads) await assertConsistent(r.url, keys, { treeSize: h.head.treeSize, root: h.head.root, bytes: h.bytes }, newest);
    }
    const [n, distinct, max] = sql(standby.url, 'SELECT COUNT(*), COUNT(DISTINCT entry_id), MAX(leaf_index) FROM entries')[0]!.map(Number);
    expect(distinct).toBe(n);
    expect(max).toBe(n! - 1);
    expect(n).toBeGreaterThanOrEqual(ack.length + 1);

    const during = answers.filter((a) => a.t > killedAt && a.t < killedAt + (firstNew - killedAt));
    console.log(
      `postgres standby failover: ${ack.length} acknowledged (${ack.filter((a) => !a.r).length} by 303); primary lost and standby promoted in ${promotedMs.toFixed(0)} ms; ` +
        `unavailable ${(firstNew - killedAt).toFixed(0)} ms (kill to the first 201 for a request sent after it; ${(firstNew - killedAt - promotedMs).toFixed(0)} ms after the promotion); meanwhile ${during.filter((a) => a.status === 503).length} answered 503, ${during.filter((a) => a.status === 0).length} network errors; tree size ${n}`,
    );
  }, 120_000);
});
