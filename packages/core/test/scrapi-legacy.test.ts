/**
 * The SCRAPI client against a local server that answers as deployed CCF-based services still do
 * (wire-format.md §7, scitt-ccf-ledger): keys via /.well-known/transparency-configuration → jwks_uri,
 * registration answered 202 Accepted with an operation to poll at /operations/{id} (running →
 * succeeded with entryId), receipts at /entries/{id}/receipt; and the current draft's 303 → 302 → 200.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScrapiClient, generateKey, publicKey } from '../src/index.ts';
import { thumbprint, toJwk } from '../src/cose/index.ts';
import { ScrapiError } from '../src/scrapi/index.ts';

const serviceKey = generateKey('P-384');
const RECEIPT = new Uint8Array([0xd2, 0x84, 0x40, 0xa0, 0xf6, 0x40]); // the client treats receipts as opaque bytes

interface Seen {
  method: string;
  url: string;
}

function legacyServer(): Promise<{ url: string; seen: Seen[]; server: Server; failNext: { value: boolean } }> {
  const seen: Seen[] = [];
  const polls = new Map<string, number>();
  const failNext = { value: false };
  const server = createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url! });
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/scitt-keys') return json(404, { error: { code: 'NotFound', message: 'no such path' } });
    if (req.url === '/.well-known/transparency-configuration') return json(200, { issuer: 'ledger.example', jwks_uri: '/jwks' });
    if (req.url === '/jwks') return json(200, { keys: [{ ...toJwk(publicKey(serviceKey)), kid: Buffer.from(thumbprint(serviceKey)).toString('hex') }] });
    if (req.method === 'POST' && req.url === '/entries') {
      req.resume();
      if (failNext.value) {
        failNext.value = false;
        return json(400, { error: { code: 'InvalidInput', message: 'Signed statement is not a valid COSE_Sign1' } });
      }
      const id = `op-${seen.length}`;
      polls.set(id, 0);
      return json(202, { operationId: id, status: 'running' }, { location: `/operations/${id}`, 'retry-after': '0' });
    }
    const op = /^\/operations\/(.+)$/.exec(req.url!);
    if (op) {
      const n = (polls.get(op[1]!) ?? 0) + 1;
      polls.set(op[1]!, n);
      return n < 3 ? json(200, { operationId: op[1], status: 'running' }, { 'retry-after': '0' }) : json(200, { operationId: op[1], status: 'succeeded', entryId: '2.13' });
    }
    if (req.url === '/entries/2.13') return json(404, { error: { code: 'NotFound', message: 'use /receipt' } });
    if (req.url === '/entries/2.13/receipt') {
      res.writeHead(200, { 'content-type': 'application/cose' });
      return res.end(Buffer.from(RECEIPT));
    }
    json(404, { error: { code: 'NotFound', message: req.url } });
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server, failNext })));
}

describe('SCRAPI client: the variant deployed CCF services serve', () => {
  let s: Awaited<ReturnType<typeof legacyServer>>;
  beforeAll(async () => {
    s = await legacyServer();
  });
  afterAll(() => new Promise<void>((r) => s.server.close(() => r())));

  it('finds the keys through transparency-configuration and its JWKS', async () => {
    const keys = await new ScrapiClient({ url: s.url }).keys();
    expect(keys).toHaveLength(1);
    expect(keys[0]!.crv).toBe('P-384');
    expect(Buffer.from(keys[0]!.kid!).toString()).toBe(Buffer.from(thumbprint(serviceKey)).toString('hex'));
  });

  it('registers through 202 Accepted, polls the operation until it succeeds, then fetches the receipt', async () => {
    s.seen.length = 0;
    const r = await new ScrapiClient({ url: s.url }).register(new Uint8Array([1, 2, 3]));
    expect(r.entryId).toBe('2.13');
    expect(Buffer.from(r.receipt!).equals(Buffer.from(RECEIPT))).toBe(true);
    const paths = s.seen.map((x) => `${x.method} ${x.url.replace(/op-\d+/, 'op')}`);
    expect(paths).toEqual(['POST /entries', 'GET /operations/op', 'GET /operations/op', 'GET /operations/op', 'GET /entries/2.13', 'GET /entries/2.13/receipt']);
  });

  it('with wait: false, returns the operation to poll later', async () => {
    const r = await new ScrapiClient({ url: s.url }).register(new Uint8Array([1]), { wait: false });
    expect(r.receipt).toBeUndefined();
    expect(r.location).toMatch(/\/operations\/op-\d+$/);
  });

  it('a refusal is a ScrapiError that carries the service words', async () => {
    s.failNext.value = true;
    const e = await new ScrapiClient({ url: s.url }).register(new Uint8Array([1])).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ScrapiError);
    expect((e as ScrapiError).code).toBe('ERR_SCRAPI_REFUSED');
    expect((e as Error).message).toMatch(/400 InvalidInput: Signed statement is not a valid COSE_Sign1/);
  });
});
