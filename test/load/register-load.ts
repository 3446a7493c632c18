/**
 * Load generator for the embedded Transparency Service, run as its own process so that the client's
 * CPU is not the service's: POSTs distinct Signed Statements to /entries over keep-alive loopback
 * connections and prints one JSON line with status counts and latency percentiles.
 *
 *   node test/load/register-load.ts --url http://127.0.0.1:PORT --key issuer.pem \
 *     [--connections 16] [--duration 10] [--count N] [--rate R] [--statements N] [--sample K]
 *
 * --key        PEM private key of an issuer the service's registration policy trusts
 * --duration   seconds to run (default 10); --count sends at most N requests, whichever ends first
 * --rate       offered requests/s across all connections (0: closed loop, as fast as answered)
 * --statements distinct statements generated before the clock starts (default: --count, else 20000),
 *              on every core in worker threads. A statement answered 429/503 (or failed) is offered
 *              again next, as a client honouring Retry-After would;
 *              when the pool runs dry, answered statements are re-sent (idempotent, counted as reused).
 * --sample     include K (statement, 201 body) pairs, base64, so the caller can verify receipts
 * --timeout    per-request timeout in ms (default 15000)
 * --warmup     seconds of load before the measured window (default 0); its responses are not counted
 * --client     raw (default): HTTP/1.1 written and read on plain keep-alive sockets, one request at a
 *              time per connection; node: node:http's Agent (about three times the CPU per request,
 *              which on 2 cores the service then lacks)
 * --path       the request target (default /entries)
 *
 * Every 201 must carry a receipt: its body is decoded as one (readReceiptHeaders: a COSE_Sign1 with a
 * protected kid, CWT claims, vds and an inclusion proof map); one that is not counts as an error.
 * Only 127.0.0.1 / localhost URLs are accepted; the run stops by itself.
 */
import { Agent, request } from 'node:http';
import { type Socket, connect } from 'node:net';
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { loadKey } from '@scitt-actions/core';
import { keySigner, thumbprint } from '@scitt-actions/core/cose';
import { createSignedStatement } from '@scitt-actions/core/statement';
import { readReceiptHeaders } from '@scitt-actions/core/receipt';

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface LoadResult {
  url: string;
  connections: number;
  offeredRate: number;
  durationMs: number;
  sent: number;
  /** responses by HTTP status */
  byStatus: Record<string, number>;
  /** network errors and timeouts */
  errors: number;
  errorSamples: string[];
  /** 429/503 without a Retry-After header (must be 0) */
  missingRetryAfter: number;
  /** statuses outside 201/303/429/503 */
  unexpected: Record<string, number>;
  /** every response per second over the measured window */
  responsesPerSec: number;
  /** 201 + 303 per second */
  acceptedPerSec: number;
  latencyMs: { all: LatencySummary; accepted: LatencySummary; rejected: LatencySummary };
  /** CPU the load process used over the measured window, in cores (1 = one core busy) */
  clientCpu: number;
  /** 201 + 303 answers in all, warm-up included */
  acceptedTotal: number;
  /** 201 answers whose body was not a receipt (must be 0; also counted in errors) */
  badReceipts: number;
  /** statements sent again after the pool ran dry (idempotent re-registrations) */
  reused: number;
  generated: number;
  generateMs: number;
  sample: { statement: string; receipt: string }[];
}

interface Options {
  url: string;
  keyPem: string;
  connections: number;
  durationMs: number;
  count: number;
  rate: number;
  statements: number;
  sample: number;
  timeoutMs: number;
  warmupMs: number;
  client: 'raw' | 'node';
  path: string;
}

function parseArgs(argv: string[]): Options {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string, dflt: number): number => {
    const v = get(name);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got ${v}`);
    return n;
  };
  const url = get('url');
  const key = get('key');
  if (!url || !key) throw new Error('usage: register-load.ts --url URL --key FILE [--connections N] [--duration S] [--count N] [--rate R] [--statements N] [--sample K]');
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) throw new Error(`load is only generated against loopback, not ${host}`);
  const count = num('count', 0);
  return {
    url,
    keyPem: readFileSync(key, 'utf8'),
    connections: Math.max(1, Math.floor(num('connections', 16))),
    durationMs: num('duration', 10) * 1000,
    count,
    rate: num('rate', 0),
    statements: Math.max(1, Math.floor(num('statements', count > 0 ? count : 20_000))),
    sample: num('sample', 0),
    timeoutMs: num('timeout', 15_000),
    warmupMs: num('warmup', 0) * 1000,
    client: get('client') === 'node' ? 'node' : 'raw',
    path: get('path') ?? '/entries',
  };
}

/** Distinct statements `from..to-1` signed by the issuer key (payload and subject carry the number and a run tag). */
async function makeStatements(keyPem: string, from: number, to: number, tag: string): Promise<Uint8Array[]> {
  const key = loadKey(keyPem);
  const signer = keySigner(key);
  const kid = thumbprint(key);
  const out: Uint8Array[] = [];
  for (let i = from; i < to; i++) {
    out.push(
      await createSignedStatement({
        payload: new TextEncoder().encode(`{"run":"${tag}","n":${i}}`),
        contentType: 'application/json',
        signer,
        iss: 'https://issuer.example/load',
        sub: `pkg:generic/load-${tag}@${i}`,
        kid,
      }),
    );
  }
  return out;
}

/** Generates `n` statements on every core. */
export async function generateStatements(keyPem: string, n: number, tag = `${process.pid}-${Date.now()}`): Promise<Uint8Array[]> {
  const workers = Math.max(1, Math.min(availableParallelism(), Math.ceil(n / 2000)));
  if (workers === 1) return makeStatements(keyPem, 0, n, tag);
  const per = Math.ceil(n / workers);
  const parts = await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const from = w * per;
      const to = Math.min(n, from + per);
      return new Promise<Uint8Array[]>((resolve, reject) => {
        const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { keyPem, from, to, tag } });
        worker.once('message', (m: Uint8Array[]) => resolve(m.map((b) => new Uint8Array(b))));
        worker.once('error', reject);
        worker.once('exit', (code) => code !== 0 && reject(new Error(`statement worker exited ${code}`)));
      });
    }),
  );
  return parts.flat();
}

function summarize(xs: number[]): LatencySummary {
  if (xs.length === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const s = Float64Array.from(xs).sort();
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  const r = (x: number) => Math.round(x * 100) / 100;
  return { count: s.length, p50: r(q(0.5)), p90: r(q(0.9)), p99: r(q(0.99)), max: r(s[s.length - 1]!) };
}

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: Buffer;
}

/**
 * One keep-alive HTTP/1.1 connection, one request at a time: the request written in one go, the
 * answer read by Content-Length (or chunked), reconnecting after the server closes. The measuring
 * tool's own CPU is the service's loss on a 2-core machine, hence no node:http here.
 */
class RawConnection {
  #socket: Socket | undefined;
  #buf: Buffer = Buffer.alloc(0);
  #waiting: { resolve: (a: Answer) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  readonly #host: string;
  readonly #port: number;
  readonly #head: string;
  readonly #timeoutMs: number;

  constructor(url: URL, timeoutMs: number) {
    this.#host = url.hostname.replace(/^\[|\]$/g, '');
    this.#port = Number(url.port || 80);
    this.#head = `POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/cose\r\nContent-Length: `;
    this.#timeoutMs = timeoutMs;
  }

  post(body: Uint8Array): Promise<Answer> {
    const socket = (this.#socket ??= this.#connect());
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(new Error(`timeout after ${this.#timeoutMs} ms`)), this.#timeoutMs);
      this.#waiting = { resolve, reject, timer };
      socket.cork();
      socket.write(`${this.#head}${body.length}\r\n\r\n`);
      socket.write(body);
      socket.uncork();
    });
  }

  close(): void {
    this.#socket?.destroy();
  }

  #connect(): Socket {
    const s = connect({ host: this.#host, port: this.#port, noDelay: true });
    this.#buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
      this.#parse();
    });
    s.on('error', (e) => this.#fail(e));
    s.on('close', () => this.#fail(new Error('connection closed by the server')));
    return s;
  }

  #fail(e: Error): void {
    this.#socket?.destroy();
    this.#socket = undefined;
    const w = this.#waiting;
    this.#waiting = undefined;
    if (w) {
      clearTimeout(w.timer);
      w.reject(e);
    }
  }

  #parse(): void {
    const b = this.#buf;
    const end = b.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = b.toString('latin1', 0, end).split('\r\n');
    const status = Number(head[0]!.split(' ')[1]);
    const headers = new Map<string, string>();
    for (const line of head.slice(1)) {
      const i = line.indexOf(':');
      headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
    let body: Buffer;
    let used: number;
    if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      let at = end + 4;
      for (;;) {
        const eol = b.indexOf('\r\n', at);
        if (eol < 0) return;
        const size = parseInt(b.toString('latin1', at, eol), 16);
        if (b.length < eol + 2 + size + 2) return;
        if (size === 0) {
          used = eol + 4;
          break;
        }
        parts.push(b.subarray(eol + 2, eol + 2 + size));
        at = eol + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      const length = Number(headers.get('content-length') ?? 0);
      if (b.length < end + 4 + length) return;
      body = b.subarray(end + 4, end + 4 + length);
      used = end + 4 + length;
    }
    this.#buf = b.subarray(used);
    const w = this.#waiting;
    this.#waiting = undefined;
    if (headers.get('connection')?.toLowerCase() === 'close') {
      this.#socket?.destroy();
      this.#socket = undefined;
    }
    if (w) {
      clearTimeout(w.timer);
      w.resolve({ status, retryAfter: headers.get('retry-after'), body });
    }
  }
}

export async function runLoad(o: Options): Promise<LoadResult> {
  const g0 = performance.now();
  const pool = await generateStatements(o.keyPem, o.statements);
  const generateMs = performance.now() - g0;
  const answered: Uint8Array[] = [];
  const retry: Uint8Array[] = [];
  let reused = 0;
  const take = (): Uint8Array => {
    const s = retry.pop() ?? pool.pop();
    if (s) return s;
    reused++;
    return answered[reused % answered.length] ?? answered[0]!;
  };

  const target = new URL(o.path, o.url);
  const agent = new Agent({ keepAlive: true, maxSockets: o.connections, maxFreeSockets: o.connections });
  const raw = Array.from({ length: o.connections }, () => new RawConnection(target, o.timeoutMs));
  const byStatus: Record<string, number> = {};
  const unexpected: Record<string, number> = {};
  const lat = { all: [] as number[], accepted: [] as number[], rejected: [] as number[] };
  const sample: { statement: string; receipt: string }[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let missingRetryAfter = 0;
  let sent = 0;
  let measuring = o.warmupMs === 0;
  let stopped = false;

  const nodePost = (body: Uint8Array) =>
    new Promise<Answer>((resolve, reject) => {
      const req = request(
        target,
        { method: 'POST', agent, headers: { 'content-type': 'application/cose', 'content-length': body.length }, timeout: o.timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timeout after ${o.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });

  let t0 = performance.now();
  let slot = 0;
  const pace = async () => {
    if (o.rate <= 0) return;
    const due = t0 + (slot++ * 1000) / o.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  };

  let badReceipts = 0;
  const worker = async (c: number) => {
    const post = o.client === 'raw' ? (body: Uint8Array) => raw[c]!.post(body) : nodePost;
    while (!stopped) {
      await pace();
      if (stopped) break;
      const counted = measuring;
      if (counted && o.count > 0 && sent >= o.count) break; // --count: never more requests than asked for
      const statement = take();
      const started = performance.now();
      if (counted) sent++;
      try {
        const r = await post(statement);
        const ms = performance.now() - started;
        if (r.status === 201) {
          try {
            readReceiptHeaders(r.body);
          } catch (e) {
            throw new Error(`a 201 without a receipt: ${(e as Error).message}`);
          }
        }
        const accepted = r.status === 201 || r.status === 303;
        if (accepted) answered.push(statement);
        else retry.push(statement); // offered again later
        if (!counted || !measuring) continue;
        byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
        lat.all.push(ms);
        if (accepted) lat.accepted.push(ms);
        else if (r.status === 429 || r.status === 503) {
          lat.rejected.push(ms);
          if (!r.retryAfter || !(Number(r.retryAfter) > 0)) missingRetryAfter++;
        } else unexpected[r.status] = (unexpected[r.status] ?? 0) + 1;
        if (r.status === 201 && sample.length < o.sample) sample.push({ statement: Buffer.from(statement).toString('base64'), receipt: r.body.toString('base64') });
      } catch (e) {
        retry.push(statement);
        if ((e as Error).message.startsWith('a 201 without')) badReceipts++;
        if (!counted || !measuring) continue;
        errors++;
        if (errorSamples.length < 5) errorSamples.push((e as Error).message);
      }
    }
  };

  const workers = Array.from({ length: o.connections }, (_, c) => worker(c));
  if (o.warmupMs > 0) {
    await new Promise((r) => setTimeout(r, o.warmupMs));
    measuring = true;
    t0 = performance.now();
    slot = 0;
  }
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const timer = setTimeout(() => (stopped = true), o.durationMs);
  await Promise.all(workers);
  clearTimeout(timer);
  const durationMs = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  for (const c of raw) c.close();
  const total = lat.all.length;
  const accepted = (byStatus['201'] ?? 0) + (byStatus['303'] ?? 0);
  return {
    url: o.url,
    connections: o.connections,
    offeredRate: o.rate,
    durationMs: Math.round(durationMs),
    sent,
    byStatus,
    errors,
    errorSamples,
    missingRetryAfter,
    unexpected,
    responsesPerSec: Math.round(total / (durationMs / 1000)),
    acceptedPerSec: Math.round(accepted / (durationMs / 1000)),
    latencyMs: { all: summarize(lat.all), accepted: summarize(lat.accepted), rejected: summarize(lat.rejected) },
    acceptedTotal: answered.length,
    clientCpu: Math.round(((cpu.user + cpu.system) / 1000 / durationMs) * 100) / 100,
    reused,
    badReceipts,
    generated: o.statements,
    generateMs: Math.round(generateMs),
    sample,
  };
}

if (!isMainThread) {
  const { keyPem, from, to, tag } = workerData as { keyPem: string; from: number; to: number; tag: string };
  const out = await makeStatements(keyPem, from, to, tag);
  parentPort!.postMessage(out);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await runLoad(parseArgs(process.argv.slice(2)));
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
