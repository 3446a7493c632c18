/**
 * The ceiling of this machine for durable registrations with this stack (Node, node:http, OpenSSL
 * through node:crypto, node:sqlite): a skeleton service doing only the work no SCITT service can skip,
 * under the same load (16 clients, test/load/register-load.ts as its own process), beside the real
 * service in the same run. Per registration the skeleton
 *  - reads one HTTP POST body (bounded), parses the COSE_Sign1 statement with its profile checks and
 *    verifies its ES256 signature with the issuer's key (core's parseSignedStatement, verifySignedStatement);
 *  - derives its log entry and SHA-256 leaf hash (core's statementEntry, leafHash);
 *  - inserts it with its id (SHA-256 of the entry, a unique index, as GET /entries/{id} needs) into
 *    SQLite (WAL, synchronous=FULL) in a batch transaction: one fsync per batch;
 *  - after COMMIT, signs one ES256 receipt for it (sub = the statement's sub, as the real service's
 *    receipts) over a one-leaf tree, so the receipt verifies (verifyReceipt, checked on a sample) and
 *    answers it 201 with that receipt.
 * It skips what the real service adds: the Merkle tree and its nodes, the signed tree head, the
 * registration policy, idempotency, key rotation, limits beyond the body size, metrics, Fastify for
 * the other routes. Three layouts: everything on the event loop; the batch (SQLite, fsync, signatures)
 * on a commit thread, as the service's default; and two HTTP event loops (worker threads sharing the port
 * through SO_REUSEPORT, each verifying) over one sequencer, the layout that could use both cores.
 * `./dev bench ts-ceiling` (about 3 minutes).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { type CoseKey, generateKey, loadKey, publicKey, toPem } from '@scitt-actions/core';
import { encodeKeySet, keySigner, sigStructure, thumbprint } from '@scitt-actions/core/cose';
import { leafHash } from '@scitt-actions/core/merkle';
import { ProofType, TrustedKeys, encodeInclusionProof, encodeReceipt, receiptProtectedHeader, statementEntry, verifyReceipt } from '@scitt-actions/core/receipt';
import { decodeKeySet } from '@scitt-actions/core/cose';
import { parseSignedStatement, verifySignedStatement } from '@scitt-actions/core/statement';
import { startService } from '../helpers/transparency-service.ts';
import { runLoad, writeIssuerKey } from '../helpers/ts-tools.ts';
import { cpuBetween, threadCpu, warmUp } from './transparency-service.ts';
import { fmt, row, title } from './stats.ts';

const BODY_LIMIT = 2 * 1024 * 1024;
const ISS = 'https://skeleton.example';

interface Item {
  entry: Uint8Array;
  sub: string;
}

/** The batch work: one transaction, its COMMIT (fsync), then one signed receipt per registration. */
function committer(dataDir: string, serviceKeyPem: string) {
  const db = new DatabaseSync(join(dataDir, 'log.sqlite'));
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
  // the index by entry id is irreducible too: GET /entries/{id} and idempotency need it
  db.exec('CREATE TABLE IF NOT EXISTS entries (leaf INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, entry BLOB NOT NULL)');
  const insert = db.prepare('INSERT INTO entries (leaf, id, entry) VALUES (?, ?, ?)');
  const key = loadKey(serviceKeyPem);
  const signer = keySigner(key);
  const kid = thumbprint(key);
  let size = 0;
  return async (items: readonly Item[]): Promise<Uint8Array[]> => {
    const leaves = items.map((p) => leafHash(p.entry));
    db.exec('BEGIN IMMEDIATE');
    try {
      items.forEach((p, k) => insert.run(size + k, createHash('sha256').update(p.entry).digest(), p.entry));
      db.exec('COMMIT');
    } catch (e) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw e;
    }
    size += items.length;
    const iat = Math.floor(Date.now() / 1000);
    const proof = encodeInclusionProof({ treeSize: 1, leafIndex: 0, path: [] });
    return Promise.all(
      items.map(async (p, k) => {
        const protectedBytes = receiptProtectedHeader({ signer, kid, iss: ISS, sub: p.sub, iat });
        return encodeReceipt(protectedBytes, ProofType.inclusion, proof, await signer.sign(sigStructure(protectedBytes, leaves[k]!)));
      }),
    );
  };
}

/** The skeleton server (a child process): prints its URL, then serves POST /entries until killed. */
async function serve(dataDir: string, threads: number, loops: number): Promise<void> {
  const serviceKeyPem = readFileSync(join(dataDir, 'service.pem'), 'utf8');
  if (loops > 1) return sequencer(dataDir, serviceKeyPem, loops);
  let commit: (items: Item[]) => Promise<Uint8Array[]>;
  if (threads > 0) {
    // the batch crosses as one transferred buffer of entries with their lengths and subs beside it
    const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { ceilingCommitThread: true, dataDir, serviceKeyPem } });
    const waiting = new Map<number, (r: { receipts: ArrayBuffer; lengths: Int32Array }) => void>();
    let next = 0;
    worker.on('message', (m: { id: number; receipts: ArrayBuffer; lengths: Int32Array }) => {
      waiting.get(m.id)!(m);
      waiting.delete(m.id);
    });
    commit = async (items) => {
      const packed = pack(items.map((p) => p.entry));
      const id = next++;
      const r = await new Promise<{ receipts: ArrayBuffer; lengths: Int32Array }>((res) => {
        waiting.set(id, res);
        worker.postMessage({ id, entries: packed.bytes, lengths: packed.lengths, subs: items.map((p) => p.sub) }, [packed.bytes]);
      });
      return unpack(r.receipts, r.lengths);
    };
  } else commit = committer(dataDir, serviceKeyPem);

  const server = httpLoop(dataDir, groupCommit(commit));
  server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`));
}

/** Group commit: what arrives while a batch commits forms the next batch. */
function groupCommit(commit: (items: Item[]) => Promise<Uint8Array[]>): (item: Item, done: (r: Uint8Array | Error) => void) => void {
  let queue: { item: Item; done: (r: Uint8Array | Error) => void }[] = [];
  let flushing = false;
  const flush = async () => {
    flushing = true;
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      try {
        const receipts = await commit(batch.map((q) => q.item));
        batch.forEach((q, k) => q.done(receipts[k]!));
      } catch (e) {
        for (const q of batch) q.done(e as Error);
      }
    }
    flushing = false;
  };
  return (item, done) => {
    queue.push({ item, done });
    if (!flushing) setImmediate(() => void flush());
  };
}

/** POST /entries: read the body (bounded), parse and verify the statement, hand it to `register`, answer its receipt. */
function httpLoop(dataDir: string, register: (item: Item, done: (r: Uint8Array | Error) => void) => void) {
  const issuer = loadKey(readFileSync(join(dataDir, 'issuer.pub.pem'), 'utf8'));
  return createServer({ requestTimeout: 10_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 }, (req, res) => {
    const answer = (status: number, body?: Uint8Array) => {
      res.writeHead(status, { 'content-type': status === 201 ? 'application/cose' : 'text/plain', 'content-length': String(body?.length ?? 0) });
      res.end(body);
    };
    if (req.method !== 'POST' || req.url !== '/entries') return answer(404);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > BODY_LIMIT) return req.destroy();
      chunks.push(c);
    });
    req.on('end', () => {
      let item: Item;
      try {
        const statement = parseSignedStatement(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
        verifySignedStatement(statement, issuer);
        item = { entry: statementEntry(statement), sub: statement.sub };
      } catch (e) {
        return answer(400, Buffer.from((e as Error).message));
      }
      register(item, (r) => (r instanceof Error ? answer(503, Buffer.from(r.message)) : answer(201, r)));
    });
  });
}

/**
 * Several HTTP event loops over one sequencer: `loops` worker threads each serve POST /entries on one
 * port (SO_REUSEPORT: the kernel spreads connections) and verify there; what each verified in one turn of
 * its loop crosses to the main thread as one transferred buffer, which group-commits all loops' items.
 */
async function sequencer(dataDir: string, serviceKeyPem: string, loops: number): Promise<void> {
  const register = groupCommit(committer(dataDir, serviceKeyPem));
  let port = 0;
  for (let n = 0; n < loops; n++) {
    const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { ceilingHttpLoop: true, dataDir, port } });
    worker.on('message', (m: { id: number; entries: ArrayBuffer; lengths: Int32Array; subs: string[] } | { port: number }) => {
      if ('port' in m) return;
      const entries = unpack(m.entries, m.lengths);
      const receipts: Uint8Array[] = new Array(entries.length);
      let left = entries.length;
      entries.forEach((entry, k) =>
        register({ entry, sub: m.subs[k]! }, (r) => {
          if (r instanceof Error) throw r;
          receipts[k] = r;
          if (--left === 0) {
            const packed = pack(receipts);
            worker.postMessage({ id: m.id, receipts: packed.bytes, lengths: packed.lengths }, [packed.bytes]);
          }
        }),
      );
    });
    port = await new Promise<number>((resolve) => worker.once('message', (m: { port: number }) => resolve(m.port)));
  }
  process.stdout.write(`http://127.0.0.1:${port}\n`);
}

if (!isMainThread && (workerData as { ceilingHttpLoop?: boolean } | undefined)?.ceilingHttpLoop) {
  const { dataDir, port } = workerData as { dataDir: string; port: number };
  const waiting = new Map<number, ((r: Uint8Array | Error) => void)[]>();
  let next = 0;
  let turn: { items: Item[]; done: ((r: Uint8Array | Error) => void)[] } | undefined;
  parentPort!.on('message', (m: { id: number; receipts: ArrayBuffer; lengths: Int32Array }) => {
    const done = waiting.get(m.id)!;
    waiting.delete(m.id);
    unpack(m.receipts, m.lengths).forEach((r, k) => done[k]!(r));
  });
  const server = httpLoop(dataDir, (item, done) => {
    if (!turn) {
      turn = { items: [], done: [] };
      setImmediate(() => {
        const { items, done: callbacks } = turn!;
        turn = undefined;
        const packed = pack(items.map((p) => p.entry));
        const id = next++;
        waiting.set(id, callbacks);
        parentPort!.postMessage({ id, entries: packed.bytes, lengths: packed.lengths, subs: items.map((p) => p.sub) }, [packed.bytes]);
      });
    }
    turn.items.push(item);
    turn.done.push(done);
  });
  server.listen({ port, host: '127.0.0.1', reusePort: true }, () => parentPort!.postMessage({ port: (server.address() as AddressInfo).port }));
}

function pack(list: readonly Uint8Array[]): { bytes: ArrayBuffer; lengths: Int32Array } {
  const lengths = Int32Array.from(list, (b) => b.length);
  const bytes = new Uint8Array(lengths.reduce((a, b) => a + b, 0));
  let at = 0;
  for (const b of list) {
    bytes.set(b, at);
    at += b.length;
  }
  return { bytes: bytes.buffer, lengths };
}

function unpack(buffer: ArrayBuffer, lengths: Int32Array): Uint8Array[] {
  const bytes = new Uint8Array(buffer);
  let at = 0;
  return Array.from(lengths, (n) => bytes.subarray(at, (at += n)));
}

if (!isMainThread && (workerData as { ceilingCommitThread?: boolean } | undefined)?.ceilingCommitThread) {
  const { dataDir, serviceKeyPem } = workerData as { dataDir: string; serviceKeyPem: string };
  const commit = committer(dataDir, serviceKeyPem);
  let chain = Promise.resolve();
  parentPort!.on('message', (m: { id: number; entries: ArrayBuffer; lengths: Int32Array; subs: string[] }) => {
    chain = chain.then(async () => {
      const entries = unpack(m.entries, m.lengths);
      const receipts = pack(await commit(entries.map((entry, k) => ({ entry, sub: m.subs[k]! }))));
      parentPort!.postMessage({ id: m.id, receipts: receipts.bytes, lengths: receipts.lengths }, [receipts.bytes]);
    });
  });
}

function fsyncRate(dir: string): number {
  const fd = openSync(join(dir, 'fsync.bin'), 'a');
  const record = Buffer.alloc(128, 0x61);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 2000) {
    writeSync(fd, record);
    fsyncSync(fd);
    n++;
  }
  closeSync(fd);
  return n / ((performance.now() - t0) / 1000);
}

async function startSkeleton(dataDir: string, threads: number, loops: number): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', dataDir, String(threads), String(loops)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!.trim());
    });
    proc.once('exit', (code) => reject(new Error(`skeleton exited ${code}`)));
  });
  return { url, proc };
}

interface Measured {
  name: string;
  load: Awaited<ReturnType<typeof runLoad>>;
  cpu: { loop: number; workers: number; all: number };
}

async function measure(name: string, url: string, pid: number, keyFile: string, check: (statement: Uint8Array, receipt: Uint8Array) => void): Promise<Measured> {
  const c0 = threadCpu(pid);
  const load = await runLoad({ url, keyFile, connections: 16, warmupS: 2, durationS: 8, statements: 80_000, sample: 100 });
  const cpu = cpuBetween(pid, c0, threadCpu(pid));
  if (load.errors > 0 || load.badReceipts > 0 || Object.keys(load.byStatus).some((s) => s !== '201')) throw new Error(`${name}: ${JSON.stringify(load.byStatus)}, ${load.errors} errors: ${load.errorSamples.join('; ')}`);
  for (const s of load.sample) check(Buffer.from(s.statement, 'base64'), Buffer.from(s.receipt, 'base64'));
  return { name, load, cpu };
}

export async function bench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'scitt-bench-ceiling-'));
  const children: ChildProcess[] = [];
  try {
    title('Transparency Service ceiling: the irreducible work alone vs the service (16 clients, separate load process)');
    const fsync = fsyncRate(dir);
    row('raw fsync: 128-byte append + fsync (baseline)', fmt(fsync));
    const issuer = generateKey('P-256');
    const keyFile = writeIssuerKey(dir, issuer);
    const results: Measured[] = [];
    const layouts = [
      { threads: 0, loops: 1, name: 'all on the event loop' },
      { threads: 1, loops: 1, name: 'batch on a commit thread' },
      { threads: 0, loops: 2, name: 'two HTTP event loops (threads, one port) over one sequencer' },
    ];
    for (const { threads, loops, name } of layouts) {
      const dataDir = join(dir, `skeleton-${threads}-${loops}`);
      mkdirSync(dataDir);
      const service: CoseKey = generateKey('P-256');
      writeFileSync(join(dataDir, 'issuer.pub.pem'), toPem(publicKey(issuer)));
      writeFileSync(join(dataDir, 'service.pem'), toPem(service, { includePrivate: true }), { mode: 0o600 });
      const keys = new TrustedKeys(decodeKeySet(encodeKeySet([publicKey(service)])));
      const s = await startSkeleton(dataDir, threads, loops);
      children.push(s.proc);
      results.push(await measure(`skeleton, ${name}`, s.url, s.proc.pid!, keyFile, (st, r) => void verifyReceipt(r, statementEntry(st), keys)));
      s.proc.kill('SIGKILL');
    }
    for (const threads of ['0', '1']) {
      const dataDir = join(dir, `service-${threads}`);
      mkdirSync(dataDir);
      const ts = await startService({ dataDir, issuers: [publicKey(issuer)], args: ['--rate', '0', '--threads', threads] });
      try {
        await warmUp(ts.url, issuer);
        const keys = new TrustedKeys(decodeKeySet(new Uint8Array(await (await fetch(`${ts.url}/.well-known/scitt-keys`)).arrayBuffer())));
        results.push(await measure(`scitt serve --threads ${threads}`, ts.url, ts.proc.pid!, keyFile, (st, r) => void verifyReceipt(r, statementEntry(st), keys)));
      } finally {
        await ts.stop();
      }
    }
    const best = Math.max(...results.slice(0, layouts.length).map((r) => r.load.acceptedPerSec));
    for (const r of results) {
      const l = r.load;
      const us = (s: number) => `${Math.round((s * 1e6) / Math.max(1, l.acceptedTotal))} µs`;
      title(`  ${r.name}`);
      row('registrations/s', fmt(l.acceptedPerSec), `p99 ${l.latencyMs.accepted.p99} ms; ${(l.acceptedPerSec / fsync).toFixed(2)}× raw fsync; ${(l.acceptedPerSec / best).toFixed(2)}× the best skeleton`);
      row('  CPU per registration: service, load process', us(r.cpu.all), `event loop ${us(r.cpu.loop)}, worker threads ${us(r.cpu.workers)}; load ${Math.round((l.clientCpu * 1e6) / Math.max(1, l.acceptedPerSec))} µs (${l.clientCpu.toFixed(2)} cores)`);
      row('  2 cores ÷ (service + load CPU per registration)', fmt(2e6 / ((r.cpu.all * 1e6) / Math.max(1, l.acceptedTotal) + (l.clientCpu * 1e6) / Math.max(1, l.acceptedPerSec))), 'what the machine could sustain if both cores were busy with nothing else');
    }
  } finally {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMainThread && process.argv[2] === '--serve') await serve(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]));
else if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) await bench();
