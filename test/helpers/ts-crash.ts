/**
 * Kill cycles for the Transparency Service (crash.test.ts and test/load/crash-soak.ts): concurrent
 * clients register distinct statements while the service is SIGKILLed at a random moment; after each
 * restart on the same data directory it checks, and throws on the first violation, that
 *  - the service key (kid) is unchanged;
 *  - the new signed tree head is at least as large as every tree head and receipt seen before, and
 *    consistent (GET /consistency + core verifiers) with the last tree head of every earlier cycle
 *    and with the trees of the receipts of the cycle just killed (its last batch and 15 others);
 *  - every receipt issued before the kill verifies against the restarted service's keys, and a
 *    sample is served again byte for byte (so its batch committed before the 201);
 *  - re-registering acknowledged statements returns the same entry and does not grow the tree, and a
 *    statement whose outcome the kill hid is on the log at most once: the tree grows by exactly the
 *    number of those the restarted service did not have;
 *  - registration continues: a new statement right after the restart is the next leaf.
 * At the end a clean stop, then the database itself: one row per distinct acknowledged statement (+
 * the policy entry), each at the leaf index of its receipt.
 * The store is SQLite in the data directory unless `store` names another (the PostgreSQL store's
 * test passes its URL, the shared key and how to audit its tables): the same cycles and checks.
 */
import { createHash, randomInt } from 'node:crypto';
import { rmSync } from 'node:fs';
import { type CoseKey, publicKey } from '@scitt-actions/core';
import { keySigner, thumbprint } from '@scitt-actions/core/cose';
import { type TrustedKeys, statementEntry, verifyReceipt } from '@scitt-actions/core/receipt';
import { createSignedStatement } from '@scitt-actions/core/statement';
import { LogDatabase } from '../../packages/transparency-service/src/database.ts';
import { generateStatements } from '../load/register-load.ts';
import { type ServiceProcess, startService } from './transparency-service.ts';
import { compileCacheEnv } from './ts-process.ts';
import { type SignedHead, assertConsistent, fetchTreeHead, kidsOf, serviceKeys } from './ts-tools.ts';

export interface CrashOptions {
  kills: number;
  /** concurrent registering clients */
  clients?: number;
  /** the kill lands this long after the load starts (uniformly random) */
  minMs?: number;
  maxMs?: number;
  issuer: CoseKey;
  issuerPem: string;
  log?: (line: string) => void;
  /** default: the SQLite store in the service's data directory */
  store?: CrashStore;
}

/** Another store for the same cycles: how to start on it, and how to read its log for the audit. */
export interface CrashStore {
  /** extra `scitt serve` arguments (e.g. --store postgres://…) */
  args: string[];
  /** a data directory prepared before the first start (e.g. holding the provisioned service key) */
  dataDir?: string;
  /** after a restart: resolves once nothing written before the kill is still waiting to be integrated */
  settled?: () => Promise<void>;
  /** the log's entries: count, published tree size, duplicate entry ids, and the leaf of an entry id */
  audit(): Promise<{ rows: number; size: number; duplicates: number; leafOf: Map<string, number> }>;
}

export interface CrashReport {
  kills: number;
  acknowledged: number;
  /** requests whose outcome the kill hid; resolved after the restart */
  inDoubt: number;
  /** of those, already committed when the service died */
  inDoubtCommitted: number;
  treeHeads: number;
  consistencyChecks: number;
  finalTreeSize: number;
  restartMs: number[];
  dataDir: string;
}

interface Ack {
  statement: Uint8Array;
  id: string;
  receipt: Uint8Array;
  leafIndex?: number;
  treeSize?: number;
}

const ISS = 'https://ts.crash.test';
const entryId = (s: Uint8Array) => createHash('sha256').update(statementEntry(s)).digest('hex');

async function post(url: string, body: Uint8Array): Promise<Response> {
  return fetch(`${url}/entries`, { method: 'POST', body, headers: { 'Content-Type': 'application/cose' }, redirect: 'manual' });
}

function fail(msg: string): never {
  throw new Error(`crash check failed: ${msg}`);
}

/** The SQLite store's audit: the log database in the data directory, read directly. */
function sqliteStore(dataDir: string): Pick<CrashStore, 'audit'> {
  return {
    async audit() {
      const db = LogDatabase.openReader(dataDir);
      try {
        const rows = db.db.prepare('SELECT entry_id, leaf_index FROM entries').all() as { entry_id: Uint8Array; leaf_index: number }[];
        return { rows: rows.length, size: db.size(), duplicates: db.duplicateEntries(), leafOf: new Map(rows.map((r) => [Buffer.from(r.entry_id).toString('hex'), Number(r.leaf_index)])) };
      } finally {
        db.close();
      }
    },
  };
}

export async function crashCycles(o: CrashOptions): Promise<CrashReport> {
  const clients = o.clients ?? 6;
  const minMs = o.minMs ?? 150;
  const maxMs = o.maxMs ?? 700;
  const log = o.log ?? (() => undefined);
  const pool = await generateStatements(o.issuerPem, Math.max(4000, o.kills * 700), `crash-${process.pid}-${Date.now()}`);
  let extra = 0;
  const signer = keySigner(o.issuer);
  const kid = thumbprint(o.issuer);
  const next = async (): Promise<Uint8Array> =>
    pool.pop() ??
    createSignedStatement({ payload: new TextEncoder().encode(`{"extra":${extra++}}`), contentType: 'application/json', signer, iss: 'https://issuer.example/crash', sub: `pkg:generic/crash-extra@${Date.now()}.${extra}`, kid });

  const acks = new Map<string, Ack>();
  const heads: SignedHead[] = [];
  const lastHeadOfCycle: SignedHead[] = [];
  let maxSeen = 0;
  let inDoubtTotal = 0;
  let inDoubtCommitted = 0;
  let consistencyChecks = 0;
  const restartMs: number[] = [];

  // restarts dominate the run time; the worker threads start at the first registration, so kills land
  // while the commit thread holds a batch too
  const env = { ...compileCacheEnv(), SCITT_TS_THREADS_AFTER: '1' };
  const storeArgs = o.store?.args ?? [];
  let ts: ServiceProcess = await startService({ ...(o.store?.dataDir ? { dataDir: o.store.dataDir } : {}), issuers: [publicKey(o.issuer)], args: ['--iss', ISS, '--rate', '0', ...storeArgs], env });
  const dataDir = ts.dataDir;
  let keys: TrustedKeys = await serviceKeys(ts.url);
  const kids = kidsOf(keys);

  const seeHead = (h: SignedHead | undefined) => {
    if (!h) return;
    const prev = heads[heads.length - 1];
    if (prev && h.head.treeSize < prev.head.treeSize) fail(`tree head went backwards: ${prev.head.treeSize} then ${h.head.treeSize}`);
    heads.push(h);
    maxSeen = Math.max(maxSeen, h.head.treeSize);
  };

  try {
    for (let cycle = 0; cycle <= o.kills; cycle++) {
      const final = cycle === o.kills;
      // ---- load, then (except in the final cycle) SIGKILL at a random moment ----
      let killed = false;
      const cycleAcks: Ack[] = [];
      const inDoubt: Uint8Array[] = [];
      const client = async () => {
        while (!killed) {
          const s = await next();
          let r: Response;
          try {
            r = await post(ts.url, s);
          } catch {
            inDoubt.push(s); // the kill cut the connection: committed or not, we cannot tell yet
            continue;
          }
          if (r.status === 201) {
            cycleAcks.push({ statement: s, id: entryId(s), receipt: new Uint8Array(await r.arrayBuffer()) });
          } else {
            const body = Buffer.from(await r.arrayBuffer()).toString('latin1');
            if (killed) inDoubt.push(s);
            else fail(`registration answered ${r.status} while the service was up: ${body}`);
          }
        }
      };
      const poller = async () => {
        while (!killed) {
          try {
            const h = await fetchTreeHead(ts.url, keys);
            if (!killed) seeHead(h);
          } catch (e) {
            if (!killed) throw e;
          }
          await new Promise((r) => setTimeout(r, 40));
        }
      };
      const running = Promise.all([...Array.from({ length: clients }, client), poller()]);
      await new Promise((r) => setTimeout(r, final ? 300 : minMs + randomInt(maxMs - minMs + 1)));
      if (final) {
        killed = true;
        await running;
      } else {
        killed = true;
        await ts.kill();
        await running;
      }
      const last = heads[heads.length - 1];
      if (last) lastHeadOfCycle.push(last);

      // ---- restart on the same data directory ----
      if (!final) {
        const t0 = performance.now();
        ts = await startService({ dataDir, args: ['--iss', ISS, '--rate', '0', ...storeArgs], env });
        restartMs.push(performance.now() - t0);
      }
      await o.store?.settled?.();
      const checks0 = performance.now();
      keys = await serviceKeys(ts.url);
      if (kidsOf(keys).join() !== kids.join()) fail(`service key changed across restart ${cycle + 1}: ${kids} → ${kidsOf(keys)}`);

      // every receipt of the killed cycle verifies with the restarted service's keys
      const batches = new Map<number, Uint8Array>();
      for (const a of cycleAcks) {
        const v = verifyReceipt(a.receipt, statementEntry(a.statement), keys);
        a.leafIndex = v.leafIndex!;
        a.treeSize = v.treeSize!;
        batches.set(v.treeSize!, v.root);
        maxSeen = Math.max(maxSeen, v.treeSize!);
        if (acks.has(a.id)) fail(`statement ${a.id} acknowledged twice as new`);
        acks.set(a.id, a);
      }
      // and a sample of all earlier ones
      const all = [...acks.values()];
      for (let i = 0; i < Math.min(50, all.length); i++) {
        const a = all[randomInt(all.length)]!;
        verifyReceipt(a.receipt, statementEntry(a.statement), keys);
      }

      const head = await fetchTreeHead(ts.url, keys);
      if (!head) fail('the restarted service has no tree head');
      const fresh = await next();
      if (head.head.treeSize < maxSeen) fail(`restarted tree head has ${head.head.treeSize} leaves; ${maxSeen} were signed before the kill`);
      // consistency from the last head of every cycle so far, and from every receipt tree of this one
      await Promise.all(lastHeadOfCycle.map((h) => assertConsistent(ts.url, keys, { treeSize: h.head.treeSize, root: h.head.root, bytes: h.bytes }, head)));
      consistencyChecks += lastHeadOfCycle.length;
      // ... and from the tree of receipt batches of the killed cycle: the last one and up to 15 others
      const sizes = [...batches.keys()].sort((a, b) => b - a);
      const chosen = [sizes[0], ...sizes.slice(1).sort(() => Math.random() - 0.5).slice(0, 15)].filter((x) => x !== undefined);
      await Promise.all(chosen.map((size) => assertConsistent(ts.url, keys, { treeSize: size, root: batches.get(size)! }, head)));
      consistencyChecks += chosen.length;
      seeHead(head);

      // a sample of the receipts is served again, byte for byte
      for (let i = 0; i < Math.min(20, cycleAcks.length); i++) {
        const a = cycleAcks[randomInt(cycleAcks.length)]!;
        const r = await fetch(`${ts.url}/entries/${a.id}`);
        if (r.status !== 200) fail(`acknowledged entry ${a.id} (leaf ${a.leafIndex}) is not on the log after the kill: ${r.status}`);
        if (!Buffer.from(await r.arrayBuffer()).equals(Buffer.from(a.receipt))) fail(`entry ${a.id} is served with another receipt than its 201`);
      }
      // re-registering acknowledged statements: same entry, same receipt, no growth
      for (let i = 0; i < Math.min(10, all.length); i++) {
        const a = all[randomInt(all.length)]!;
        const r = await post(ts.url, a.statement);
        if (r.status !== 201 || r.headers.get('location') !== `/entries/${a.id}`) fail(`re-registering ${a.id}: ${r.status} ${r.headers.get('location')}`);
        const v = verifyReceipt(new Uint8Array(await r.arrayBuffer()), statementEntry(a.statement), keys);
        if (v.leafIndex !== a.leafIndex) fail(`re-registered ${a.id} at leaf ${v.leafIndex}, first at ${a.leafIndex}`);
      }
      const size = async () => ((await (await fetch(`${ts.url}/health`)).json()) as { treeSize: number }).treeSize;
      if ((await size()) !== head.head.treeSize) fail('re-registering acknowledged statements grew the tree');
      // in-doubt statements: on the log at most once; the tree grows by the ones it did not have
      let missing = 0;
      for (const s of inDoubt) {
        const id = entryId(s);
        const before = await fetch(`${ts.url}/entries/${id}`);
        if (before.status === 200) inDoubtCommitted++;
        else if (before.status === 404) missing++;
        else fail(`GET /entries/${id} after restart: ${before.status}`);
        const r = await post(ts.url, s);
        if (r.status !== 201) fail(`registering in-doubt statement ${id} after restart: ${r.status}`);
        const receipt = new Uint8Array(await r.arrayBuffer());
        const v = verifyReceipt(receipt, statementEntry(s), keys);
        if (before.status === 200) {
          const had = verifyReceipt(new Uint8Array(await before.arrayBuffer()), statementEntry(s), keys);
          if (had.leafIndex !== v.leafIndex) fail(`in-doubt ${id} was at leaf ${had.leafIndex}, re-registered at ${v.leafIndex}`);
        }
        acks.set(id, { statement: s, id, receipt, leafIndex: v.leafIndex!, treeSize: v.treeSize! });
        maxSeen = Math.max(maxSeen, v.treeSize!);
      }
      inDoubtTotal += inDoubt.length;
      const grown = (await size()) - head.head.treeSize;
      if (grown !== missing) fail(`${inDoubt.length} in-doubt statements (${missing} not on the log) grew the tree by ${grown}`);
      // registration continues: a new statement is a new entry
      const r = await post(ts.url, fresh);
      if (r.status !== 201) fail(`a new registration after restart ${cycle + 1} answered ${r.status}`);
      const freshReceipt = new Uint8Array(await r.arrayBuffer());
      const v = verifyReceipt(freshReceipt, statementEntry(fresh), keys);
      if (v.leafIndex !== head.head.treeSize + missing) fail(`the first new entry after restart is at leaf ${v.leafIndex}, expected ${head.head.treeSize + missing}`);
      acks.set(entryId(fresh), { statement: fresh, id: entryId(fresh), receipt: freshReceipt, leafIndex: v.leafIndex!, treeSize: v.treeSize! });
      log(`cycle ${cycle + 1}/${o.kills + 1}: ${cycleAcks.length} acknowledged, ${inDoubt.length} in doubt (${inDoubt.length - missing} had committed), tree ${head.head.treeSize}${final ? '' : `, restart ${Math.round(restartMs[restartMs.length - 1]!)} ms`}, checks ${Math.round(performance.now() - checks0)} ms`);
    }
    const finalSize = (await fetchTreeHead(ts.url, keys))!.head.treeSize;
    const code = await ts.stop();
    if (code !== 0) fail(`SIGTERM after the kill cycles exited ${code}`);

    // the database itself: every acknowledged statement exactly once, at its receipt's leaf
    const { rows, size, duplicates, leafOf } = await (o.store ?? sqliteStore(dataDir)).audit();
    if (rows !== acks.size + 1) fail(`the log holds ${rows} entries for ${acks.size} acknowledged statements + 1 policy`);
    if (size !== rows || finalSize !== rows) fail(`published tree size ${size} (head ${finalSize}) but ${rows} entries`);
    if (duplicates !== 0) fail('duplicate entries in the log');
    for (const a of acks.values()) {
      const leaf = leafOf.get(a.id);
      if (leaf !== a.leafIndex) fail(`entry ${a.id}: leaf ${leaf} in the database, ${a.leafIndex} in its receipt`);
    }
    rmSync(env.NODE_COMPILE_CACHE, { recursive: true, force: true });
    return {
      kills: o.kills,
      acknowledged: acks.size,
      inDoubt: inDoubtTotal,
      inDoubtCommitted,
      treeHeads: heads.length,
      consistencyChecks,
      finalTreeSize: finalSize,
      restartMs,
      dataDir,
    };
  } catch (e) {
    if (ts.proc.exitCode === null && ts.proc.signalCode === null) await ts.kill();
    throw e;
  }
}
