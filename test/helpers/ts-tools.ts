/**
 * Helpers for the Transparency Service's crash, fault, load tests and benchmark: the service's keys
 * and signed tree heads over HTTP, consistency checks between tree heads with the core verifiers,
 * the load generator (test/load/register-load.ts) as a separate process, and the RSS of a process.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CoseKey, toPem } from '@scitt-actions/core';
import { decodeKeySet } from '@scitt-actions/core/cose';
import { ProofType, TrustedKeys, type TreeHead, decodeConsistencyProof, readReceiptHeaders, verifyConsistencyReceipt, verifyTreeHead, verifyTreeHeadConsistency } from '@scitt-actions/core/receipt';
import type { LoadResult } from '../load/register-load.ts';

export type { LoadResult } from '../load/register-load.ts';

const LOAD_SCRIPT = resolve(fileURLToPath(import.meta.url), '../../load/register-load.ts');

export async function serviceKeys(url: string): Promise<TrustedKeys> {
  const r = await fetch(`${url}/.well-known/scitt-keys`);
  if (r.status !== 200) throw new Error(`GET /.well-known/scitt-keys: ${r.status}`);
  return new TrustedKeys(decodeKeySet(new Uint8Array(await r.arrayBuffer())));
}

/** hex kids of a key set, sorted */
export const kidsOf = (keys: TrustedKeys): string[] => [...keys].map((k) => Buffer.from(k.kid).toString('hex')).sort();

export interface SignedHead {
  bytes: Uint8Array;
  head: TreeHead;
}

/** GET /tree-head, verified with `keys`; undefined for an empty log (404). */
export async function fetchTreeHead(url: string, keys: TrustedKeys): Promise<SignedHead | undefined> {
  const r = await fetch(`${url}/tree-head`);
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new Error(`GET /tree-head: ${r.status}`);
  const bytes = new Uint8Array(await r.arrayBuffer());
  return { bytes, head: verifyTreeHead(bytes, keys) };
}

/**
 * Proves that `newer` extends `older` with the service's own consistency receipt (GET /consistency,
 * signed over root(newer)), verified with the core verifiers: the receipt against the older
 * (size, root), its signed root equal to the newer tree head's root, and — when the older is a signed
 * tree head — the same path through verifyTreeHeadConsistency. Throws unless all hold.
 */
export async function assertConsistent(
  url: string,
  keys: TrustedKeys,
  older: { treeSize: number; root: Uint8Array; bytes?: Uint8Array },
  newer: SignedHead,
): Promise<void> {
  const to = newer.head.treeSize;
  if (older.treeSize > to) throw new Error(`tree shrank: an earlier tree had ${older.treeSize} leaves, the new head ${to}`);
  if (older.treeSize === to) {
    if (!Buffer.from(older.root).equals(Buffer.from(newer.head.root))) throw new Error(`two different roots for tree size ${to}`);
    return;
  }
  const r = await fetch(`${url}/consistency?from=${older.treeSize}&to=${to}`);
  if (r.status !== 200) throw new Error(`GET /consistency?from=${older.treeSize}&to=${to}: ${r.status} ${Buffer.from(await r.arrayBuffer()).toString('latin1')}`);
  const receipt = new Uint8Array(await r.arrayBuffer());
  const v = verifyConsistencyReceipt(receipt, { treeSize: older.treeSize, root: older.root }, keys);
  if (v.treeSize2 !== to || !Buffer.from(v.root).equals(Buffer.from(newer.head.root))) {
    throw new Error(`consistency receipt ends at size ${v.treeSize2} with another root than the tree head of size ${to}`);
  }
  if (older.bytes) {
    const proofs = readReceiptHeaders(receipt).vdp.get(ProofType.consistency) as Uint8Array[];
    verifyTreeHeadConsistency(older.bytes, newer.bytes, decodeConsistencyProof(proofs[0]!), keys);
  }
}

/** VmRSS of a process in KiB, from /proc/<pid>/status. */
export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** Writes the issuer's private key for the load process; returns its path. */
export function writeIssuerKey(dir: string, key: CoseKey): string {
  const path = join(dir, `issuer-${process.pid}-${Date.now()}.pem`);
  writeFileSync(path, toPem(key, { includePrivate: true }), { mode: 0o600 });
  return path;
}

export interface LoadArgs {
  url: string;
  keyFile: string;
  connections?: number;
  durationS?: number;
  count?: number;
  rate?: number;
  statements?: number;
  sample?: number;
  warmupS?: number;
  timeoutMs?: number;
  /** raw sockets (default) or node:http's Agent */
  client?: 'raw' | 'node';
  /** request target (default /entries) */
  path?: string;
}

/** Runs test/load/register-load.ts as a separate process and returns its parsed result. */
export function runLoad(a: LoadArgs): Promise<LoadResult> {
  const args = [LOAD_SCRIPT, '--url', a.url, '--key', a.keyFile];
  const opt = (name: string, v: number | undefined) => v !== undefined && args.push(`--${name}`, String(v));
  opt('connections', a.connections);
  opt('duration', a.durationS);
  opt('count', a.count);
  opt('rate', a.rate);
  opt('statements', a.statements);
  opt('sample', a.sample);
  opt('warmup', a.warmupS);
  opt('timeout', a.timeoutMs);
  if (a.client) args.push('--client', a.client);
  if (a.path) args.push('--path', a.path);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((res, rej) => {
    child.once('error', rej);
    child.once('exit', (code) => {
      if (code !== 0) return rej(new Error(`load generator exited ${code}:\n${err}`));
      try {
        res(JSON.parse(out.trim().split('\n').pop()!) as LoadResult);
      } catch (e) {
        rej(new Error(`load generator printed no result (${(e as Error).message}):\n${out}\n${err}`));
      }
    });
  });
}

export interface Sample {
  atMs: number;
  rssKiB: number;
  /** CPU seconds the service has used so far */
  cpuS: number;
  /** registrations waiting in the service (GET /health), -1 when it did not answer */
  queue: number;
}

/** Samples the service's RSS and queue length every `everyMs` until stopped. */
export function monitor(pid: number, url: string, everyMs = 250): { stop(): Promise<Sample[]> } {
  const samples: Sample[] = [];
  const t0 = performance.now();
  let running = true;
  const loop = (async () => {
    while (running) {
      let queue = -1;
      try {
        const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
        queue = ((await r.json()) as { queue: number }).queue;
      } catch {
        // busy or gone: recorded as -1
      }
      samples.push({ atMs: Math.round(performance.now() - t0), rssKiB: rssKiB(pid), cpuS: cpuSeconds(pid), queue });
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

/**
 * POST /entries and the receipt, as a SCRAPI client gets it: a 201's body, or after a 303 (the batch
 * took longer than --sync-wait, as on a loaded machine) the entry polled until it is committed.
 */
export async function registerForReceipt(url: string, statement: Uint8Array): Promise<Uint8Array> {
  let r = await fetch(`${url}/entries`, { method: 'POST', body: statement, headers: { 'Content-Type': 'application/cose' }, redirect: 'manual' });
  for (let i = 0; (r.status === 303 || r.status === 302) && i < 1200; i++) {
    await r.arrayBuffer();
    await new Promise((res) => setTimeout(res, 50));
    r = await fetch(new URL(r.headers.get('location')!, url), { redirect: 'manual' });
  }
  if (r.status !== 201 && r.status !== 200) throw new Error(`registration answered ${r.status}: ${(await r.text()).slice(0, 200)}`);
  return new Uint8Array(await r.arrayBuffer());
}
