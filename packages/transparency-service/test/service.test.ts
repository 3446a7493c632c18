import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as cbor from '@scitt-actions/core/cbor';
import { ScrapiClient, attachReceipts, generateKey, publicKey, type CoseKey } from '@scitt-actions/core';
import { decodeKeySet, keySigner, thumbprint } from '@scitt-actions/core/cose';
import { TrustedKeys, statementEntry, verifyReceipt, verifyTransparentStatement } from '@scitt-actions/core/receipt';
import { createSignedStatement } from '@scitt-actions/core/statement';
import { type ServiceProcess, startService } from '../../../test/helpers/transparency-service.ts';

const issuer = generateKey('P-256');
const stranger = generateKey('P-256');
let n = 0;
const treeSize = async (url: string) => ((await (await fetch(`${url}/health`)).json()) as { treeSize: number }).treeSize;
const statementBy = (key: CoseKey, payload = `{"n":${n++}}`) =>
  createSignedStatement({ payload: new TextEncoder().encode(payload), contentType: 'application/json', signer: keySigner(key), iss: 'https://issuer.example', sub: `pkg:generic/app@1.0.${n}`, kid: thumbprint(key) });

async function post(url: string, body: Uint8Array | string, type = 'application/cose', headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/entries`, { method: 'POST', body, headers: { 'Content-Type': type, ...headers }, redirect: 'manual' });
}

/**
 * A body the service refuses by its Content-Length: the 413 comes (and the socket closes) before the
 * body is sent, and TCP may then reset the connection before the client reads the answer (fetch:
 * "fetch failed", node:http: EPIPE). The answer is what counts, so a reset attempt is tried again.
 */
async function postRefusedEarly(url: string, body: Uint8Array): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await new Promise<Response>((resolve, reject) => {
        const req = request(`${url}/entries`, { method: 'POST', headers: { 'Content-Type': 'application/cose', 'Content-Length': body.length } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode!, headers: { 'content-type': String(res.headers['content-type']) } })));
          res.on('error', reject);
        });
        // a failed write may still be followed by the answer: wait for it a moment
        req.on('error', (e) => setTimeout(() => reject(e), 1_000).unref());
        req.end(body);
      });
    } catch (e) {
      if (attempt === 5) throw e;
    }
  }
}

async function problem(r: Response): Promise<{ title: string; detail: string }> {
  expect(r.headers.get('content-type')).toBe('application/concise-problem-details+cbor');
  const m = cbor.decode(new Uint8Array(await r.arrayBuffer())) as Map<number, string>;
  return { title: m.get(-1)!, detail: m.get(-2)! };
}

async function serviceKeys(url: string): Promise<TrustedKeys> {
  const r = await fetch(`${url}/.well-known/scitt-keys`);
  return new TrustedKeys(decodeKeySet(new Uint8Array(await r.arrayBuffer())));
}

describe('embedded Transparency Service over loopback HTTP', () => {
  let ts: ServiceProcess;
  let keys: TrustedKeys;
  beforeAll(async () => {
    ts = await startService({ issuers: [publicKey(issuer)], args: ['--rate', '0'] }); // 300 registrations at once from one address
    keys = await serviceKeys(ts.url);
  });
  afterAll(async () => {
    expect(await ts.stop()).toBe(0); // SIGTERM: clean shutdown
  });

  it('serves its key set, and one key by kid (RFC 9679 thumbprint, base64url)', async () => {
    const r = await fetch(`${ts.url}/.well-known/scitt-keys`);
    expect(r.headers.get('content-type')).toBe('application/cbor');
    const [key] = decodeKeySet(new Uint8Array(await r.arrayBuffer()));
    expect(Buffer.from(key!.kid!).equals(Buffer.from(thumbprint(key!)))).toBe(true);
    const one = await fetch(`${ts.url}/.well-known/scitt-keys/${Buffer.from(key!.kid!).toString('base64url')}`);
    expect(one.status).toBe(200);
    const none = await fetch(`${ts.url}/.well-known/scitt-keys/AAAA`);
    expect(none.status).toBe(404);
    expect((await problem(none)).title).toBe('No such key');
  });

  it('registers a statement: 201 with a receipt that verifies, resolvable by entry id', async () => {
    const statement = await statementBy(issuer);
    const r = await post(ts.url, statement);
    expect(r.status).toBe(201);
    expect(r.headers.get('content-type')).toBe('application/cose');
    const receipt = new Uint8Array(await r.arrayBuffer());
    const v = verifyReceipt(receipt, statementEntry(statement), keys); // throws unless it verifies
    expect(v).toMatchObject({ vds: 1, algorithm: 'ES256', iss: ts.url });
    const location = r.headers.get('location')!;
    expect(location).toMatch(/^\/entries\/[0-9a-f]{64}$/);
    const again = await fetch(`${ts.url}${location}`);
    expect(again.status).toBe(200);
    expect(Buffer.from(await again.arrayBuffer()).equals(Buffer.from(receipt))).toBe(true);
    const stored = await fetch(`${ts.url}${location}/statement`);
    expect(Buffer.from(await stored.arrayBuffer()).equals(Buffer.from(statement))).toBe(true);
    // receipt + statement = a Transparent Statement that verifies offline (RFC 9943 §7)
    expect(verifyTransparentStatement(attachReceipts(statement, [receipt]), { trustedKeys: keys }).ok).toBe(true);
  });

  it('is idempotent: the same statement twice is one entry', async () => {
    const statement = await statementBy(issuer);
    const first = await post(ts.url, statement);
    const size = await treeSize(ts.url);
    const second = await post(ts.url, statement);
    expect(second.status).toBe(201);
    expect(second.headers.get('location')).toBe(first.headers.get('location'));
    expect(await treeSize(ts.url)).toBe(size);
  });

  it('many clients at once: every receipt verifies, one tree, no duplicates, registrations batched', async () => {
    const before = await treeSize(ts.url);
    const statements = await Promise.all(Array.from({ length: 300 }, () => statementBy(issuer)));
    const responses = await Promise.all(statements.map((s) => post(ts.url, s)));
    const receipts = await Promise.all(responses.map(async (r) => (expect(r.status).toBe(201), new Uint8Array(await r.arrayBuffer()))));
    const results = receipts.map((rc, i) => verifyReceipt(rc, statementEntry(statements[i]!), keys));
    const leaves = new Set(results.map((v) => v.leafIndex));
    expect(leaves.size).toBe(300);
    expect(await treeSize(ts.url)).toBe(before + 300);
    // group commit: far fewer signed tree sizes than registrations
    expect(new Set(results.map((v) => v.treeSize)).size).toBeLessThan(300);
  });

  it('publishes a signed tree head and consistency proofs between tree sizes', async () => {
    const head = await fetch(`${ts.url}/tree-head`);
    expect(head.status).toBe(200);
    const c = await fetch(`${ts.url}/consistency?from=1`);
    expect(c.status).toBe(200);
    const bad = await fetch(`${ts.url}/consistency?from=0&to=1`);
    expect(bad.status).toBe(400);
  });

  describe('bad input: the right 4xx with problem details, and the log unchanged', () => {
    const size = () => treeSize(ts.url);
    const cases: [string, () => Promise<Response>, number, RegExp][] = [
      ['malformed CBOR', () => post(ts.url, new Uint8Array([0xd2, 0x84, 0x41])), 400, /not a valid Signed Statement/],
      ['not COSE at all', () => post(ts.url, new Uint8Array([1, 2, 3])), 400, /not a valid Signed Statement/],
      ['wrong content type', () => post(ts.url, '{"json":true}', 'application/json'), 415, /application\/cose/],
      ['text content type', () => post(ts.url, 'hello', 'text/plain'), 415, /application\/cose/],
      ['empty body', () => post(ts.url, new Uint8Array(0)), 400, /Signed Statement/],
      ['oversized body', () => postRefusedEarly(ts.url, new Uint8Array(3 * 1024 * 1024)), 413, /exceeds/],
      ['untrusted issuer', async () => post(ts.url, await statementBy(stranger)), 400, /not trusted/],
      ['wrongly signed (tampered payload)', async () => {
        const s = await statementBy(issuer, '{"x":"aaaa"}');
        const i = Buffer.from(s).indexOf('aaaa');
        s[i] = 0x62;
        return post(ts.url, s);
      }, 400, /signature does not verify/],
      ['unknown entry id', () => fetch(`${ts.url}/entries/${'ab'.repeat(32)}`), 404, /no entry/],
      ['unknown path', () => fetch(`${ts.url}/nope`), 404, /no resource/],
    ];
    for (const [name, send, status, detail] of cases) {
      it(name, async () => {
        const before = await size();
        const r = await send();
        expect(r.status).toBe(status);
        const p = await problem(r);
        expect(p.detail).toMatch(detail);
        expect(p.title.length).toBeGreaterThan(0);
        expect(await size()).toBe(before);
      });
    }
  });
});

describe('registration policy, auth, async registration and restarts', () => {
  it('a fresh service refuses registration and says why; a policy set by the admin is a log entry and applies', async () => {
    const ts = await startService({ env: { SCITT_TS_ADMIN_TOKEN: 'admin-secret' } });
    try {
      expect(ts.stderr()).toMatch(/no trusted issuers/);
      const refused = await post(ts.url, await statementBy(issuer));
      expect(refused.status).toBe(400);
      expect((await problem(refused)).detail).toMatch(/not trusted/);
      const policy = JSON.stringify({ issuers: [{ name: 'release', key: { kty: 'EC', crv: 'P-256', x: Buffer.from(issuer.x).toString('base64url'), y: Buffer.from(issuer.y!).toString('base64url') } }] });
      const denied = await fetch(`${ts.url}/policy`, { method: 'POST', body: policy, headers: { 'Content-Type': 'application/json', Authorization: 'Bearer wrong' } });
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toBe('Bearer');
      const set = await fetch(`${ts.url}/policy`, { method: 'POST', body: policy, headers: { 'Content-Type': 'application/json', Authorization: 'Bearer admin-secret' } });
      expect(set.status).toBe(201);
      const { entryId, leafIndex } = (await set.json()) as { entryId: string; leafIndex: number };
      expect(leafIndex).toBe(0);
      // the policy is itself a registered statement with a receipt
      expect((await fetch(`${ts.url}/entries/${entryId}`)).status).toBe(200);
      expect(((await (await fetch(`${ts.url}/policy`)).json()) as { leafIndex: number }).leafIndex).toBe(0);
      expect((await post(ts.url, await statementBy(issuer))).status).toBe(201);
    } finally {
      await ts.stop();
    }
  });

  it('bearer tokens gate registration; reads stay public', async () => {
    const ts = await startService({ issuers: [publicKey(issuer)], env: { SCITT_TS_TOKENS: 'tok-1,tok-2' } });
    try {
      const none = await post(ts.url, await statementBy(issuer));
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      expect((await post(ts.url, await statementBy(issuer), 'application/cose', { Authorization: 'Bearer tok-2' })).status).toBe(201);
      expect((await fetch(`${ts.url}/.well-known/scitt-keys`)).status).toBe(200);
    } finally {
      await ts.stop();
    }
  });

  it('rate limits with 429 and Retry-After', async () => {
    const ts = await startService({ issuers: [publicKey(issuer)], args: ['--rate', '1', '--burst', '20'] });
    try {
      const statuses = [];
      for (let i = 0; i < 40; i++) statuses.push((await post(ts.url, await statementBy(issuer))).status);
      expect(statuses).toContain(429);
      const r = await post(ts.url, await statementBy(issuer));
      expect(r.status).toBe(429);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await ts.stop();
    }
  });

  it('303 See Other when the batch outlasts the request; 302 while pending, then 200; the SCRAPI client follows it', async () => {
    const ts = await startService({ issuers: [publicKey(issuer)], args: ['--sync-wait', '0'] });
    try {
      const statement = await statementBy(issuer);
      const r = await post(ts.url, statement);
      expect(r.status).toBe(303);
      expect(r.headers.get('location')).toMatch(/^\/entries\/[0-9a-f]{64}$/);
      let poll = await fetch(`${ts.url}${r.headers.get('location')}`, { redirect: 'manual' });
      for (let i = 0; poll.status === 302 && i < 50; i++) {
        expect(poll.headers.get('retry-after')).toBe('1');
        await new Promise((res) => setTimeout(res, 20));
        poll = await fetch(`${ts.url}${r.headers.get('location')}`, { redirect: 'manual' });
      }
      expect(poll.status).toBe(200);
      const client = new ScrapiClient({ url: ts.url });
      const other = await statementBy(issuer);
      const reg = await client.register(other);
      expect(verifyReceipt(reg.receipt!, statementEntry(other), await serviceKeys(ts.url)).vds).toBe(1);
    } finally {
      await ts.stop();
    }
  });

  it('restart keeps the key, the entries and every receipt issued before', async () => {
    const first = await startService({ issuers: [publicKey(issuer)] });
    const statement = await statementBy(issuer);
    const receipt = new Uint8Array(await (await post(first.url, statement)).arrayBuffer());
    const keysBefore = await serviceKeys(first.url);
    await first.kill();
    const second = await startService({ dataDir: first.dataDir });
    try {
      const keysAfter = await serviceKeys(second.url);
      expect([...keysAfter].map((k) => Buffer.from(k.kid).toString('hex'))).toEqual([...keysBefore].map((k) => Buffer.from(k.kid).toString('hex')));
      expect(verifyReceipt(receipt, statementEntry(statement), keysAfter).leafIndex).toBe(1); // leaf 0 is the policy
      expect((await post(second.url, await statementBy(issuer))).status).toBe(201); // policy survived the restart
    } finally {
      await second.stop();
    }
  });
});
