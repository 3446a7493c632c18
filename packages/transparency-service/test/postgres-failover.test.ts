/**
 * Issue #18: three replicas of `scitt serve --store postgres://…` on one real PostgreSQL 15 (Debian's,
 * on loopback), under load from this test process. The integrating replica is SIGKILLed; another takes
 * the integrator lock within 5 s; no acknowledged registration is lost; every receipt verifies with
 * the service key; consistency proofs from every tree head seen to the newest verify; the same
 * statement registered on all three replicas at once is one leaf; the entries table has no duplicates
 * and no gaps. Every replica serves the same C2SP checkpoint (one note key) and tiles that prove the
 * receipts, and the same web view. Heavy: a file of its own.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { generateKey, toPem } from '@scitt-actions/core';
import { openCheckpoint, parseVerifierKey } from '@scitt-actions/core/checkpoint';
import { type TrustedKeys, decodeInclusionProof, readReceiptHeaders, statementEntry, verifyReceipt } from '@scitt-actions/core/receipt';
import { TileReader, httpTileFetch } from '@scitt-actions/core/tiles';
import { parseSignedStatement } from '@scitt-actions/core/statement';
import { KEY_FILE } from '../src/service-key.ts';
import { type ServiceProcess, startService } from '../../../test/helpers/transparency-service.ts';
import { type PostgresServer, startPostgres } from '../../../test/helpers/postgres.ts';
import { compileCacheEnv } from '../../../test/helpers/ts-process.ts';
import { type SignedHead, assertConsistent, fetchTreeHead, serviceKeys } from '../../../test/helpers/ts-tools.ts';
import { outcome, post, statementBy } from './helpers.ts';

const ISS = 'https://ts.example';
const entryIdOf = (s: Uint8Array) => createHash('sha256').update(statementEntry(parseSignedStatement(s))).digest('hex');

interface Ack {
  statement: Uint8Array;
  id: string;
  /** the 201's receipt; absent for a 303 (polled afterwards) */
  receipt?: Uint8Array;
}

/** A data directory holding the shared service key, as an operator provisions each replica. */
function replicaDir(keyPem: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'scitt-replica-'));
  writeFileSync(join(dir, KEY_FILE), keyPem, { mode: 0o600 });
  return dir;
}

async function until(what: string, ms: number, f: () => boolean | Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  while (!(await f())) {
    if (performance.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return performance.now() - t0;
}

const integrating = (r: ServiceProcess) => r.stderr().includes('took the integrator lock');

describe('PostgreSQL store: three replicas, integrator killed under load', () => {
  let db: PostgresServer | undefined;
  const replicas: ServiceProcess[] = [];
  afterAll(async () => {
    await Promise.allSettled(replicas.map((r) => r.kill()));
    await db?.stop();
  });

  it('takes over within 5 s, loses no acknowledged registration, every receipt and consistency proof verifies, one leaf per statement', async () => {
    db = await startPostgres();
    const keyPem = toPem(generateKey('P-256'), { includePrivate: true });
    const env = compileCacheEnv();
    const args = ['--store', db.url, '--iss', ISS, '--rate', '0', '--sync-wait', '3000'];
    const issuer = generateKey('P-256');
    // one after another: the first registers the policy, the others find it on the log
    for (let i = 0; i < 3; i++) replicas.push(await startService({ dataDir: replicaDir(keyPem), args, env, issuers: [issuer] }));
    await until('one replica integrates', 20_000, () => replicas.some(integrating));
    expect(replicas.filter(integrating)).toHaveLength(1);
    const keys: TrustedKeys = await serviceKeys(replicas[0]!.url);

    // The same statement on all three replicas at once: one leaf, the same receipt everywhere.
    const same = await statementBy(issuer);
    const answers = await Promise.all(replicas.map((r) => post(r.url, same)));
    const leaves = new Set<number>();
    for (const a of answers) {
      expect(a.status).toBe(201);
      leaves.add(verifyReceipt(new Uint8Array(await a.arrayBuffer()), statementEntry(parseSignedStatement(same)), keys).leafIndex!);
    }
    expect(leaves.size).toBe(1);

    // Load: 24 clients over the live replicas; tree heads sampled as they go.
    const live = () => replicas.filter((r) => r.proc.exitCode === null && r.proc.signalCode === null);
    const acks: Ack[] = [];
    const heads: SignedHead[] = [];
    let refused = 0;
    let networkErrors = 0;
    let stop = false;
    let afterKill = 0;
    let killed = false;
    const client = async (c: number) => {
      for (let i = 0; !stop; i++) {
        const targets = live();
        const r = targets[(c + i) % targets.length]!;
        const s = await statementBy(issuer);
        try {
          const res = await post(r.url, s);
          const body = new Uint8Array(await res.arrayBuffer());
          if (res.status === 201) acks.push({ statement: s, id: entryIdOf(s), receipt: body });
          else if (res.status === 303) acks.push({ statement: s, id: entryIdOf(s) });
          else refused++;
          if (killed && (res.status === 201 || res.status === 303)) afterKill++;
        } catch {
          networkErrors++; // the killed replica: not acknowledged, may or may not be on the log
        }
      }
    };
    const sampler = async () => {
      while (!stop) {
        const h = await fetchTreeHead(live()[0]!.url, keys).catch(() => undefined);
        if (h) heads.push(h);
        await new Promise((r) => setTimeout(r, 150));
      }
    };
    const load = Promise.all([...Array.from({ length: 24 }, (_, c) => client(c)), sampler()]);

    await until('300 acknowledged before the kill', 120_000, () => acks.length >= 300);
    const leader = replicas.find(integrating)!;
    const t0 = performance.now();
    killed = true;
    await leader.kill();
    const survivors = replicas.filter((r) => r !== leader);
    const takeoverMs = await until('another replica takes the integrator lock', 5_000, () => survivors.some(integrating));
    // the tree grows again: a registration made after the takeover gets its receipt
    await until('300 more acknowledged after the kill', 120_000, () => afterKill >= 300);
    const resumedMs = performance.now() - t0;
    stop = true;
    await load;

    // Every acknowledged registration is on the log, served by every surviving replica, and verifies.
    const url = survivors[0]!.url;
    for (const a of acks) {
      let receipt = a.receipt;
      if (!receipt) {
        const r = await outcome(url, `/entries/${a.id}`);
        expect(r.status, `303-acknowledged ${a.id}`).toBe(200);
        receipt = new Uint8Array(await r.arrayBuffer());
      }
      verifyReceipt(receipt, statementEntry(parseSignedStatement(a.statement)), keys);
    }
    for (const s of survivors) {
      for (const a of acks.filter((_, i) => i % 25 === 0)) {
        const r = await fetch(`${s.url}/entries/${a.id}`);
        expect(r.status, `GET /entries/${a.id} on ${s.url}`).toBe(200);
        if (a.receipt) expect(Buffer.from(await r.arrayBuffer()).equals(Buffer.from(a.receipt))).toBe(true);
        else await r.arrayBuffer();
      }
    }

    // Consistency from every tree head seen to the newest.
    const newest = (await fetchTreeHead(url, keys))!;
    for (const h of heads) await assertConsistent(url, keys, { treeSize: h.head.treeSize, root: h.head.root, bytes: h.bytes }, newest);

    // C2SP checkpoints and tiles from every replica: one note key, the newest root, the receipts' proofs.
    const noteKeys = new Set(await Promise.all(survivors.map(async (s) => (await (await fetch(`${s.url}/checkpoint/key`)).text()).trim())));
    expect(noteKeys.size).toBe(1);
    const noteKey = parseVerifierKey([...noteKeys][0]!);
    const sampled = acks.filter((a, i) => a.receipt && i % 40 === 0);
    for (const s of survivors) {
      let checkpoint = openCheckpoint(await (await fetch(`${s.url}/checkpoint`)).text(), noteKey);
      await until(`${s.url} publishes the newest checkpoint`, 10_000, async () => {
        checkpoint = openCheckpoint(await (await fetch(`${s.url}/checkpoint`)).text(), noteKey);
        return checkpoint.size === newest.head.treeSize;
      });
      expect(Buffer.from(checkpoint.root).equals(Buffer.from(newest.head.root))).toBe(true);
      const reader = new TileReader(httpTileFetch(s.url));
      expect(Buffer.from(await reader.root(checkpoint.size)).equals(Buffer.from(checkpoint.root))).toBe(true);
      for (const a of sampled) {
        const proof = decodeInclusionProof((readReceiptHeaders(a.receipt!).vdp.get(-1) as Uint8Array[])[0]!);
        expect(await reader.inclusionProof(proof.leafIndex, proof.treeSize)).toEqual(proof);
        const bundle = await reader.entries(Math.floor(proof.leafIndex / 256), checkpoint.size);
        expect(bundle[proof.leafIndex % 256]).toEqual(statementEntry(parseSignedStatement(a.statement)));
      }
    }

    // The web view from every replica: the search index (its own, in the replica's data directory) finds entries.
    for (const s of survivors) {
      expect((await (await fetch(`${s.url}/log`)).text())).toContain(`<strong id="tree-size">${newest.head.treeSize}</strong>`);
      for (const a of sampled) {
        const found = await fetch(`${s.url}/log/search?q=${a.id}`, { redirect: 'manual' });
        expect(found.status, `search ${a.id} on ${s.url}`).toBe(303);
        expect(found.headers.get('location')).toBe(`/log/entries/${a.id}`);
        const page = await fetch(`${s.url}/log/entries/${a.id}`);
        expect(page.status).toBe(200);
        expect(await page.text()).toContain(a.id);
      }
    }

    // The table: one row per statement, leaves 0..n-1, nothing left pending.
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const t = (await c.query<{ n: string; ids: string; max: string }>('SELECT COUNT(*) AS n, COUNT(DISTINCT entry_id) AS ids, MAX(leaf_index) AS max FROM entries')).rows[0]!;
    const pending = (await c.query<{ n: string }>('SELECT COUNT(*) AS n FROM pending')).rows[0]!;
    await c.end();
    expect(Number(t.ids)).toBe(Number(t.n));
    expect(Number(t.max)).toBe(Number(t.n) - 1);
    expect(Number(t.n)).toBe(newest.head.treeSize);
    expect(Number(t.n)).toBeGreaterThanOrEqual(acks.length + 1);
    expect(Number(pending.n)).toBe(0);
    console.log(
      `postgres failover: ${acks.length} acknowledged (${acks.filter((a) => !a.receipt).length} by 303), ${refused} refused, ${networkErrors} network errors at the kill; ` +
        `takeover ${takeoverMs.toFixed(0)} ms after kill -9, 300 more acknowledged ${resumedMs.toFixed(0)} ms after it; ${heads.length} tree heads consistent with size ${newest.head.treeSize}`,
    );
  }, 600_000);
});
