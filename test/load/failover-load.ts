/**
 * Registration load for failover tests, run as its own process: POSTs distinct Signed Statements
 * to several service replicas (round robin) and prints one JSON line per answer, so the test knows
 * each acknowledged statement, its receipt and when it came:
 *
 *   node test/load/failover-load.ts --urls http://127.0.0.1:P1,http://127.0.0.1:P2 --key issuer.pem [--clients 12] [--statements 4000]
 *
 * Lines: {"ready":true} once the statements are made; then {"t","sent","status","s"?,"r"?}: t and sent are
 * epoch ms (answer, request), s the statement and r the 201's receipt (base64), s on 201 and 303 only;
 * status 0 is a network error. A statement not acknowledged is offered again 25 ms later. Ends when
 * its stdin closes: stops sending, waits for the answers in flight, prints {"done":true}.
 * Loopback only.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { generateStatements } from './register-load.ts';

const get = (name: string, dflt?: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : dflt;
  if (v === undefined) throw new Error('usage: failover-load.ts --urls URL,URL --key FILE [--clients N] [--statements N]');
  return v;
};
const urls = get('urls').split(',');
for (const u of urls) if (new URL(u).hostname !== '127.0.0.1') throw new Error(`load is only generated against 127.0.0.1, not ${u}`);
const clients = Number(get('clients', '12'));
const pool = await generateStatements(readFileSync(get('key'), 'utf8'), Number(get('statements', '4000')));
const agent = new Agent({ keepAlive: true, maxSockets: clients });
const now = () => performance.timeOrigin + performance.now();
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

function post(url: string, body: Uint8Array): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('/entries', url), { method: 'POST', agent, headers: { 'content-type': 'application/cose', 'content-length': body.length }, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

let stopped = false;
process.stdin.on('end', () => (stopped = true)).on('close', () => (stopped = true)).resume();

const client = async (c: number) => {
  let retry: Uint8Array | undefined;
  for (let i = c; !stopped; i++) {
    const s = retry ?? pool.pop();
    if (!s) break;
    const sent = now();
    try {
      const r = await post(urls[i % urls.length]!, s);
      const acked = r.status === 201 || r.status === 303;
      out({ t: now(), sent, status: r.status, ...(acked ? { s: b64(s) } : {}), ...(r.status === 201 ? { r: b64(r.body) } : {}) });
      retry = acked ? undefined : s;
    } catch {
      out({ t: now(), sent, status: 0 });
      retry = s;
    }
    if (retry) await new Promise((res) => setTimeout(res, 25));
  }
};
out({ ready: true });
await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
out({ done: true });
agent.destroy();
