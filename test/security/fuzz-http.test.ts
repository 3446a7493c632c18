/**
 * Fuzzing the HTTP API of a `scitt serve` child process: random and mutated bodies, content types,
 * headers, paths and methods. Properties, per request:
 *  - never 5xx; every 4xx is Concise Problem Details (RFC 9290) with a title and a detail;
 *  - a Location header, when present, is exactly /entries/<64 lower-case hex>;
 *  - 201 only for a statement the trusted issuer really signed, with a receipt that verifies for it,
 *    and the tree grows by at most one; every other answer leaves the tree size unchanged.
 * corpus/http/*.json is replayed first. A failing request is saved there as found-<hash>.json. On the
 * SQLite store and on the PostgreSQL store (Debian's PostgreSQL 15 on loopback; a shorter random run).
 *
 *   SCITT_FUZZ_HTTP_MS=30000 npx vitest run --config test/security/vitest.config.ts test/security/fuzz-http.test.ts
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode } from '../../packages/core/src/cbor.ts';
import { decodeKeySet } from '../../packages/core/src/cose/key.ts';
import { TrustedKeys, statementEntry, trustedKey, verifyReceipt } from '../../packages/core/src/receipt/index.ts';
import { createSignedStatement, verifySignedStatement } from '../../packages/core/src/statement/signed-statement.ts';
import { type PostgresServer, replicaDataDir, startPostgres } from '../helpers/postgres.ts';
import { type ServiceProcess, startService } from '../helpers/transparency-service.ts';
import { CORPUS_DIR, readCorpus } from './corpus.ts';
import { ISS, SBOM, issuer, sha256, text } from './helpers.ts';
import { mutate, rng } from './mutate.ts';

const BUDGET_MS = Number(process.env.SCITT_FUZZ_HTTP_MS ?? 8000);
const ADMIN = 'fuzz-admin-token-abcdefghijklmnop';

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** hex */
  body?: string;
}

let ts: ServiceProcess;
let keys: TrustedKeys;
let pool: Uint8Array[] = [];
let n = 0;

const fresh = () =>
  createSignedStatement({ payload: text(`{"fuzz":${n++},"t":${Date.now()}}`), contentType: 'application/json', signer: issuer.signer, iss: ISS, sub: `pkg:generic/fuzz@${n}`, kid: issuer.kid });

beforeAll(async () => {
  pool = [
    await fresh(),
    await createSignedStatement({ payload: sha256(SBOM), signer: issuer.signer, iss: ISS, sub: 'pkg:generic/app@1', kid: issuer.kid, hashEnvelope: { hashAlg: -16, location: 'https://example.com/sbom' } }),
    await createSignedStatement({ payload: SBOM, signer: issuer.signer, iss: ISS, sub: 'pkg:generic/app@1', kid: issuer.kid, detached: true }),
  ];
});

const treeSize = async () => ((await (await fetch(`${ts.url}/health`)).json()) as { treeSize: number }).treeSize;

/** Sends one request and checks every property; throws with the reason on a violation. */
async function exchange(req: FuzzRequest): Promise<number> {
  const before = await treeSize();
  const body = req.body !== undefined ? Buffer.from(req.body, 'hex') : undefined;
  const r = await fetch(`${ts.url}${req.path}`, { method: req.method, headers: req.headers, ...(body && req.method !== 'GET' && req.method !== 'HEAD' ? { body } : {}), redirect: 'manual' });
  const bytes = new Uint8Array(await r.arrayBuffer());
  const after = await treeSize();
  const fail = (why: string) => {
    throw new Error(`${req.method} ${req.path} → ${r.status}: ${why}`);
  };
  if (r.status >= 500) fail(`server error ${Buffer.from(bytes).toString('latin1').slice(0, 200)}`);
  if (r.status >= 400 && req.method !== 'HEAD') {
    if (r.headers.get('content-type') !== 'application/concise-problem-details+cbor') fail(`error body is ${r.headers.get('content-type')}, not problem details`);
    const m = decode(bytes, { allowedTags: [] });
    if (!(m instanceof Map) || typeof m.get(-1) !== 'string' || typeof m.get(-2) !== 'string') fail('problem details lack a title (-1) or a detail (-2)');
  }
  const location = r.headers.get('location');
  if (location !== null && !/^\/entries\/[0-9a-f]{64}$/.test(location)) fail(`Location ${JSON.stringify(location)} is not a canonical entry path`);
  if (r.status === 201 && req.path === '/entries') {
    const statement = new Uint8Array(body!);
    try {
      verifySignedStatement(statement, issuer.pub);
      verifyReceipt(bytes, statementEntry(statement), keys);
    } catch (e) {
      fail(`registered something the trusted issuer did not sign, or the receipt does not verify: ${(e as Error).message}`);
    }
    if (after - before !== 0 && after - before !== 1) fail(`tree grew by ${after - before}`);
  } else if (after !== before) {
    fail(`tree size changed ${before} → ${after} without a registration`);
  }
  return r.status;
}

function saveRequest(req: FuzzRequest, why: string): string {
  const file = join(CORPUS_DIR, 'http', `found-${createHash('sha256').update(JSON.stringify(req)).digest('hex').slice(0, 12)}.json`);
  writeFileSync(file, `${JSON.stringify({ why: why.split('\n')[0], ...req }, null, 2)}\n`);
  return file;
}

// ----- generators

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const CONTENT_TYPES = ['application/cose', 'application/cose', 'application/scitt-statement+cose', 'application/cose; charset=utf-8', 'APPLICATION/COSE', 'application/cose-x', 'application/cbor', 'application/json', 'text/plain', 'multipart/form-data; boundary=x', ''];
const SEGMENTS = ['entries', 'statement', '..', '%2e%2e', '%2F', '%00', '%0d%0aX-Injected:%201', '%ff', 'a'.repeat(64), 'AB'.repeat(32), '.well-known', 'scitt-keys', 'tree-head', 'consistency', 'policy', 'health', '*', '~', ''];
const QUERY = ['', '?from=1', '?from=0&to=1', '?from=1e309', '?from=-1&to=2', '?from=1&to=99999999999999999999', '?from=0x1&to=2', '?from[]=1', '?from=1&from=2', '?to=%00'];

const bodyArb = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.nat(), fc.integer()).map(([i, s]) => mutate(pool[i % pool.length]!, rng(s), pool)) },
  { weight: 1, arbitrary: fc.constant('fresh' as const) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
);

const headersArb = fc.record(
  {
    Authorization: fc.constantFrom('Bearer x', `Bearer ${ADMIN.slice(0, -1)}Z`, 'Basic YTpi', 'Bearer', 'Bearer a b'),
    Accept: fc.constantFrom('application/cose', 'application/cbor', '*/*', 'text/html'),
    'X-Forwarded-For': fc.constantFrom('127.0.0.1', '::1, 10.0.0.1', 'x'.repeat(100)),
  },
  { requiredKeys: [] },
);

const requestArb: fc.Arbitrary<{ req: FuzzRequest; fresh: boolean } | { req: FuzzRequest; fresh: false }> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.tuple(fc.constantFrom(...CONTENT_TYPES), bodyArb, headersArb).map(([type, b, h]) => ({
      req: { method: 'POST', path: '/entries', headers: { ...h, ...(type ? { 'Content-Type': type } : {}) }, ...(b === 'fresh' ? {} : { body: hex(b) }) },
      fresh: b === 'fresh',
    })),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.array(fc.oneof(fc.constantFrom(...SEGMENTS), fc.string({ maxLength: 12 }).map(encodeURIComponent)), { minLength: 1, maxLength: 4 }), fc.constantFrom(...QUERY), fc.constantFrom('GET', 'GET', 'HEAD', 'DELETE', 'PUT', 'OPTIONS', 'PATCH'), headersArb)
      .map(([segs, q, method, h]) => ({ req: { method, path: `/${segs.join('/')}${q}`, headers: h }, fresh: false })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.integer(), headersArb).map(([s, h]) => ({
      req: { method: 'POST', path: '/policy', headers: { ...h, 'Content-Type': 'application/json' }, body: hex(mutate(text('{"issuers":[],"maxStatementBytes":65536}'), rng(s), [], 'text')) },
      fresh: false,
    })),
  },
);

// The same properties on both stores; on PostgreSQL a shorter random run (corpus, control and a quarter of the budget).
describe.each([
  { store: 'sqlite', budget: BUDGET_MS },
  { store: 'postgres', budget: Math.round(BUDGET_MS / 4) },
])('HTTP API fuzzing against a scitt serve child process ($store store)', ({ store, budget }) => {
  let db: PostgresServer | undefined;
  beforeAll(async () => {
    if (store === 'postgres') db = await startPostgres();
    const onStore = db ? { dataDir: replicaDataDir(), args: ['--rate', '0', '--store', db.url] } : { args: ['--rate', '0'] };
    ts = await startService({ issuers: [issuer.pub], ...onStore, env: { SCITT_TS_ADMIN_TOKEN: ADMIN } }); // fuzz the handlers, not the rate limiter
    keys = new TrustedKeys(decodeKeySet(new Uint8Array(await (await fetch(`${ts.url}/.well-known/scitt-keys`)).arrayBuffer())).map((k) => trustedKey(k)));
  });
  afterAll(async () => {
    expect(await ts.stop()).toBe(0);
    await db?.stop();
  });

  it('replays corpus/http (requests that once broke a property)', async () => {
    const entries = readCorpus('http').filter((e) => e.name.endsWith('.json'));
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) {
      const { method, path, headers, body } = JSON.parse(Buffer.from(e.bytes).toString('utf8')) as FuzzRequest;
      await exchange({ method, path, headers, ...(body !== undefined ? { body } : {}) });
    }
  });

  it('a valid statement is registered once (control for the 201 property)', async () => {
    const s = await fresh();
    const req = { method: 'POST', path: '/entries', headers: { 'Content-Type': 'application/cose' }, body: hex(s) };
    const before = await treeSize();
    expect(await exchange(req)).toBe(201);
    expect(await exchange(req)).toBe(201);
    expect(await treeSize()).toBe(before + 1);
  });

  it(`random and mutated requests (${budget} ms): no 5xx, problem details, no state change without a registration`, async () => {
    const statuses = new Map<number, number>();
    let runs = 0;
    const result = await fc.check(
      fc.asyncProperty(requestArb, async ({ req, fresh: wantsFresh }) => {
        const r = wantsFresh ? { ...req, body: hex(await fresh()) } : req;
        runs++;
        const status = await exchange(r).catch((e: Error) => {
          throw Object.assign(e, { request: r });
        });
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }),
      // the first run registers a fresh statement, so the 201 property is exercised however short the run
      { interruptAfterTimeLimit: budget, numRuns: 1_000_000, examples: [[{ req: { method: 'POST', path: '/entries', headers: { 'Content-Type': 'application/cose' } }, fresh: true }]] },
    );
    if (result.failed) {
      const err = result.errorInstance as Error & { request?: FuzzRequest };
      const file = err.request ? saveRequest(err.request, err.message) : '(no request)';
      expect.fail(`${err.message}\nsaved to ${file}; reproduce with seed ${result.seed}`);
    }
    console.log(`fuzz http (${store}): ${runs} requests in ${budget} ms; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
    expect(runs).toBeGreaterThan(20);
    expect([...statuses.keys()].some((s) => s === 201), 'the run registered at least one statement').toBe(true);
  }, budget + 60_000);
});
