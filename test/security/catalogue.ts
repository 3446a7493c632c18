/**
 * The hostile-input catalogue: one row per attack, each with its entry point (a core function, a
 * `scitt` verb and its exit code, or an HTTP endpoint of the Transparency Service and its status),
 * the input builder, and the expected typed error / exit code / status. catalogue.test.ts runs one
 * test per row; render-catalogue.ts writes CATALOGUE.md from this table (a test keeps them in sync).
 *
 * Rows already covered by packages/core/test/statement.test.ts ("hostile Signed Statements") and
 * packages/core/test/receipt.test.ts ("hostile receipts") are not repeated here.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tag, decode, encode } from '../../packages/core/src/cbor.ts';
import type { ErrorCode } from '../../packages/core/src/errors.ts';
import { ScittError } from '../../packages/core/src/errors.ts';
import { decodeKeySet, encodeKeySet, toPem } from '../../packages/core/src/cose/key.ts';
import { decodeSign1, encodeSign1 } from '../../packages/core/src/cose/sign1.ts';
import { certificateToPem, parseCertificate, trustFromPem, validatePath, verifyX509Issuer } from '../../packages/core/src/identity/index.ts';
import { x509 } from '../../packages/core/src/identity/x509.ts';
import { leafHash, nodeHash, rootFromInclusionProof } from '../../packages/core/src/merkle/index.ts';
import {
  TrustedKeys,
  assertReceiptPolicy,
  decodeCcfInclusionProof,
  decodeInclusionProof,
  encodeInclusionProof,
  issueConsistencyReceipt,
  statementEntry,
  trustedKey,
  verifyConsistencyReceipt,
  verifyReceipt,
  verifyTransparentStatement,
} from '../../packages/core/src/receipt/index.ts';
import { ScrapiClient } from '../../packages/core/src/scrapi/client.ts';
import { checkTreesWithTrustPolicy, ed25519Cosigner, ed25519Signer, generateEd25519Seed } from '../../packages/core/src/checkpoint/index.ts';
import { GitHubReleaseStore } from '../../packages/core/src/storage/github-release.ts';
import { RegistryClient } from '../../packages/core/src/storage/oci/client.ts';
import { storageLimits } from '../../packages/core/src/storage/types.ts';
import { artifactRef } from '../../packages/core/src/storage/artifact.ts';
import { FileStatementStore } from '../../packages/core/src/storage/files.ts';
import { createSignedStatement, parseSignedStatement, verifySignedStatement } from '../../packages/core/src/statement/signed-statement.ts';
import { makeCa, makeLeaf, utf8String, type Issued } from '../../packages/core/test/helpers/identity-certs.ts';
import { scitt } from '../helpers/cli.ts';
import { GATE_ROWS } from './gate-rows.ts';
import { RESOURCE_ROWS } from './resource-rows.ts';
import {
  ISS,
  SBOM,
  cat,
  cb,
  claimsCbor,
  derSignature,
  entriesOf,
  goodStatement,
  hex,
  issuer,
  issuer384,
  issuerEd,
  nested,
  protectedOf,
  rawReceipt,
  rawSign1,
  receiptFor,
  receiptPairs,
  service,
  service2,
  sha256,
  statementPairs,
  text,
  transparent,
  treeOf,
  trustedServices,
  vdpInclusion,
} from './helpers.ts';

// ---------------------------------------------------------------------------------------------
// outcomes and expectations

export type Outcome =
  | { kind: 'ok'; value?: unknown }
  | { kind: 'error'; typed: boolean; code: string; message: string }
  | { kind: 'exit'; exit: number; stdout: string; stderr: string }
  | { kind: 'http'; status: number; headers: Record<string, string>; title?: string; detail?: string; body: Uint8Array; sizeBefore: number; sizeAfter: number };

export type Expect =
  | { ok: true }
  | { code: ErrorCode }
  | { exit: 0 | 1 | 2; code?: ErrorCode }
  /** sizeDelta: how the log's tree size may change; 0 ("no state change") unless said otherwise */
  | { status: number; title?: string; sizeDelta?: number };

export interface Ctx {
  /** a fresh directory for this row's files */
  dir: string;
  /** the Transparency Service child process (HTTP rows) */
  ts: { url: string; adminToken: string };
}

export interface Entry<I> {
  kind: 'core' | 'cli' | 'http';
  /** e.g. `parseSignedStatement`, `scitt verify`, `POST /entries` */
  label: string;
  run(input: I, ctx: Ctx): Promise<Outcome>;
}

export type Area = 'CBOR' | 'COSE' | 'Receipt' | 'X.509' | 'Storage' | 'SCRAPI' | 'CLI' | 'Client' | 'Gate';

export interface Row<I = unknown> {
  id: string;
  area: Area;
  what: string;
  entry: Entry<I>;
  /** how the input is built, for people (the builder itself is `build`) */
  input: string;
  build(ctx: Ctx): Promise<I> | I;
  expect: Expect;
  /** further assertions on the outcome (node:assert) */
  check?(o: Outcome, ctx: Ctx, input: I): void | Promise<void>;
}

const row = <I>(r: Row<I>): Row => r as unknown as Row;

function errorOutcome(e: unknown): Outcome {
  if (e instanceof ScittError) return { kind: 'error', typed: true, code: e.code, message: e.message };
  return { kind: 'error', typed: false, code: (e as Error)?.constructor?.name ?? typeof e, message: String((e as Error)?.message ?? e) };
}

function core<I>(label: string, call: (input: I, ctx: Ctx) => unknown): Entry<I> {
  return {
    kind: 'core',
    label,
    async run(input, ctx) {
      try {
        return { kind: 'ok', value: await call(input, ctx) };
      } catch (e) {
        return errorOutcome(e);
      }
    },
  };
}

export interface CliInput {
  args: string[];
  files?: Record<string, Uint8Array | string>;
}

function cli(verb: string): Entry<CliInput> {
  return {
    kind: 'cli',
    label: `scitt ${verb}`,
    async run(input, ctx) {
      for (const [name, content] of Object.entries(input.files ?? {})) writeFileSync(join(ctx.dir, name), content);
      const r = await scitt(input.args, ctx.dir);
      return { kind: 'exit', exit: r.code, stdout: r.stdout, stderr: r.stderr };
    },
  };
}

export interface HttpInput {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** bytes written as they are to a TCP connection instead of a fetch() request */
  raw?: Uint8Array | string | ((write: (b: Uint8Array | string) => boolean) => Promise<void>);
  /** run before the request: e.g. register something to look up */
  before?: (ctx: Ctx) => Promise<void>;
}

export async function treeSize(url: string): Promise<number> {
  return ((await (await fetch(`${url}/health`)).json()) as { treeSize: number }).treeSize;
}

function readProblemBody(body: Uint8Array, type: string | undefined): { title?: string; detail?: string } {
  if (type !== 'application/concise-problem-details+cbor' || body.length === 0) return {};
  const m = decode(body, { allowedTags: [] });
  if (!(m instanceof Map)) return {};
  return { title: m.get(-1) as string, detail: m.get(-2) as string };
}

/** A raw HTTP/1.1 exchange over TCP: what fetch() refuses to send (lying lengths, bare CR LF). */
function rawExchange(url: string, raw: NonNullable<HttpInput['raw']>): Promise<{ status: number; headers: Record<string, string>; body: Uint8Array }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => undefined); // the server may close while we are still writing (413)
    const done = () => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return reject(new Error(`no HTTP response: ${JSON.stringify(all.toString('latin1').slice(0, 200))}`));
      const [statusLine, ...lines] = all.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      let body = all.subarray(end + 4);
      if (headers['content-length']) body = body.subarray(0, Number(headers['content-length']));
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1] ?? 0), headers, body: new Uint8Array(body) });
    };
    socket.on('close', done);
    socket.setTimeout(3000, () => socket.destroy());
    socket.on('connect', async () => {
      const write = (b: Uint8Array | string) => !socket.destroyed && socket.write(b);
      if (typeof raw === 'function') await raw(write).catch(() => undefined);
      else write(raw);
      // read until the server closes; problem responses to bad requests close the connection
      setTimeout(() => socket.end(), 400);
    });
  });
}

function http(method: string, path: string): Entry<HttpInput> {
  return {
    kind: 'http',
    label: `${method} ${path}`,
    async run(input, ctx) {
      const { url } = ctx.ts;
      await input.before?.(ctx);
      const sizeBefore = await treeSize(url);
      let status: number;
      let headers: Record<string, string>;
      let body: Uint8Array;
      if (input.raw !== undefined) {
        ({ status, headers, body } = await rawExchange(url, input.raw));
      } else {
        const r = await fetch(`${url}${input.path}`, {
          method: input.method ?? method,
          headers: input.headers ?? {},
          ...(input.body !== undefined ? { body: input.body } : {}),
          redirect: 'manual',
        });
        status = r.status;
        headers = Object.fromEntries(r.headers);
        body = new Uint8Array(await r.arrayBuffer());
      }
      const sizeAfter = await treeSize(url);
      return { kind: 'http', status, headers, body, sizeBefore, sizeAfter, ...readProblemBody(body, headers['content-type']) };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// shared inputs

/** The admin token the catalogue's Transparency Service is started with. */
export const ADMIN_TOKEN = 'catalogue-admin-token-0123456789';
const COSE = { 'Content-Type': 'application/cose' };
const decodeCbor = core('cbor.decode', (b: Uint8Array) => decode(b));
const parse = core('parseSignedStatement', (b: Uint8Array) => parseSignedStatement(b));
const verifyWith = core('verifySignedStatement', (i: { bytes: Uint8Array; key?: typeof issuer.pub }) => verifySignedStatement(i.bytes, i.key ?? issuer.pub));
const verifyRcpt = core('verifyReceipt', (i: { receipt: Uint8Array; entry: Uint8Array; keys?: TrustedKeys }) => verifyReceipt(i.receipt, i.entry, i.keys ?? trustedServices()));
const validate = core('validatePath', async (i: { chain: Uint8Array[]; roots: Issued[] }) =>
  validatePath(i.chain, { trust: await trustFromPem({ roots: i.roots.map((r) => certificateToPem(r.der)) }), at: new Date() }),
);
const postEntries = http('POST', '/entries');

/** A statement re-assembled with other signature bytes (decoded and re-encoded: protected bytes kept). */
function withSignature(statement: Uint8Array, signature: Uint8Array): Uint8Array {
  const m = decodeSign1(statement);
  return encodeSign1({ protectedBytes: m.protectedBytes, unprotectedHeader: m.unprotectedHeader, payload: m.payload, signature });
}

/** Signs, then swaps the signature for a DER one over the same Sig_structure. */
const derSigned = (p: typeof issuer, hash: 'sha256' | 'sha384', alg: number) =>
  rawSign1({ protectedBytes: protectedOf(statementPairs({ alg, kid: p.kid })), signer: p.signer, signature: (_good, tbs) => derSignature(p.key, tbs, hash) });

/** The non-canonical protected header of COSE-15/16: keys out of order (15, 4, 1), alg as a 2-byte int. */
const nonCanonicalPairs = (): [Uint8Array, Uint8Array][] => [
  [cb.uint(15), claimsCbor()],
  [cb.uint(4), cb.bytes(issuer.kid)],
  [cb.uint(1, 1), cb.nint(-7, 2)],
];
const nonCanonicalStatement = () => rawSign1({ protectedBytes: protectedOf(nonCanonicalPairs()) });
/** The same header, decoded and re-encoded deterministically, carrying the original signature. */
async function reencodedStatement(): Promise<Uint8Array> {
  const m = decodeSign1(await nonCanonicalStatement());
  const canonical = encode(m.protectedHeader);
  assert.notDeepEqual(canonical, m.protectedBytes, 'the re-encoding must differ for this row to mean anything');
  return encodeSign1({ protectedBytes: canonical, unprotectedHeader: m.unprotectedHeader, payload: m.payload, signature: m.signature });
}

let caCache: Promise<{ root: Issued }> | undefined;
const ca = () => (caCache ??= makeCa({ name: 'CN=Catalogue Root, O=scitt-actions security tests' }).then((root) => ({ root })));

/** An intermediate CA under `root` with extra extensions (makeCa cannot add them). */
async function intermediateWith(root: Issued, extra: { oid: string; critical: boolean; value: Uint8Array }[]): Promise<Issued> {
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const name = 'CN=Catalogue Intermediate, O=scitt-actions security tests';
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '7f01',
    subject: name,
    issuer: root.name,
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 86_400_000),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    publicKey: keys.publicKey,
    signingKey: root.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
      ...extra.map((e) => new x509.Extension(e.oid, e.critical, e.value)),
    ],
  });
  return { der: new Uint8Array(cert.rawData), keys, name };
}

/** DER SEQUENCE nested `depth` times around NULL: a structure deeper than any real extension. */
function derNest(depth: number): Uint8Array {
  let inner = new Uint8Array([0x05, 0x00]);
  for (let i = 0; i < depth; i++) {
    const n = inner.length;
    inner = cat(n < 128 ? [0x30, n] : n < 256 ? [0x30, 0x81, n] : [0x30, 0x82, n >> 8, n & 0xff], inner);
  }
  return inner;
}

const bigExtension = (bytes: number) => ({ oid: '1.3.6.1.4.1.99999.1', critical: false, value: cat([0x04, 0x82, bytes >> 8, bytes & 0xff], new Uint8Array(bytes)) });

/** Verifies a receipt (the tree the verifier trusts), then a consistency receipt that should extend it. */
const splitView = core('verifyReceipt + verifyConsistencyReceipt', async (i: { receipt: Uint8Array; statement: Uint8Array; fork: Uint8Array }) => {
  const v = verifyReceipt(i.receipt, statementEntry(i.statement), trustedServices());
  return verifyConsistencyReceipt(i.fork, { treeSize: v.treeSize!, root: v.root }, trustedServices());
});

/** A receipt from an honest tree of `n` leaves and a consistency receipt n → 12 for a fork that rewrote leaf `rewritten`. */
async function forkedLog(n: number, rewritten: number) {
  const statement = await goodStatement();
  const { receipt } = await receiptFor(statement, { n, index: 2 });
  const forkEntries = entriesOf(12);
  forkEntries[2] = statementEntry(statement);
  forkEntries[rewritten] = text('rewritten history');
  const fork = treeOf(forkEntries);
  const forged = await issueConsistencyReceipt({ signer: service.signer, kid: service.kid, iss: 'https://ts.example', iat: 1_700_000_200, proof: fork.consistencyProof(n, 12), root: fork.root(12) });
  return { receipt, statement, fork: forged };
}

/** Key set file for the CLI: the service key under its RFC 9679 thumbprint. */
const serviceKeySet = () => encodeKeySet([service.pub]);

/** A Transparent Statement (kid issuer, receipt from `service`) made from `statement`. */
async function transparentOf(statement: Uint8Array): Promise<Uint8Array> {
  const { receipt } = await receiptFor(statement);
  return transparent(statement, [receipt]);
}

/** A local HTTP server for the rows that play a hostile party; records every request. */
async function hostileServer(handler: (req: { method: string; url: string; headers: IncomingHttpHeaders }, res: import('node:http').ServerResponse) => void) {
  const seen: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((req, res) => {
    const r = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
    seen.push(r);
    req.resume();
    req.on('end', () => handler(r, res));
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as import('node:net').AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise<void>((res) => server.close(() => res())) };
}

const noRawControl = (s: string, what: string) => {
  assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(s), `${what} must not carry raw control characters (terminal escapes): ${JSON.stringify(s.slice(0, 200))}`);
};


// ----- storage: attach targets and evidence paths (packages/core/src/storage)

export interface StoreCase {
  store: string;
  outside: string;
  artifact: { name: string; sha256: string };
  items: { name: string; bytes: Uint8Array; mediaType: string }[];
}

/**
 * A directory holding an artifact, a sibling directory "outside", a symlink store/link → outside,
 * and a Transparent Statement about the artifact whose payload-location is `location`, with its evidence.
 */
async function storeCase(ctx: Ctx, location: string, o: { artifactName?: string; setup?: (c: StoreCase) => void } = {}): Promise<StoreCase> {
  const store = join(ctx.dir, 'store');
  const outside = join(ctx.dir, 'outside');
  mkdirSync(store);
  mkdirSync(outside);
  symlinkSync(outside, join(store, 'link'));
  const bytes = text('the artifact');
  writeFileSync(join(store, 'app-1.0.tgz'), bytes);
  const evidence = text('{"bomFormat":"CycloneDX"}');
  const sha = hex(sha256(bytes));
  const statement = await createSignedStatement({ payload: sha256(evidence), signer: issuer.signer, iss: ISS, sub: `pkg:generic/app@1.0?checksum=sha256:${sha}`, kid: issuer.kid, hashEnvelope: { hashAlg: -16, location } });
  const c: StoreCase = {
    store,
    outside,
    artifact: { name: o.artifactName ?? 'app-1.0.tgz', sha256: sha },
    items: [
      { name: 'app-1.0.tgz.scitt', bytes: await transparentOf(statement), mediaType: 'application/scitt-statement+cose' },
      { name: 'sbom.json', bytes: evidence, mediaType: 'application/vnd.cyclonedx+json' },
    ],
  };
  o.setup?.(c);
  return c;
}

const storeAttach = core('FileStatementStore.attach', (c: StoreCase) => new FileStatementStore({ directory: c.store }).attach(artifactRef(c.artifact.name, c.artifact.sha256), c.items));

/** Nothing was written outside the directory, and (a refused attach plans before writing) no statement file either. */
const nothingWritten = (_o: Outcome, _ctx: Ctx, c: StoreCase) => {
  assert.deepEqual(readdirSync(c.outside), [], 'a file was written outside the artifact directory');
  assert.deepEqual(readdirSync(c.store).filter((n) => n.endsWith('.scitt')), [], 'a refused attach left a statement file behind'); // whatever its name (naming.ts)
};

// ---------------------------------------------------------------------------------------------
// the table

export const CATALOGUE: Row[] = [
  // ----- CBOR: well-formedness and decode limits (RFC 8949; wire-format.md §11.8–11.10) -----
  row({ id: 'CBOR-01', area: 'CBOR', what: 'argument cut short inside its head', entry: decodeCbor, input: '0x19 0x01: a 2-byte argument with one byte present', build: () => new Uint8Array([0x19, 0x01]), expect: { code: 'ERR_CBOR_TRUNCATED' } }),
  row({ id: 'CBOR-02', area: 'CBOR', what: 'reserved additional information (28)', entry: decodeCbor, input: '0x1c', build: () => new Uint8Array([0x1c]), expect: { code: 'ERR_CBOR_MALFORMED' } }),
  row({ id: 'CBOR-03', area: 'CBOR', what: 'text string that is not UTF-8', entry: decodeCbor, input: 'tstr h\'c328\' (an invalid 2-byte sequence)', build: () => new Uint8Array([0x62, 0xc3, 0x28]), expect: { code: 'ERR_CBOR_MALFORMED' } }),
  row({ id: 'CBOR-04', area: 'CBOR', what: 'lone "break" byte', entry: decodeCbor, input: '0xff', build: () => new Uint8Array([0xff]), expect: { code: 'ERR_CBOR_INDEFINITE' } }),
  row({
    id: 'CBOR-05', area: 'CBOR', what: 'indefinite-length map inside the protected header', entry: parse,
    input: 'statement whose protected bstr holds 0xbf … 0xff (signed for real)',
    build: () => rawSign1({ protectedBytes: cat([0xbf], ...statementPairs().flat(), [0xff]) }),
    expect: { code: 'ERR_COSE_HEADER' },
    check: (o) => assert.match((o as { message: string }).message, /indefinite/),
  }),
  row({ id: 'CBOR-06', area: 'CBOR', what: 'nesting at the depth limit (16) is accepted (control)', entry: decodeCbor, input: '16 nested maps {0: {0: … 0}}', build: () => nested('map', 16), expect: { ok: true } }),
  row({ id: 'CBOR-07', area: 'CBOR', what: 'nesting one beyond the depth limit', entry: decodeCbor, input: '17 nested maps {0: {0: … 0}}', build: () => nested('map', 17), expect: { code: 'ERR_CBOR_LIMIT' } }),
  row({ id: 'CBOR-08', area: 'CBOR', what: 'tags nested 20 deep count towards the depth limit', entry: core('decodeSign1', (b: Uint8Array) => decodeSign1(b)), input: '18(18(…18([])…)) twenty times', build: () => cat(new Array(20).fill(0xd2), [0x80]), expect: { code: 'ERR_CBOR_LIMIT' } }),
  row({ id: 'CBOR-09', area: 'CBOR', what: 'text string declaring 2^63 − 1 bytes', entry: decodeCbor, input: '0x7b 7fffffffffffffff "abc"', build: () => cat(cb.head(3, 2n ** 63n - 1n, 8), text('abc')), expect: { code: 'ERR_CBOR_LIMIT' } }),
  row({ id: 'CBOR-10', area: 'CBOR', what: 'map declaring 2^32 − 1 pairs', entry: decodeCbor, input: '0xba ffffffff', build: () => cb.head(5, 0xffffffff, 4), expect: { code: 'ERR_CBOR_LIMIT' } }),
  row({
    id: 'CBOR-11', area: 'CBOR', what: 'array within the length limit but longer than the input (no allocation)', entry: decodeCbor,
    input: 'array(4096) followed by 3 bytes', build: () => cat(cb.head(4, 4096, 2), [0, 0, 0]), expect: { code: 'ERR_CBOR_TRUNCATED' },
  }),
  row({
    id: 'CBOR-12', area: 'CBOR', what: 'item-count bomb (each container within its limit)', entry: decodeCbor,
    input: '[17 × [4096 × 0]]: 69,650 items in 69 KiB', build: () => cb.array(Array.from({ length: 17 }, () => cat(cb.head(4, 4096, 2), new Uint8Array(4096)))), expect: { code: 'ERR_CBOR_LIMIT' },
    check: (o) => assert.match((o as { message: string }).message, /data items/),
  }),
  row({ id: 'CBOR-13', area: 'CBOR', what: 'input over the 16 MiB size limit, refused before scanning', entry: decodeCbor, input: 'bstr of 16 MiB (17 MB with head)', build: () => { const b = new Uint8Array(5 + 16 * 1024 * 1024); b.set(cb.head(2, 16 * 1024 * 1024, 4)); return b; }, expect: { code: 'ERR_CBOR_LIMIT' } }),
  row({
    id: 'CBOR-14', area: 'CBOR', what: 'duplicate key written two ways in the unprotected header', entry: parse,
    input: 'good statement, unprotected {0x05: 1, 0x18 0x05: 2} (label 5 twice, the second with a long head)',
    build: () => goodStatement([], { unprotected: cb.map([[cb.uint(5), cb.uint(1)], [cb.uint(5, 1), cb.uint(2)]]) }),
    expect: { code: 'ERR_CBOR_DUPLICATE_KEY' },
  }),
  row({
    id: 'CBOR-15', area: 'CBOR', what: 'duplicate claim inside the CWT claims (last-one-wins pitfall)', entry: parse,
    input: 'protected 15: {1: "https://issuer.example", 1: "https://evil.example", 2: sub}',
    build: () => rawSign1({ protectedBytes: protectedOf(statementPairs({ claims: cb.map([[cb.uint(1), cb.text(ISS)], [cb.uint(1), cb.text('https://evil.example')], [cb.uint(2), cb.text('s')]]) })) }),
    expect: { code: 'ERR_COSE_HEADER' },
    check: (o) => assert.match((o as { message: string }).message, /twice/),
  }),
  row({
    id: 'CBOR-16', area: 'CBOR', what: 'duplicate kty in a COSE_Key of a key set', entry: core('decodeKeySet', (b: Uint8Array) => decodeKeySet(b)),
    input: '[{1: 2, 1: 1, -1: 1, …}]', build: () => cb.array([cb.map([[cb.uint(1), cb.uint(2)], [cb.uint(1), cb.uint(1)], [cb.nint(-1), cb.uint(1)]])]), expect: { code: 'ERR_CBOR_DUPLICATE_KEY' },
  }),
  row({ id: 'CBOR-17', area: 'CBOR', what: 'byte-string map key', entry: decodeCbor, input: "{h'01': 1}", build: () => cb.map([[cb.bytes(new Uint8Array([1])), cb.uint(1)]]), expect: { code: 'ERR_CBOR_UNSUPPORTED' } }),
  row({ id: 'CBOR-18', area: 'CBOR', what: 'unexpected tag (1, epoch time) around a statement', entry: parse, input: '1(18([…]))', build: async () => cb.tag(1, await goodStatement()), expect: { code: 'ERR_CBOR_UNEXPECTED_TAG' } }),
  row({
    id: 'CBOR-19', area: 'CBOR', what: 'bignum tag as the tree size of an inclusion proof', entry: core('decodeInclusionProof', (b: Uint8Array) => decodeInclusionProof(b)),
    input: "[2(h'01'), 0, []]", build: () => cb.array([cb.tag(2, cb.bytes(new Uint8Array([1]))), cb.uint(0), cb.array([])]), expect: { code: 'ERR_RECEIPT_PROOF' },
    check: (o) => assert.match((o as { message: string }).message, /tag 2/),
  }),
  row({ id: 'CBOR-20', area: 'CBOR', what: 'simple value 0 (no meaning in COSE)', entry: decodeCbor, input: '0xe0', build: () => new Uint8Array([0xe0]), expect: { code: 'ERR_CBOR_UNSUPPORTED' } }),

  // ----- COSE_Sign1 and the statement profile (RFC 9052/9053, RFC 9943 §6; wire-format.md §11) -----
  row({ id: 'COSE-01', area: 'COSE', what: 'alg "none" as text', entry: parse, input: 'protected {1: "none", 4: kid, 15: claims}', build: () => rawSign1({ protectedBytes: protectedOf([[cb.uint(1), cb.text('none')], ...statementPairs().slice(1)]) }), expect: { code: 'ERR_COSE_ALG_UNSUPPORTED' } }),
  row({ id: 'COSE-02', area: 'COSE', what: 'MAC algorithm (HMAC 256/256, 5) in a signature', entry: parse, input: 'protected {1: 5, …}', build: () => rawSign1({ protectedBytes: protectedOf(statementPairs({ alg: 5 })) }), expect: { code: 'ERR_COSE_ALG_UNSUPPORTED' } }),
  row({
    id: 'COSE-03', area: 'COSE', what: 'receipt with alg only in the unprotected header', entry: verifyRcpt,
    input: 'receipt protected {4, 15, 395}, unprotected {1: -7, 396: …}',
    build: async () => {
      const { tree, entry } = await receiptFor(await goodStatement());
      const proof = encodeInclusionProof(tree.inclusionProof(2));
      const receipt = await rawReceipt({ protectedPairs: receiptPairs().slice(1), unprotected: cb.map([[cb.uint(1), cb.nint(-7)], [cb.uint(396), cb.map([[cb.nint(-1), cb.array([cb.bytes(proof)])]])]]), root: tree.root() });
      return { receipt, entry };
    },
    expect: { code: 'ERR_COSE_ALG_UNPROTECTED' },
  }),
  row({ id: 'COSE-04', area: 'COSE', what: 'EdDSA header checked with a P-256 key', entry: verifyWith, input: 'statement with alg -8 signed by Ed25519, verified with the P-256 issuer key', build: async () => ({ bytes: await rawSign1({ protectedBytes: protectedOf(statementPairs({ alg: -8, kid: issuer.kid })), signer: issuerEd.signer }) }), expect: { code: 'ERR_COSE_ALG_KEY_MISMATCH' } }),
  row({ id: 'COSE-05', area: 'COSE', what: 'ES512 header with a P-256 key (alg stronger than the key)', entry: verifyWith, input: 'statement with alg -36, P-256 signature', build: async () => ({ bytes: await rawSign1({ protectedBytes: protectedOf(statementPairs({ alg: -36 })) }) }), expect: { code: 'ERR_COSE_ALG_KEY_MISMATCH' } }),
  row({ id: 'COSE-06', area: 'COSE', what: 'crit names a label that is not in the protected header', entry: parse, input: 'protected {…, 2: [3]} without 3', build: () => goodStatement([[cb.uint(2), cb.array([cb.uint(3)])]]), expect: { code: 'ERR_COSE_CRIT' }, check: (o) => assert.match((o as { message: string }).message, /not in the protected header/) }),
  row({ id: 'COSE-07', area: 'COSE', what: 'crit is an empty array', entry: parse, input: 'protected {…, 2: []}', build: () => goodStatement([[cb.uint(2), cb.array([])]]), expect: { code: 'ERR_COSE_CRIT' } }),
  row({ id: 'COSE-08', area: 'COSE', what: 'crit names an unknown text label', entry: parse, input: 'protected {…, 2: ["ext"], "ext": 1}', build: () => goodStatement([[cb.uint(2), cb.array([cb.text('ext')])], [cb.text('ext'), cb.uint(1)]]), expect: { code: 'ERR_COSE_CRIT' } }),
  row({ id: 'COSE-09', area: 'COSE', what: 'empty signature', entry: verifyWith, input: "good statement, signature h''", build: async () => ({ bytes: withSignature(await goodStatement(), new Uint8Array(0)) }), expect: { code: 'ERR_COSE_SIGNATURE_LENGTH' } }),
  row({ id: 'COSE-10', area: 'COSE', what: 'signature one byte too long (65 for P-256)', entry: verifyWith, input: 'good statement, r‖s‖0x00', build: async () => { const s = await goodStatement(); return { bytes: withSignature(s, cat(decodeSign1(s).signature, [0])) }; }, expect: { code: 'ERR_COSE_SIGNATURE_LENGTH' } }),
  row({ id: 'COSE-11', area: 'COSE', what: 'Ed25519 signature of 63 bytes', entry: verifyWith, input: 'EdDSA statement, signature truncated by one byte', build: async () => { const s = await rawSign1({ protectedBytes: protectedOf(statementPairs({ alg: -8, kid: issuerEd.kid })), signer: issuerEd.signer }); return { bytes: withSignature(s, decodeSign1(s).signature.subarray(0, 63)), key: issuerEd.pub }; }, expect: { code: 'ERR_COSE_SIGNATURE_LENGTH' } }),
  row({ id: 'COSE-12', area: 'COSE', what: 'real DER-encoded ECDSA signature (ES256) over the right Sig_structure', entry: verifyWith, input: 'node:crypto sign(dsaEncoding "der") of the Sig_structure', build: async () => ({ bytes: await derSigned(issuer, 'sha256', -7) }), expect: { code: 'ERR_COSE_SIGNATURE_LENGTH' } }),
  row({ id: 'COSE-13', area: 'COSE', what: 'real DER-encoded ECDSA signature (ES384)', entry: verifyWith, input: 'as COSE-12 with a P-384 key', build: async () => ({ bytes: await derSigned(issuer384, 'sha384', -35), key: issuer384.pub }), expect: { code: 'ERR_COSE_SIGNATURE_LENGTH' } }),
  row({ id: 'COSE-14', area: 'COSE', what: 'non-canonical protected header verifies exactly as received (control)', entry: verifyWith, input: 'protected {15: claims, 4: kid, 0x18 0x01: 0x39 0x0006} (unsorted keys, long int heads), signed over those bytes', build: async () => ({ bytes: await nonCanonicalStatement() }), expect: { ok: true } }),
  row({ id: 'COSE-15', area: 'COSE', what: 'the same protected header re-encoded canonically no longer verifies', entry: verifyWith, input: 'COSE-14 with its protected header decoded and re-encoded (RFC 8949 §4.2.1), signature kept', build: async () => ({ bytes: await reencodedStatement() }), expect: { code: 'ERR_COSE_SIGNATURE_INVALID' } }),
  row({ id: 'COSE-16', area: 'COSE', what: 'kid in both buckets with different values', entry: parse, input: 'protected {4: kid}, unprotected {4: other kid}', build: () => goodStatement([], { unprotected: cb.map([[cb.uint(4), cb.bytes(service.kid)]]) }), expect: { code: 'ERR_COSE_HEADER' } }),
  row({ id: 'COSE-17', area: 'COSE', what: 'COSE_Mac0 (tag 17) instead of COSE_Sign1', entry: parse, input: '17([…]) with a statement body', build: () => goodStatement([], { tag: 17 }), expect: { code: 'ERR_CBOR_UNEXPECTED_TAG' } }),
  row({ id: 'COSE-18', area: 'COSE', what: 'protected bstr holding an array', entry: parse, input: "protected << [1, -7] >>", build: () => rawSign1({ protectedBytes: cb.array([cb.uint(1), cb.nint(-7)]) }), expect: { code: 'ERR_COSE_HEADER' } }),
  row({ id: 'COSE-19', area: 'COSE', what: 'protected bstr with a byte after the map', entry: parse, input: 'protected << {…} 0x00 >>', build: () => rawSign1({ protectedBytes: cat(protectedOf(statementPairs()), [0]) }), expect: { code: 'ERR_COSE_HEADER' } }),
  row({ id: 'COSE-20', area: 'COSE', what: 'payload as a text string', entry: parse, input: '18([protected, {}, "payload", sig])', build: async () => cb.tag(18, cb.array([cb.bytes(protectedOf(statementPairs())), cb.map([]), cb.text('payload'), cb.bytes(new Uint8Array(64))])), expect: { code: 'ERR_COSE_MALFORMED' } }),
  row({ id: 'COSE-21', area: 'COSE', what: 'kid as a text string', entry: parse, input: 'protected {1: -7, 4: "issuer", 15: claims}', build: () => rawSign1({ protectedBytes: protectedOf([[cb.uint(1), cb.nint(-7)], [cb.uint(4), cb.text('issuer')], [cb.uint(15), claimsCbor()]]) }), expect: { code: 'ERR_COSE_HEADER' } }),
  row({
    id: 'COSE-22', area: 'COSE', what: 'unprotected x5chain whose leaf is not the one the protected x5t pins', entry: parse,
    input: 'protected {1, 15, 34: [-16, sha256(cert A)]}, unprotected {33: cert B}',
    build: () => rawSign1({ protectedBytes: protectedOf([[cb.uint(1), cb.nint(-7)], [cb.uint(15), claimsCbor()], [cb.uint(34), cb.array([cb.nint(-16), cb.bytes(sha256(text('cert A')))])]]), unprotected: cb.map([[cb.uint(33), cb.bytes(text('cert B'))]]) }),
    expect: { code: 'ERR_STATEMENT_KEY_ID' },
  }),
  row({ id: 'COSE-23', area: 'COSE', what: 'iss of 8193 characters with x5chain', entry: parse, input: "protected {1, 15: {1: 'https://' + 8185 × 'a', 2}, 33: cert}", build: () => rawSign1({ protectedBytes: protectedOf([[cb.uint(1), cb.nint(-7)], [cb.uint(15), claimsCbor({ iss: `https://${'a'.repeat(8185)}` })], [cb.uint(33), cb.bytes(text('cert'))]]) }), expect: { code: 'ERR_STATEMENT_ISSUER' } }),

  // ----- Receipts and Merkle proofs (RFC 9942, RFC 9162; wire-format.md §5, §11.4–11.6) -----
  row({
    id: 'RCPT-01', area: 'Receipt', what: 'interior node presented as a leaf (second preimage; RFC 9162 domain separation)', entry: verifyRcpt,
    input: 'tree of 4; entry := L0‖L1 (64 bytes), claimed as leaf 0 of a tree of 2 with path [N23]; receipt signed over the real root',
    build: async () => {
      const entries = entriesOf(4);
      const tree = treeOf(entries);
      const [l0, l1, l2, l3] = entries.map(leafHash) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
      const forged = cat(l0, l1);
      const receipt = await rawReceipt({ protectedPairs: receiptPairs(), unprotected: vdpInclusion(encodeInclusionProof({ treeSize: 2, leafIndex: 0, path: [nodeHash(l2, l3)] })), root: tree.root() });
      return { receipt, entry: forged };
    },
    expect: { code: 'ERR_RECEIPT_SIGNATURE' },
  }),
  row({
    id: 'RCPT-02', area: 'Receipt', what: "a leaf's genuine path claimed at its sibling's index", entry: verifyRcpt,
    input: 'tree of 13; statement at leaf 5, proof of leaf 5 with leaf-index 4',
    build: async () => {
      const { tree, entry } = await receiptFor(await goodStatement(), { n: 13, index: 5 });
      const p = tree.inclusionProof(5);
      return { receipt: await rawReceipt({ protectedPairs: receiptPairs(), unprotected: vdpInclusion(encodeInclusionProof({ ...p, leafIndex: 4 })), root: tree.root() }), entry };
    },
    expect: { code: 'ERR_RECEIPT_SIGNATURE' },
  }),
  row({
    id: 'RCPT-03', area: 'Receipt', what: 'genuine path with two hashes swapped', entry: verifyRcpt,
    input: 'tree of 13, leaf 5; path[0] and path[1] exchanged',
    build: async () => {
      const { tree, entry } = await receiptFor(await goodStatement(), { n: 13, index: 5 });
      const p = tree.inclusionProof(5);
      const path = [p.path[1]!, p.path[0]!, ...p.path.slice(2)];
      return { receipt: await rawReceipt({ protectedPairs: receiptPairs(), unprotected: vdpInclusion(encodeInclusionProof({ ...p, path })), root: tree.root() }), entry };
    },
    expect: { code: 'ERR_RECEIPT_SIGNATURE' },
  }),
  row({
    id: 'RCPT-04', area: 'Receipt', what: 'leaf index that differs only above bit 32 (no 32-bit truncation; pitfall §11.5)', entry: verifyRcpt,
    input: 'tree size 2^33: a receipt signed over the root of leaf 5 (verified first), re-presented with leaf index 2^32 + 5',
    build: async () => {
      const entry = text('statement entry');
      const path = Array.from({ length: 33 }, (_, i) => sha256(text(`sibling ${i}`)));
      const good = { treeSize: 2 ** 33, leafIndex: 5, path };
      const root = rootFromInclusionProof(leafHash(entry), good);
      const sign = (leafIndex: number) => rawReceipt({ protectedPairs: receiptPairs(), unprotected: vdpInclusion(encodeInclusionProof({ ...good, leafIndex })), root });
      verifyReceipt(await sign(5), entry, trustedServices()); // precondition: the honest receipt verifies
      return { receipt: await sign(2 ** 32 + 5), entry };
    },
    expect: { code: 'ERR_RECEIPT_SIGNATURE' },
  }),
  row({
    id: 'RCPT-05', area: 'Receipt', what: 'leaf index equal to a tree size of 2^53 − 1', entry: core('decodeInclusionProof + rootFromInclusionProof', (b: Uint8Array) => rootFromInclusionProof(new Uint8Array(32), decodeInclusionProof(b))),
    input: '[2^53 − 1, 2^53 − 1, []]', build: () => encode([Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, []]), expect: { code: 'ERR_MERKLE_RANGE' },
  }),
  row({ id: 'RCPT-06', area: 'Receipt', what: 'tree size 2^53, the first integer JavaScript cannot hold exactly', entry: core('decodeInclusionProof', (b: Uint8Array) => decodeInclusionProof(b)), input: '[2^53, 0, []]', build: () => cb.array([cb.uint(2n ** 53n), cb.uint(0), cb.array([])]), expect: { code: 'ERR_MERKLE_RANGE' } }),
  row({
    id: 'RCPT-07', area: 'Receipt', what: 'vds 1 receipt carrying a CCF-shaped proof', entry: verifyRcpt,
    input: 'vds 1; vdp -1: [<< {1: [ith, evidence, data_hash], 2: []} >>]',
    build: async () => {
      const entry = text('x');
      const ccf = encode(new Map<number, unknown>([[1, [new Uint8Array(32), 'ce:1.2:00', sha256(entry)]], [2, []]]));
      return { receipt: await rawReceipt({ protectedPairs: receiptPairs(), unprotected: vdpInclusion(ccf), root: new Uint8Array(32) }), entry };
    },
    expect: { code: 'ERR_RECEIPT_PROOF' },
  }),
  row({ id: 'RCPT-08', area: 'Receipt', what: 'vds as a uint64 (2^64 − 1)', entry: verifyRcpt, input: 'protected 395: 0x1b ffffffffffffffff', build: async () => ({ receipt: await rawReceipt({ protectedPairs: receiptPairs({ vds: cb.uint(2n ** 64n - 1n) }), unprotected: vdpInclusion(encodeInclusionProof({ treeSize: 1, leafIndex: 0, path: [] })), root: new Uint8Array(32) }), entry: text('x') }), expect: { code: 'ERR_RECEIPT_VDS' } }),
  row({
    id: 'RCPT-09', area: 'Receipt', what: "receipt signed by trusted service A naming trusted service B's kid", entry: verifyRcpt,
    input: 'protected kid = B, signature by A, both keys trusted',
    build: async () => {
      const { tree, entry } = await receiptFor(await goodStatement());
      return { receipt: await rawReceipt({ protectedPairs: receiptPairs({ kid: service2.kid }), unprotected: vdpInclusion(encodeInclusionProof(tree.inclusionProof(2))), root: tree.root(), by: service }), entry };
    },
    expect: { code: 'ERR_RECEIPT_SIGNATURE' },
  }),
  row({ id: 'RCPT-10', area: 'Receipt', what: 'receipt over the 64 KiB receipt limit', entry: verifyRcpt, input: 'receipt whose unprotected header carries a 64 KiB bstr', build: async () => ({ receipt: await rawReceipt({ protectedPairs: receiptPairs(), unprotected: cb.map([[cb.uint(99), cb.bytes(new Uint8Array(65536))]]), root: new Uint8Array(32) }), entry: text('x') }), expect: { code: 'ERR_CBOR_LIMIT' } }),
  row({
    id: 'RCPT-11', area: 'Receipt', what: 'Transparent Statement with 4,000 junk receipts: each reported, none verifies, bounded time', entry: core('verifyTransparentStatement + assertReceiptPolicy', (b: Uint8Array) => assertReceiptPolicy(verifyTransparentStatement(b, { trustedKeys: trustedServices() }))),
    input: "good statement, 394: 4000 × h'd28440a0f640'", build: async () => transparent(await goodStatement(), Array.from({ length: 4000 }, () => new Uint8Array([0xd2, 0x84, 0x40, 0xa0, 0xf6, 0x40]))), expect: { code: 'ERR_RECEIPT_POLICY' },
  }),
  row({ id: 'RCPT-12', area: 'Receipt', what: '394 holding 4,097 receipts (over the container limit)', entry: core('verifyTransparentStatement', (b: Uint8Array) => verifyTransparentStatement(b, { trustedKeys: trustedServices() })), input: "good statement, 394: 4097 × h''", build: async () => transparent(await goodStatement(), Array.from({ length: 4097 }, () => new Uint8Array(0))), expect: { code: 'ERR_CBOR_LIMIT' } }),
  row({
    id: 'RCPT-13', area: 'Receipt', what: 'split view: a consistency receipt from a forked log does not extend the tree a receipt came from', entry: splitView,
    input: 'receipt for leaf 2 of tree T (6 leaves); the same service signs a consistency proof 6 → 12 for a fork T′ whose leaf 4 differs',
    build: () => forkedLog(6, 4),
    expect: { code: 'ERR_MERKLE_PROOF' },
  }),
  row({
    id: 'RCPT-14', area: 'Receipt', what: 'split view from a power-of-two tree: the older root is implied, so the forked newer root fails the signature', entry: splitView,
    input: 'as RCPT-13 with T of 8 leaves (8 → 12, leaf 7 differs)',
    build: () => forkedLog(8, 7),
    expect: { code: 'ERR_RECEIPT_SIGNATURE' },
  }),
  row({ id: 'RCPT-15', area: 'Receipt', what: 'CCF proof with 65 path steps (over the path limit)', entry: core('decodeCcfInclusionProof', (b: Uint8Array) => decodeCcfInclusionProof(b)), input: '{1: leaf, 2: 65 × [true, 32 bytes]}', build: () => encode(new Map<number, unknown>([[1, [new Uint8Array(32), 'ce:1.2:00', new Uint8Array(32)]], [2, Array.from({ length: 65 }, () => [true, new Uint8Array(32)])]])), expect: { code: 'ERR_RECEIPT_PROOF' } }),

  // ----- X.509 issuers (RFC 5280, RFC 9360; wire-format.md §9) -----
  row({ id: 'X509-01', area: 'X.509', what: 'x5chain of 9 certificates', entry: parse, input: 'protected 33: [9 × bstr]', build: () => rawSign1({ protectedBytes: protectedOf([[cb.uint(1), cb.nint(-7)], [cb.uint(15), claimsCbor()], [cb.uint(33), cb.array(Array.from({ length: 9 }, () => cb.bytes(text('certificate'))))]]) }), expect: { code: 'ERR_COSE_HEADER' }, check: (o) => assert.match((o as { message: string }).message, /at most 8/) }),
  row({ id: 'X509-02', area: 'X.509', what: 'x5chain certificate of 16 KiB + 1', entry: parse, input: 'protected 33: bstr of 16,385 bytes', build: () => rawSign1({ protectedBytes: protectedOf([[cb.uint(1), cb.nint(-7)], [cb.uint(15), claimsCbor()], [cb.uint(33), cb.bytes(new Uint8Array(16 * 1024 + 1))]]) }), expect: { code: 'ERR_COSE_HEADER' } }),
  row({ id: 'X509-03', area: 'X.509', what: 'leaf made 17 KiB by one huge extension', entry: validate, input: 'leaf with a 17,000-byte non-critical extension, chained to a trusted root', build: async () => { const { root } = await ca(); return { chain: [(await makeLeaf(root, { san: 'https://x', extra: [bigExtension(17_000)] })).der], roots: [root] }; }, expect: { code: 'ERR_X509_LIMIT' } }),
  row({ id: 'X509-04', area: 'X.509', what: 'leaf with a 15 KiB extension under the limit is processed (control)', entry: validate, input: 'leaf with a 15,000-byte non-critical extension', build: async () => { const { root } = await ca(); return { chain: [(await makeLeaf(root, { san: 'https://x', extra: [bigExtension(15_000)] })).der], roots: [root] }; }, expect: { ok: true } }),
  row({ id: 'X509-05', area: 'X.509', what: 'intermediate CA with an unknown critical extension', entry: validate, input: 'root → intermediate (critical 1.3.6.1.4.1.99999.7) → leaf', build: async () => { const { root } = await ca(); const mid = await intermediateWith(root, [{ oid: '1.3.6.1.4.1.99999.7', critical: true, value: new Uint8Array([0x05, 0x00]) }]); return { chain: [(await makeLeaf(mid, { san: 'https://x' })).der, mid.der], roots: [root] }; }, expect: { code: 'ERR_X509_CRITICAL_EXTENSION' } }),
  row({ id: 'X509-06', area: 'X.509', what: 'Fulcio issuer extension marked critical on the leaf', entry: validate, input: 'leaf with 1.3.6.1.4.1.57264.1.8 critical', build: async () => { const { root } = await ca(); return { chain: [(await makeLeaf(root, { san: 'https://x', extra: [{ oid: '1.3.6.1.4.1.57264.1.8', critical: true, value: utf8String('https://token.actions.githubusercontent.com') }] })).der], roots: [root] }; }, expect: { code: 'ERR_X509_CRITICAL_EXTENSION' } }),
  row({ id: 'X509-07', area: 'X.509', what: 'the same extension twice', entry: validate, input: 'leaf with 1.3.6.1.4.1.99999.2 twice', build: async () => { const { root } = await ca(); const e = { oid: '1.3.6.1.4.1.99999.2', critical: false, value: new Uint8Array([0x05, 0x00]) }; return { chain: [(await makeLeaf(root, { san: 'https://x', extra: [e, e] })).der], roots: [root] }; }, expect: { code: 'ERR_X509_MALFORMED' } }),
  row({ id: 'X509-08', area: 'X.509', what: 'SubjectAltName holding 1,000 nested SEQUENCEs (malformed known extension)', entry: core('parseCertificate', (der: Uint8Array) => parseCertificate(der)), input: 'leaf whose 2.5.29.17 value is SEQUENCE(SEQUENCE(… NULL …))', build: async () => (await makeLeaf((await ca()).root, { extra: [{ oid: '2.5.29.17', critical: false, value: derNest(1000) }] })).der, expect: { code: 'ERR_X509_MALFORMED' } }),
  row({
    id: 'X509-09', area: 'X.509', what: 'certificate in BER with an indefinite-length outer SEQUENCE', entry: core('parseCertificate', (der: Uint8Array) => parseCertificate(der)),
    input: 'a valid leaf re-wrapped as 30 80 … 00 00',
    build: async () => {
      const der = (await makeLeaf((await ca()).root, { san: 'https://x' })).der;
      const headLen = der[1]! < 0x80 ? 2 : 2 + (der[1]! & 0x7f);
      return cat([0x30, 0x80], der.subarray(headLen), [0, 0]);
    },
    expect: { code: 'ERR_X509_MALFORMED' },
  }),

  // ----- storage: where statements and evidence are written and read (attach targets) -----
  row({ id: 'STORE-01', area: 'Storage', what: 'payload-location climbing out with ..', entry: storeAttach, input: 'hash envelope, 260: "../outside/sbom.json", attached with its evidence', build: (ctx) => storeCase(ctx, '../outside/sbom.json'), expect: { code: 'ERR_STORAGE_PATH' }, check: nothingWritten }),
  row({ id: 'STORE-02', area: 'Storage', what: 'absolute payload-location', entry: storeAttach, input: '260: "<dir>/outside/sbom.json" (absolute)', build: (ctx) => storeCase(ctx, join(ctx.dir, 'outside', 'sbom.json')), expect: { code: 'ERR_STORAGE_PATH' }, check: nothingWritten }),
  row({ id: 'STORE-03', area: 'Storage', what: 'file: URL payload-location', entry: storeAttach, input: '260: "file://<dir>/outside/sbom.json"', build: (ctx) => storeCase(ctx, `file://${join(ctx.dir, 'outside', 'sbom.json')}`), expect: { code: 'ERR_STORAGE_PATH' }, check: nothingWritten }),
  row({ id: 'STORE-04', area: 'Storage', what: '.. hidden behind a subdirectory', entry: storeAttach, input: '260: "docs/../../outside/sbom.json"', build: (ctx) => storeCase(ctx, 'docs/../../outside/sbom.json'), expect: { code: 'ERR_STORAGE_PATH' }, check: nothingWritten }),
  row({ id: 'STORE-05', area: 'Storage', what: 'payload-location through a symlink that leads out', entry: storeAttach, input: '260: "link/sbom.json" with store/link → ../outside', build: (ctx) => storeCase(ctx, 'link/sbom.json'), expect: { code: 'ERR_STORAGE_PATH' }, check: nothingWritten }),
  row({
    id: 'STORE-06', area: 'Storage', what: 'URL whose last segment decodes to a path through that symlink (%2F)', entry: storeAttach,
    input: '260: "https://evil.example/x/link%2Fsbom.json" (wrote into outside/ before the safe-path.ts fix)', build: (ctx) => storeCase(ctx, 'https://evil.example/x/link%2Fsbom.json'), expect: { code: 'ERR_STORAGE_PATH' }, check: nothingWritten,
  }),
  row({
    id: 'STORE-07', area: 'Storage', what: 'evidence target already there as a symlink to a file outside', entry: storeAttach,
    input: '260: "sbom.json" with store/sbom.json → ../outside/victim',
    build: (ctx) => storeCase(ctx, 'sbom.json', { setup: (c) => symlinkSync(join(c.outside, 'victim'), join(c.store, 'sbom.json')) }),
    expect: { code: 'ERR_STORAGE_PATH' }, check: nothingWritten,
  }),
  row({ id: 'STORE-08', area: 'Storage', what: 'artifact name that is a path', entry: storeAttach, input: 'artifact name "../app-1.0.tgz"', build: (ctx) => storeCase(ctx, 'sbom.json', { artifactName: '../app-1.0.tgz' }), expect: { code: 'ERR_STORAGE_TARGET' }, check: nothingWritten }),
  row({
    id: 'STORE-09', area: 'Storage', what: 'discovery does not read evidence outside the directory', entry: core('FileStatementStore.discover', async (c: StoreCase) => {
      writeFileSync(join(c.outside, 'sbom.json'), c.items[1]!.bytes); // the real preimage, where a traversal would find it
      writeFileSync(join(c.store, 'app-1.0.tgz.scitt'), c.items[0]!.bytes);
      const r = await new FileStatementStore({ directory: c.store }).discover(artifactRef(c.artifact.name, c.artifact.sha256), { evidence: true });
      assert.equal(r.statements.length, 1);
      assert.equal(r.statements[0]!.evidence, undefined, 'evidence was read from outside the directory');
      assert.ok(r.skipped.some((x) => x.code === 'ERR_STORAGE_PATH'), `no ERR_STORAGE_PATH among skipped: ${JSON.stringify(r.skipped)}`);
    }),
    input: 'store/app-1.0.tgz.scitt whose 260 is "../outside/sbom.json", the matching preimage placed there', build: (ctx) => storeCase(ctx, '../outside/sbom.json'), expect: { ok: true },
  }),

  // ----- SCRAPI over HTTP: the Transparency Service child process (draft-ietf-scitt-scrapi) -----
  row({ id: 'HTTP-01', area: 'SCRAPI', what: 'content type that only starts like application/cose', entry: postEntries, input: 'Content-Type: application/cose-evil, a valid statement', build: async () => ({ path: '/entries', headers: { 'Content-Type': 'application/cose-evil' }, body: await goodStatement() }), expect: { status: 415 } }),
  row({ id: 'HTTP-02', area: 'SCRAPI', what: 'no content type', entry: postEntries, input: 'POST without Content-Type', build: async () => ({ path: '/entries', body: await goodStatement() }), expect: { status: 415 } }),
  row({ id: 'HTTP-03', area: 'SCRAPI', what: 'multipart/form-data', entry: postEntries, input: 'FormData with the statement as a file', build: async () => { const f = new FormData(); f.set('file', new Blob([await goodStatement()])); return { path: '/entries', body: f as unknown as string }; }, expect: { status: 415 } }),
  row({
    id: 'HTTP-04', area: 'SCRAPI', what: 'Content-Length of 10 GiB declared, 3 bytes sent', entry: postEntries,
    input: 'raw TCP: POST /entries, Content-Length: 10737418240',
    build: () => ({ path: '/entries', raw: 'POST /entries HTTP/1.1\r\nHost: ts\r\nContent-Type: application/cose\r\nContent-Length: 10737418240\r\n\r\nabc' }),
    expect: { status: 413 },
  }),
  row({
    id: 'HTTP-05', area: 'SCRAPI', what: 'chunked body growing past the 2 MiB body limit', entry: postEntries,
    input: 'raw TCP: Transfer-Encoding: chunked, 48 × 64 KiB chunks',
    build: () => ({
      path: '/entries',
      raw: async (write: (b: Uint8Array | string) => boolean) => {
        write('POST /entries HTTP/1.1\r\nHost: ts\r\nContent-Type: application/cose\r\nTransfer-Encoding: chunked\r\n\r\n');
        const chunk = new Uint8Array(65536);
        for (let i = 0; i < 48; i++) {
          if (!write(`10000\r\n`)) await new Promise((r) => setTimeout(r, 5));
          write(chunk);
          write('\r\n');
        }
        write('0\r\n\r\n');
      },
    }),
    expect: { status: 413 },
  }),
  row({ id: 'HTTP-06', area: 'SCRAPI', what: "body under the body limit but over the policy's maxStatementBytes", entry: postEntries, input: '1 MiB + 1 byte body (policy default 1 MiB)', build: () => ({ path: '/entries', headers: COSE, body: new Uint8Array(1024 * 1024 + 1) }), expect: { status: 413 }, check: (o) => assert.match((o as { detail: string }).detail, /policy/) }),
  row({
    id: 'HTTP-07', area: 'SCRAPI', what: 'entry id with encoded CR LF and a header: nothing reflected into headers', entry: http('GET', '/entries/{id}'),
    input: 'GET /entries/abc%0D%0ASet-Cookie:%20x=1%0D%0ALocation:%20https://evil.example',
    build: () => ({ path: '/entries/abc%0D%0ASet-Cookie:%20x=1%0D%0ALocation:%20https://evil.example' }),
    expect: { status: 404 },
    check: (o) => {
      const h = (o as { headers: Record<string, string> }).headers;
      assert.equal(h['set-cookie'], undefined);
      assert.equal(h.location, undefined);
      assert.ok(!Object.values(h).some((v) => /evil|x=1/.test(v)), `a header reflects the id: ${JSON.stringify(h)}`);
    },
  }),
  row({
    id: 'HTTP-08', area: 'SCRAPI', what: 'bare CR LF inside the request target', entry: http('GET', '/entries/{id}'),
    input: 'raw TCP: "GET /entries/abc\\r\\nX-Injected: 1 HTTP/1.1"',
    build: () => ({ path: '/entries/abc', raw: 'GET /entries/abc\r\nX-Injected: yes HTTP/1.1\r\nHost: ts\r\nConnection: close\r\n\r\n' }),
    expect: { status: 404 },
    check: (o) => {
      const h = (o as { headers: Record<string, string> }).headers;
      assert.equal(h['x-injected'], undefined);
      assert.equal(h.location, undefined);
    },
  }),
  row({
    id: 'HTTP-09', area: 'SCRAPI', what: 'Location is built from the canonical entry id, never from the request', entry: http('GET', '/entries/{id}'),
    input: 'register a statement, then GET its id in upper case',
    build: async () => {
      const statement = await createSignedStatement({ payload: text(`{"row":"HTTP-09","t":${Date.now()}}`), signer: issuer.signer, iss: ISS, sub: 'pkg:generic/http-09@1', kid: issuer.kid });
      const id = Buffer.from(sha256(statementEntry(statement))).toString('hex');
      return {
        path: `/entries/${id.toUpperCase()}`,
        before: async (ctx: Ctx) => {
          const r = await fetch(`${ctx.ts.url}/entries`, { method: 'POST', headers: COSE, body: statement });
          assert.equal(r.status, 201);
          await r.arrayBuffer();
        },
        id,
      };
    },
    expect: { status: 200 },
    check: (o, _ctx, input) => assert.equal((o as { headers: Record<string, string> }).headers.location, `/entries/${(input as unknown as { id: string }).id}`),
  }),
  row({ id: 'HTTP-10', area: 'SCRAPI', what: 'entry id of 300 characters', entry: http('GET', '/entries/{id}'), input: "GET /entries/ + 300 × 'a'", build: () => ({ path: `/entries/${'a'.repeat(300)}` }), expect: { status: 414 } }),
  row({ id: 'HTTP-11', area: 'SCRAPI', what: 'path traversal with encoded slashes', entry: http('GET', '/entries/{id}/statement'), input: 'GET /entries/..%2F..%2F..%2Fetc%2Fpasswd/statement', build: () => ({ path: '/entries/..%2F..%2F..%2Fetc%2Fpasswd/statement' }), expect: { status: 404 } }),
  row({ id: 'HTTP-12', area: 'SCRAPI', what: 'path traversal with encoded dot segments', entry: http('GET', '/entries/{id}/statement'), input: 'GET /entries/%2e%2e/%2e%2e/log.sqlite/statement', build: () => ({ path: '/entries/%2e%2e/%2e%2e/log.sqlite/statement' }), expect: { status: 404 } }),
  row({ id: 'HTTP-13', area: 'SCRAPI', what: 'invalid percent-encoding in the path', entry: http('GET', '/entries/{id}'), input: 'GET /entries/%ff%fe', build: () => ({ path: '/entries/%ff%fe' }), expect: { status: 400 } }),
  row({ id: 'HTTP-14', area: 'SCRAPI', what: 'method the API does not have', entry: http('DELETE', '/entries'), input: 'DELETE /entries', build: () => ({ path: '/entries' }), expect: { status: 404 } }),
  row({ id: 'HTTP-15', area: 'SCRAPI', what: 'consistency bounds that are not integers', entry: http('GET', '/consistency'), input: 'GET /consistency?from=1e309&to=NaN', build: () => ({ path: '/consistency?from=1e309&to=NaN' }), expect: { status: 400 } }),
  row({ id: 'HTTP-16', area: 'SCRAPI', what: 'statement with a detached payload', entry: postEntries, input: 'trusted issuer, payload nil', build: async () => ({ path: '/entries', headers: COSE, body: await goodStatement([], { payload: null }) }), expect: { status: 400, title: 'Payload Missing' } }),
  row({ id: 'HTTP-17', area: 'SCRAPI', what: 'alg "none"', entry: postEntries, input: 'COSE-01 posted', build: async () => ({ path: '/entries', headers: COSE, body: await rawSign1({ protectedBytes: protectedOf([[cb.uint(1), cb.text('none')], ...statementPairs().slice(1)]) }) }), expect: { status: 400, title: 'Bad Signature Algorithm' } }),
  row({ id: 'HTTP-18', area: 'SCRAPI', what: "trusted issuer's kid with an EdDSA signature", entry: postEntries, input: 'kid of the trusted P-256 key, alg -8, signed by an Ed25519 key', build: async () => ({ path: '/entries', headers: COSE, body: await rawSign1({ protectedBytes: protectedOf(statementPairs({ alg: -8 })), signer: issuerEd.signer }) }), expect: { status: 400, title: 'Bad Signature Algorithm' } }),
  row({ id: 'HTTP-19', area: 'SCRAPI', what: 'DER-encoded signature by the trusted issuer', entry: postEntries, input: 'COSE-12 posted', build: async () => ({ path: '/entries', headers: COSE, body: await derSigned(issuer, 'sha256', -7) }), expect: { status: 400 }, check: (o) => assert.match((o as { detail: string }).detail, /ERR_COSE_SIGNATURE_LENGTH/) }),
  row({ id: 'HTTP-20', area: 'SCRAPI', what: 'keyless statement with an oversized x5chain', entry: postEntries, input: 'X509-01 posted', build: async () => ({ path: '/entries', headers: COSE, body: await rawSign1({ protectedBytes: protectedOf([[cb.uint(1), cb.nint(-7)], [cb.uint(15), claimsCbor()], [cb.uint(33), cb.array(Array.from({ length: 9 }, () => cb.bytes(text('certificate'))))]]) }) }), expect: { status: 400 } }),
  row({ id: 'HTTP-21', area: 'SCRAPI', what: 'statement re-encoded canonically (signature no longer covers it)', entry: postEntries, input: 'COSE-15 posted', build: async () => ({ path: '/entries', headers: COSE, body: await reencodedStatement() }), expect: { status: 400 }, check: (o) => assert.match((o as { detail: string }).detail, /ERR_COSE_SIGNATURE_INVALID/) }),
  row({
    id: 'HTTP-22', area: 'SCRAPI', what: 'non-canonical protected header is registered with its bytes as received (control)', entry: postEntries,
    input: 'a fresh COSE-14-style statement; the receipt must verify for the entry built from the received protected bytes',
    build: async () => ({ path: '/entries', headers: COSE, body: await rawSign1({ protectedBytes: protectedOf(nonCanonicalPairs()), payload: text(`{"row":"HTTP-22","t":${Date.now()}}`) }) }),
    expect: { status: 201, sizeDelta: 1 },
    check: async (o, ctx, input) => {
      const keys = new TrustedKeys(decodeKeySet(new Uint8Array(await (await fetch(`${ctx.ts.url}/.well-known/scitt-keys`)).arrayBuffer())).map((k) => trustedKey(k)));
      verifyReceipt((o as { body: Uint8Array }).body, statementEntry((input as { body: Uint8Array }).body), keys);
    },
  }),
  row({ id: 'HTTP-23', area: 'SCRAPI', what: 'policy change without the admin token', entry: http('POST', '/policy'), input: 'POST /policy, no Authorization', build: () => ({ path: '/policy', headers: { 'Content-Type': 'application/json' }, body: '{"issuers":[]}' }), expect: { status: 401 } }),
  row({ id: 'HTTP-24', area: 'SCRAPI', what: 'policy change with a wrong admin token of the same length', entry: http('POST', '/policy'), input: 'Authorization: Bearer <token with its last character changed>', build: () => ({ path: '/policy', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}X` }, body: '{"issuers":[]}' }), expect: { status: 401 } }),
  row({ id: 'HTTP-25', area: 'SCRAPI', what: 'policy that is not JSON, with the admin token', entry: http('POST', '/policy'), input: 'POST /policy "{issuers: [" with the right token', build: () => ({ path: '/policy', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ADMIN_TOKEN}` }, body: '{issuers: [' }), expect: { status: 400 } }),
  row({ id: 'HTTP-26', area: 'SCRAPI', what: 'policy with an unusable issuer key, with the admin token', entry: http('POST', '/policy'), input: 'POST /policy {"issuers":[{"key":{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}}]}', build: () => ({ path: '/policy', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ADMIN_TOKEN}` }, body: '{"issuers":[{"key":{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}}]}' }), expect: { status: 400 } }),

  // ----- the scitt command line -----
  row({
    id: 'CLI-01', area: 'CLI', what: 'truncated Transparent Statement', entry: cli('verify'), input: 'first 40 bytes of a Transparent Statement',
    build: async () => ({ args: ['verify', 'ts.scitt', '--ts-keys', 'keys.cbor', '--issuer-key', 'issuer.pub.pem'], files: { 'ts.scitt': (await transparentOf(await goodStatement())).subarray(0, 40), 'keys.cbor': serviceKeySet(), 'issuer.pub.pem': toPem(issuer.pub) } }),
    expect: { exit: 1, code: 'ERR_CBOR_TRUNCATED' },
  }),
  row({ id: 'CLI-02', area: 'CLI', what: 'service key file that is no key', entry: cli('verify'), input: '--ts-keys pointing at a text file', build: async () => ({ args: ['verify', 'ts.scitt', '--ts-keys', 'keys.txt', '--issuer-key', 'issuer.pub.pem'], files: { 'ts.scitt': await transparentOf(await goodStatement()), 'keys.txt': 'not a key\n', 'issuer.pub.pem': toPem(issuer.pub) } }), expect: { exit: 2, code: 'ERR_KEY_INVALID' } }),
  row({
    id: 'CLI-03', area: 'CLI', what: 'payload-location with path traversal is reported, never opened', entry: cli('verify'),
    input: 'hash envelope whose 260 is "../../…/<dir>/evidence.fifo" (a FIFO: opening it would block); verify --json',
    build: async (ctx) => {
      const fifo = join(ctx.dir, 'evidence.fifo');
      execFileSync('mkfifo', [fifo]);
      const location = `${'../'.repeat(24)}${fifo.replace(/^\//, '')}`;
      const statement = await createSignedStatement({ payload: sha256(SBOM), signer: issuer.signer, iss: ISS, sub: 'pkg:generic/app@1.0.0', kid: issuer.kid, hashEnvelope: { hashAlg: -16, location } });
      return { args: ['verify', 'ts.scitt', '--ts-keys', 'keys.cbor', '--issuer-key', 'issuer.pub.pem', '--json'], files: { 'ts.scitt': await transparentOf(statement), 'keys.cbor': serviceKeySet(), 'issuer.pub.pem': toPem(issuer.pub) }, location };
    },
    expect: { exit: 0 },
    check: (o, _ctx, input) => {
      const r = (JSON.parse((o as { stdout: string }).stdout) as { result: unknown }).result as { statement: { payloadLocation: string }; checks: { name: string }[] };
      assert.equal(r.statement.payloadLocation, (input as unknown as { location: string }).location);
      assert.ok(!r.checks.some((c) => c.name === 'evidence'), 'no evidence check without --evidence');
    },
  }),
  row({
    id: 'CLI-04', area: 'CLI', what: 'payload-location URL (SSRF probe) is never fetched', entry: cli('verify'),
    input: 'hash envelope whose 260 is http://127.0.0.1:<port>/ of a server counting requests',
    build: async (ctx) => {
      const server = await hostileServer((_r, res) => res.end('evidence'));
      const statement = await createSignedStatement({ payload: sha256(SBOM), signer: issuer.signer, iss: ISS, sub: 'pkg:generic/app@1.0.0', kid: issuer.kid, hashEnvelope: { hashAlg: -16, location: `${server.url}/evidence` } });
      void ctx;
      return { args: ['verify', 'ts.scitt', '--ts-keys', 'keys.cbor', '--issuer-key', 'issuer.pub.pem'], files: { 'ts.scitt': await transparentOf(statement), 'keys.cbor': serviceKeySet(), 'issuer.pub.pem': toPem(issuer.pub) }, server };
    },
    expect: { exit: 0 },
    check: async (_o, _ctx, input) => {
      const { server } = input as unknown as { server: Awaited<ReturnType<typeof hostileServer>> };
      await server.close();
      assert.equal(server.seen.length, 0, 'verify fetched the payload-location');
    },
  }),
  row({
    id: 'CLI-05', area: 'CLI', what: 'terminal escapes and CR LF in iss, sub and payload-location are shown escaped', entry: cli('inspect'),
    input: 'hash envelope with iss/sub/260 holding ESC[2J, OSC title, BEL and "\\r\\nVERIFIED"',
    build: async () => {
      const evil = 'x\u001b[2J\u001b]0;pwned\u0007\r\nVERIFIED';
      const statement = await createSignedStatement({ payload: sha256(SBOM), signer: issuer.signer, iss: `https://e.x/${evil}`, sub: evil, kid: issuer.kid, hashEnvelope: { hashAlg: -16, location: evil } });
      return { args: ['inspect', 's.cose'], files: { 's.cose': statement } };
    },
    expect: { exit: 0 },
    check: (o) => noRawControl((o as { stdout: string }).stdout, 'scitt inspect output'),
  }),
  row({ id: 'CLI-06', area: 'CLI', what: 'nesting beyond the depth limit', entry: cli('inspect'), input: '17 nested maps', build: () => ({ args: ['inspect', 'deep.cbor'], files: { 'deep.cbor': nested('map', 17) } }), expect: { exit: 2, code: 'ERR_CBOR_LIMIT' } }),
  row({ id: 'CLI-07', area: 'CLI', what: 'DER-encoded signature', entry: cli('statement verify'), input: 'COSE-12 statement, the issuer public key', build: async () => ({ args: ['statement', 'verify', 's.cose', '--key', 'issuer.pub.pem'], files: { 's.cose': await derSigned(issuer, 'sha256', -7), 'issuer.pub.pem': toPem(issuer.pub) } }), expect: { exit: 1, code: 'ERR_COSE_SIGNATURE_LENGTH' } }),
  row({ id: 'CLI-08', area: 'CLI', what: 'diagnostic view of a COSE_Sign1 with non-byte fields', entry: cli('inspect'), input: "18([<< 5 >>, {}, null, 7]) (crashed inspect before the diagnostic.ts fix)", build: () => ({ args: ['inspect', 'odd.cbor'], files: { 'odd.cbor': encode(new Tag([encode(5), new Map(), null, 7], 18)) } }), expect: { exit: 0 } }),

  // ----- the SCRAPI client against a hostile Transparency Service -----
  row({
    id: 'CLIENT-01', area: 'Client', what: 'service redirects polling to another origin: refused, the bearer token stays home (was: followed without the token, its answer taken as the receipt)', entry: core('ScrapiClient.register', async (i: { statement: Uint8Array }) => {
      const other = await hostileServer((_r, res) => res.writeHead(200, { 'Content-Type': 'application/cose' }).end(Buffer.from([0xd2, 0x84])));
      const ts = await hostileServer((_r, res) => res.writeHead(303, { Location: `${other.url}/entries/stolen`, 'Retry-After': '0' }).end());
      try {
        await new ScrapiClient({ url: ts.url, token: 'secret-registration-token' }).register(i.statement);
      } finally {
        await Promise.all([ts.close(), other.close()]);
        assert.equal(ts.seen[0]?.headers.authorization, 'Bearer secret-registration-token');
        assert.equal(other.seen.length, 0, 'the client reached another origin');
      }
    }),
    input: 'POST answered 303 Location: http://<other origin>/entries/stolen', build: async () => ({ statement: await goodStatement() }), expect: { code: 'ERR_ORIGIN' },
  }),
  row({
    id: 'CLIENT-02', area: 'Client', what: 'refusal with a 1 MiB problem-details body', entry: core('ScrapiClient.register', async (i: { statement: Uint8Array }) => {
      const ts = await hostileServer((_r, res) => res.writeHead(400, { 'Content-Type': 'application/concise-problem-details+cbor' }).end(Buffer.alloc(1024 * 1024, 0xbf)));
      try {
        await new ScrapiClient({ url: ts.url }).register(i.statement);
      } finally {
        await ts.close();
      }
    }),
    input: '400 with 1 MiB of 0xbf as concise-problem-details+cbor', build: async () => ({ statement: await goodStatement() }), expect: { code: 'ERR_SCRAPI_REFUSED' },
  }),
  // ----- trust anchors and origins (T-): SCTs, trust material over the network, server-claimed digests, redirects
  row({
    id: 'T-01', area: 'X.509', what: 'keyless leaf with no SCT, trust without CT logs: refused (not logged in CT)', entry: core('verifyX509Issuer', async (i: { chain: Uint8Array[]; roots: Issued[] }) =>
      verifyX509Issuer({ x5chain: i.chain, iss: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main', trust: await trustFromPem({ roots: i.roots.map((r) => certificateToPem(r.der)) }), at: new Date(), policy: { repo: 'acme/app' } }),
    ),
    input: 'leaf of a trusted root with no SCT extension; the trust lists no CT log and does not say insecureIgnoreSct',
    build: async () => { const { root } = await ca(); return { chain: [(await makeLeaf(root, { san: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main' })).der], roots: [root] }; },
    expect: { code: 'ERR_X509_SCT' },
  }),
  row({
    id: 'T-02', area: 'X.509', what: 'keyless leaf with no SCT while the trust lists a CT log key: refused', entry: core('verifyX509Issuer', async (i: { chain: Uint8Array[]; roots: Issued[] }) => {
      const ctLog = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])).publicKey;
      const pem = `-----BEGIN PUBLIC KEY-----\n${Buffer.from(await webcrypto.subtle.exportKey('spki', ctLog)).toString('base64')}\n-----END PUBLIC KEY-----\n`;
      return verifyX509Issuer({ x5chain: i.chain, iss: 'https://x', trust: await trustFromPem({ roots: i.roots.map((r) => certificateToPem(r.der)), ctLogKeys: pem }), at: new Date(), policy: { repo: 'acme/app' } });
    }),
    input: 'leaf with no SCT extension; trust = root + a CT log public key',
    build: async () => { const { root } = await ca(); return { chain: [(await makeLeaf(root, { san: 'https://x' })).der], roots: [root] }; },
    expect: { code: 'ERR_X509_SCT' },
  }),
  row({
    id: 'T-03', area: 'Client', what: 'service keys over plain http:// to a non-loopback host', entry: core('ScrapiClient.keys', (i: { url: string }) => new ScrapiClient({ url: i.url, retries: 0 }).keys()),
    input: 'http://scitt.example.org (refused before any request)', build: () => ({ url: 'http://scitt.example.org' }), expect: { code: 'ERR_INSECURE_URL' },
  }),
  row({
    id: 'T-04', area: 'Client', what: "legacy transparency-configuration's jwks_uri on another origin is not followed", entry: core('ScrapiClient.keys', async () => {
      const other = await hostileServer((_r, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"keys":[]}'));
      const ts = await hostileServer((r, res) => (r.url === '/.well-known/transparency-configuration' ? res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ jwks_uri: `${other.url}/jwks` })) : res.writeHead(404).end()));
      try {
        return await new ScrapiClient({ url: ts.url, retries: 0 }).keys();
      } finally {
        await Promise.all([ts.close(), other.close()]);
        assert.equal(other.seen.length, 0, 'the client fetched keys from another origin');
      }
    }),
    input: '/.well-known/scitt-keys 404; transparency-configuration {"jwks_uri": "http://<other origin>/jwks"}', build: () => ({}), expect: { code: 'ERR_ORIGIN' },
  }),
  row({
    id: 'T-05', area: 'Client', what: 'a key endpoint answer that is no JSON: the error does not echo the body', entry: core('ScrapiClient.keys', async () => {
      const ts = await hostileServer((r, res) => {
        if (r.url === '/.well-known/transparency-configuration') return res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"jwks_uri":"/jwks"}');
        if (r.url === '/jwks') return res.writeHead(200, { 'Content-Type': 'application/json' }).end('BODY-SECRET \u001b[2J not json');
        res.writeHead(404).end();
      });
      try {
        return await new ScrapiClient({ url: ts.url, retries: 0 }).keys();
      } finally {
        await ts.close();
      }
    }),
    input: 'JWK Set answer "BODY-SECRET \\x1b[2J not json"', build: () => ({}), expect: { code: 'ERR_SCRAPI_FAILED' },
    check: (o) => assert.ok(!(o as { message: string }).message.includes('BODY-SECRET'), 'the error echoes the response body'),
  }),
  row({
    id: 'T-06', area: 'Storage', what: "image tag resolved by hashing its manifest, not by the registry's Docker-Content-Digest", entry: core('RegistryClient.resolve', async () => {
      const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 }, layers: [] }));
      const lie = `sha256:${'ab'.repeat(32)}`;
      const reg = await hostileServer((r, res) => {
        const h = { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Docker-Content-Digest': lie, 'Content-Length': String(manifest.length) };
        return r.url === '/v2/acme/app/manifests/v1' ? res.writeHead(200, h).end(r.method === 'HEAD' ? undefined : manifest) : res.writeHead(404).end();
      });
      try {
        const d = await new RegistryClient({ registry: reg.url.slice('http://'.length), repository: 'acme/app', limits: storageLimits() }).resolve('v1');
        assert.equal(d?.digest, `sha256:${hex(sha256(manifest))}`, 'the tag was identified by the digest the registry claimed');
        return d;
      } finally {
        await reg.close();
      }
    }),
    input: 'HEAD/GET /v2/acme/app/manifests/v1 with Docker-Content-Digest: sha256:abab…', build: () => ({}), expect: { ok: true },
  }),
  row({
    id: 'T-07', area: 'Storage', what: 'registry redirects a tag manifest to another origin: refused', entry: core('RegistryClient.manifest', async () => {
      const other = await hostileServer((_r, res) => res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }).end('{}'));
      const reg = await hostileServer((r, res) => res.writeHead(307, { Location: `${other.url}${r.url}` }).end());
      try {
        return await new RegistryClient({ registry: reg.url.slice('http://'.length), repository: 'acme/app', limits: storageLimits() }).manifest('v1', 'application/vnd.oci.image.manifest.v1+json');
      } finally {
        await Promise.all([reg.close(), other.close()]);
        assert.equal(other.seen.length, 0, 'the client followed the redirect');
      }
    }),
    input: 'GET /v2/acme/app/manifests/v1 answered 307 Location: http://<other origin>/…', build: () => ({}), expect: { code: 'ERR_ORIGIN' },
  }),
  row({
    id: 'T-08', area: 'Storage', what: 'GitHub release whose upload_url is on another origin: no asset and no token go there', entry: core('GitHubReleaseStore.attach', async (i: { statement: Uint8Array }) => {
      const other = await hostileServer((_r, res) => res.writeHead(201, { 'Content-Type': 'application/json' }).end('{}'));
      const api = await hostileServer((r, res) => {
        if (r.url === '/repos/acme/app/releases/tags/v1') return res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ id: 7, tag_name: 'v1', draft: false, html_url: 'https://github.com/acme/app/releases/tag/v1', upload_url: `${other.url.replace('127.0.0.1', 'uploads.invalid')}/repos/acme/app/releases/7/assets{?name,label}` }));
        if (r.url.startsWith('/repos/acme/app/releases/7/assets')) return res.writeHead(200, { 'Content-Type': 'application/json' }).end('[]');
        res.writeHead(404).end();
      });
      try {
        return await new GitHubReleaseStore({ owner: 'acme', repo: 'app', tag: 'v1', token: 'ghs_secret', baseUrl: api.url }).attach(artifactRef('app-1.0.tgz', hex(sha256(SBOM))), [{ name: 'app-1.0.tgz.scitt', bytes: i.statement, mediaType: 'application/scitt-statement+cose' }]);
      } finally {
        await Promise.all([api.close(), other.close()]);
        assert.equal(other.seen.length, 0, 'something was sent to the upload_url of another origin');
      }
    }),
    input: 'release JSON with upload_url http://uploads.invalid:<port>/… (API on 127.0.0.1)',
    build: async () => ({ statement: await transparentOf(await createSignedStatement({ payload: SBOM, signer: issuer.signer, iss: ISS, sub: `pkg:generic/app@1.0?checksum=sha256:${hex(sha256(SBOM))}`, kid: issuer.kid })) }),
    expect: { code: 'ERR_ORIGIN' },
  }),
  // ----- numeric flags: a value that is no number is a usage error, never "unlimited" (was NaN) -----
  row({ id: 'S-01', area: 'CLI', what: 'scitt serve --rate that is no number', entry: cli('serve'), input: '--rate abc (read as NaN: no rate limit at all)', build: () => ({ args: ['serve', '--data', 'd', '--rate', 'abc'] }), expect: { exit: 2, code: 'ERR_USAGE' } }),
  row({ id: 'S-02', area: 'CLI', what: 'scitt serve --sync-wait below zero', entry: cli('serve'), input: '--sync-wait -5', build: () => ({ args: ['serve', '--data', 'd', '--sync-wait', '-5'] }), expect: { exit: 2, code: 'ERR_USAGE' }, check: (_o, ctx) => assert.ok(!existsSync(join(ctx.dir, 'd')), 'a refused start created its data directory') }),
  row({ id: 'S-03', area: 'CLI', what: 'scitt serve --body-limit in exponent notation', entry: cli('serve'), input: '--body-limit 1e9 (Number() reads it as 10^9 bytes)', build: () => ({ args: ['serve', '--data', 'd', '--body-limit', '1e9'] }), expect: { exit: 2, code: 'ERR_USAGE' } }),
  // ----- key rotation (#17): an admin verb without the admin token never reaches the service -----
  row({ id: 'KR-01', area: 'CLI', what: 'scitt serve --rotate-key without the admin token', entry: cli('serve'), input: '--rotate-key http://127.0.0.1:9 (no --admin-token-file, no SCITT_TS_ADMIN_TOKEN)', build: () => ({ args: ['serve', '--rotate-key', 'http://127.0.0.1:9'] }), expect: { exit: 2, code: 'ERR_USAGE' } }),
  // ----- witnessed transparency (#19): an entry tlog-tiles cannot publish is refused at registration (was a 500 on its entry bundle) -----
  row({ id: 'W-01', area: 'SCRAPI', what: "statement whose log entry exceeds the 65,535 bytes a tlog-tiles entry bundle carries (under the policy's maxStatementBytes)", entry: postEntries, input: "the trusted issuer's statement with a 70,000-byte payload", build: async () => ({ path: '/entries', headers: COSE, body: await rawSign1({ protectedBytes: protectedOf(statementPairs()), payload: new Uint8Array(70_000) }) }), expect: { status: 413 }, check: (o) => assert.match((o as { detail: string }).detail, /at most 65535 bytes.*Hash Envelope statement instead/) }),
  row({
    id: 'W-02', area: 'Client', what: 'a log whose checkpoint is 10 MiB: the witness-quorum gate reads at most 64 KiB of it', entry: core('checkTreesWithTrustPolicy', async () => {
      const log = await hostileServer((_r, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }); // chunked: no length announced
        for (let i = 0; i < 160; i++) res.write(Buffer.alloc(64 * 1024, 0x61));
        res.end();
      });
      try {
        const tree = { ok: true, serviceIss: log.url, treeSize: 1, root: Buffer.alloc(32).toString('base64') };
        return await checkTreesWithTrustPolicy([tree], { minWitnesses: 1, logKeys: [ed25519Signer('log.example', generateEd25519Seed()).verifierKey], witnessKeys: [ed25519Cosigner('witness.example', generateEd25519Seed()).verifierKey] });
      } finally {
        await log.close();
      }
    }),
    input: 'GET /checkpoint answered 160 × 64 KiB, chunked', build: () => ({}), expect: { code: 'ERR_CONSISTENCY_UNAVAILABLE' }, check: (o) => assert.match((o as { message: string }).message, /at most 65536 are read/),
  }),
  ...GATE_ROWS,
  ...RESOURCE_ROWS,
];
