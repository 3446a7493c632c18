/**
 * Catalogue rows R-*: resource safety of everything that reads untrusted input. Artifacts that are
 * not regular files (FIFOs, devices, symlinks to them) are refused, never read or waited on; what a
 * discovery holds is bounded however many statements sit beside an artifact; evidence is not read
 * for a statement that did not verify; job summaries and log lines cannot be forged by what a
 * statement says. The 1,000-statement RSS measurements are test/e2e/gate-memory.test.ts (files,
 * release assets) and test/e2e/gate-memory-referrers.test.ts (OCI referrers).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { oneLine, summaryText } from '../../actions/_shared/src/kit.ts';
import { ScittError } from '../../packages/core/src/errors.ts';
import { sha256File } from '../../packages/core/src/payload/hashing.ts';
import { collectSubjects } from '../../packages/core/src/payload/subjects.ts';
import { TrustedKeys, trustedKey } from '../../packages/core/src/receipt/index.ts';
import { FileStatementStore } from '../../packages/core/src/storage/files.ts';
import { readLocalStatement } from '../../packages/core/src/storage/local-items.ts';
import { ANNOTATION_STATEMENT_DIGEST, OCI_INDEX, OCI_MANIFEST, STATEMENT_MEDIA_TYPE } from '../../packages/core/src/storage/oci/media-types.ts';
import { OciStatementStore } from '../../packages/core/src/storage/oci/store.ts';
import { createSignedStatement } from '../../packages/core/src/statement/signed-statement.ts';
import { verifyTransparent } from '../../packages/core/src/verify/pipeline.ts';
import type { Ctx, Entry, Outcome, Row } from './catalogue.ts';
import { ISS, hex, issuer, receiptFor, service, sha256, text, transparent } from './helpers.ts';

const row = <I>(r: Row<I>): Row => r as unknown as Row;

/** A call that must settle within `ms`: a blocked open or an endless read is a failure, not a hung suite. */
function core<I>(label: string, call: (input: I, ctx: Ctx) => unknown, ms = 10_000): Entry<I> {
  return {
    kind: 'core',
    label,
    async run(input, ctx) {
      let timer: NodeJS.Timeout | undefined;
      try {
        const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${label} did not return within ${ms} ms (blocked on a special file?)`)), ms)));
        return { kind: 'ok', value: await Promise.race([Promise.resolve(call(input, ctx)), hang]) };
      } catch (e) {
        if (e instanceof ScittError) return { kind: 'error', typed: true, code: e.code, message: e.message };
        return { kind: 'error', typed: false, code: (e as Error)?.constructor?.name ?? typeof e, message: String((e as Error)?.message ?? e) };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

const ARTIFACT = text('app-1.0.tgz bytes\n');
const ARTIFACT_SHA = hex(sha256(ARTIFACT));
const SUB = `pkg:generic/app-1.0.tgz?checksum=sha256:${ARTIFACT_SHA}`;

/** A Transparent Statement about the artifact, by `issuer`, with a real receipt from `service`. */
async function statement(o: { payload?: Uint8Array; iat?: number; hashEnvelope?: { digest: Uint8Array; location: string } } = {}): Promise<Uint8Array> {
  const signed = await createSignedStatement({
    payload: o.hashEnvelope?.digest ?? o.payload ?? text('{}'),
    signer: issuer.signer,
    kid: issuer.kid,
    iss: ISS,
    sub: SUB,
    iat: o.iat ?? 1_700_000_000,
    ...(o.hashEnvelope ? { hashEnvelope: { hashAlg: -16 as const, preimageContentType: 'application/vnd.cyclonedx+json', location: o.hashEnvelope.location } } : { contentType: 'application/json' }),
  });
  return transparent(signed, [(await receiptFor(signed)).receipt]);
}

const outcomeOk = (o: Outcome) => {
  assert.equal(o.kind, 'ok', JSON.stringify(o).slice(0, 300));
  return (o as { value: unknown }).value;
};

export const RESOURCE_ROWS: Row[] = [
  row({
    id: 'R-01', area: 'Storage', what: 'artifact that is a FIFO: refused at once, never waited on', entry: core('sha256File', (i: { path: string }) => sha256File(i.path)),
    input: 'mkfifo app.tgz; hash it as a subject (no writer ever opens it)',
    build: (ctx) => {
      execFileSync('mkfifo', [join(ctx.dir, 'app.tgz')]);
      return { path: join(ctx.dir, 'app.tgz') };
    },
    expect: { code: 'ERR_SUBJECT_NOT_REGULAR' },
  }),
  row({
    id: 'R-02', area: 'Storage', what: 'glob that matches a symlink to /dev/zero and a FIFO: refused, never read without end', entry: core('collectSubjects', (i: { cwd: string }) => collectSubjects({ paths: ['dist/*'] }, { cwd: i.cwd })),
    input: 'dist/a.tgz → /dev/zero, dist/b.tgz a FIFO, dist/c.tgz a regular file; subject-path dist/*',
    build: (ctx) => {
      execFileSync('mkdir', [join(ctx.dir, 'dist')]);
      symlinkSync('/dev/zero', join(ctx.dir, 'dist', 'a.tgz'));
      execFileSync('mkfifo', [join(ctx.dir, 'dist', 'b.tgz')]);
      writeFileSync(join(ctx.dir, 'dist', 'c.tgz'), ARTIFACT);
      return { cwd: ctx.dir };
    },
    expect: { code: 'ERR_SUBJECT_NOT_REGULAR' },
    check: (o) => assert.match((o as { message: string }).message, /character device|FIFO/),
  }),
  row({
    id: 'R-03', area: 'Storage', what: 'many large statements beside an artifact: discovery holds at most its memory budget', entry: core('FileStatementStore.discover', async (i: { dir: string }) => new FileStatementStore({ directory: i.dir, limits: { discoveryBytes: 1024 * 1024 } }).discover({ name: 'app-1.0.tgz', sha256: ARTIFACT_SHA }, { evidence: true })),
    input: '8 distinct statements about the artifact, each with a 256 KiB embedded payload; discoveryBytes 1 MiB',
    build: async (ctx) => {
      writeFileSync(join(ctx.dir, 'app-1.0.tgz'), ARTIFACT);
      for (let i = 0; i < 8; i++) {
        const name = i === 0 ? 'app-1.0.tgz.scitt' : `app-1.0.tgz.${hex(sha256(text(String(i)))).slice(0, 16)}.scitt`;
        writeFileSync(join(ctx.dir, name), await statement({ payload: new Uint8Array(256 * 1024).fill(0x20), iat: 1_700_000_000 + i }));
      }
      return { dir: ctx.dir };
    },
    expect: { ok: true },
    check: (o) => {
      const r = outcomeOk(o) as { statements: { bytes: Uint8Array }[]; skipped: { code: string }[] };
      const held = r.statements.reduce((n, s) => n + s.bytes.length, 0);
      assert.ok(held <= 1024 * 1024, `discovery held ${held} bytes`);
      assert.ok(r.statements.length >= 1 && r.statements.length < 8, `${r.statements.length} statements returned`);
      assert.ok(r.skipped.some((s) => s.code === 'ERR_STORAGE_LIMIT'), 'nothing skipped for the budget');
    },
  }),
  row({
    id: 'R-04', area: 'Gate', what: "a statement that does not verify: its evidence is never read", entry: core('verifyTransparent', async (i: { bytes: Uint8Array; read: { count: number } }) => {
      const evidence = { async *[Symbol.asyncIterator]() { i.read.count++; yield new Uint8Array(16); } };
      return verifyTransparent(i.bytes, { trustedServiceKeys: new TrustedKeys([trustedKey(service.pub)]), issuer: { keys: [issuer.pub] }, evidence, artifactSha256: ARTIFACT_SHA });
    }),
    input: 'a Hash Envelope whose signature is broken, with evidence given as a stream that counts its reads',
    build: async () => {
      const good = await statement({ hashEnvelope: { digest: sha256(text('sbom')), location: 'sbom.json' } });
      const bytes = new Uint8Array(good);
      bytes[bytes.length - 1]! ^= 1; // the last byte of the signature
      return { bytes, read: { count: 0 } };
    },
    expect: { ok: true },
    check: (o, _ctx, i) => {
      const r = outcomeOk(o) as { ok: boolean; checks: { name: string; ok: boolean }[] };
      assert.equal(r.ok, false);
      assert.equal((i as { read: { count: number } }).read.count, 0, 'the evidence of a statement that did not verify was read');
      assert.ok(r.checks.some((c) => c.name === 'evidence' && !c.ok), 'the evidence check must say it did not run');
    },
  }),
  row({
    id: 'R-05', area: 'Storage', what: 'statement path that is a FIFO (attach-receipt statement-path, scitt attach): refused, never waited on', entry: core('readLocalStatement', (i: { path: string }) => readLocalStatement(i.path)),
    input: 'mkfifo app.scitt; read it as the Transparent Statement to attach',
    build: (ctx) => {
      execFileSync('mkfifo', [join(ctx.dir, 'app.scitt')]);
      return { path: join(ctx.dir, 'app.scitt') };
    },
    expect: { code: 'ERR_STORAGE_PATH' },
    check: (o) => assert.match((o as { message: string }).message, /FIFO/),
  }),
  row({
    id: 'R-06', area: 'Gate', what: 'job summary and log lines from statement text: HTML, Markdown and new lines cannot forge the report', entry: core('summaryText / oneLine (actions/_shared)', (i: { s: string }) => ({ cell: summaryText(i.s), line: oneLine(i.s) })),
    input: 'iss "x</td></tr><tr><td>✅ verified | [ok](https://evil) **ok**\\n::error::forged\\r\\u2028# head"',
    build: () => ({ s: 'x</td></tr><tr><td>✅ verified | [ok](https://evil) **ok**\n::error::forged\r\u2028# head <img src=x onerror=alert(1)>' }),
    expect: { ok: true },
    check: (o) => {
      const { cell, line } = outcomeOk(o) as { cell: string; line: string };
      assert.doesNotMatch(cell, /[<>|[\]()*`\n\r\u2028]/, `summary cell ${cell}`);
      assert.doesNotMatch(cell, /https?:/, 'an autolink survived');
      assert.doesNotMatch(line, /[\n\r\u2028]/, 'a log line can be split');
      assert.ok(!line.startsWith('::'), 'a log line can start a workflow command');
    },
  }),
  row({
    id: 'R-07', area: 'Storage', what: 'referrers that all name one large statement blob, and Hash Envelopes beside them: the blob is fetched once, no evidence before a statement verifies', entry: core('OciStatementStore.discover', async (i: { blobs: Map<string, Uint8Array>; index: unknown }) => {
      // the registry plays along: its referrers API lists what the attacker pushed, and it serves every blob
      const gets: string[] = [];
      const server = createServer((req, res) => {
        gets.push(`${req.method} ${req.url}`);
        const blob = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(req.url ?? '');
        const bytes = blob && i.blobs.get(blob[1]!);
        if (bytes) return void res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) }).end(bytes);
        if (req.url?.includes('/referrers/')) return void res.writeHead(200, { 'content-type': OCI_INDEX, 'oci-filters-applied': 'artifactType' }).end(JSON.stringify(i.index));
        res.writeHead(404).end();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const store = new OciStatementStore({ registry: `127.0.0.1:${(server.address() as AddressInfo).port}`, repository: 'acme/app' });
        const found = await store.discover({ name: 'app', sha256: ARTIFACT_SHA }, { evidence: true });
        // what the check needs, not the statements' bytes (the outcome is printed when a row fails)
        return { gets, skipped: found.skipped.map((x) => x.code), statements: found.statements.length, lazyEvidence: found.statements.filter((x) => x.evidence && !x.evidence.bytes).length };
      } finally {
        server.close();
      }
    }),
    input: '40 referrers annotated with one statement blob (2 MiB payload), 5 Hash Envelope referrers naming evidence layers; the referrers API lists all 45',
    build: async () => {
      const blobs = new Map<string, Uint8Array>();
      const put = (b: Uint8Array) => {
        const digest = `sha256:${hex(sha256(b))}`;
        blobs.set(digest, b);
        return digest;
      };
      const big = put(await statement({ payload: new Uint8Array(2 * 1024 * 1024).fill(0x20) }));
      const small = await Promise.all([0, 1, 2, 3, 4].map(async (n) => put(await statement({ hashEnvelope: { digest: sha256(text(`sbom ${n}`)), location: 'sbom.json' }, iat: 1_700_000_100 + n }))));
      const referrer = (statementDigest: string, n: number) => ({ mediaType: OCI_MANIFEST, digest: `sha256:${hex(sha256(text(`manifest ${n}`)))}`, size: 500, artifactType: STATEMENT_MEDIA_TYPE, annotations: { [ANNOTATION_STATEMENT_DIGEST]: statementDigest } });
      const manifests = [...Array.from({ length: 40 }, (_, n) => referrer(big, n)), ...small.map((d, n) => referrer(d, 40 + n))];
      return { blobs, index: { schemaVersion: 2, mediaType: OCI_INDEX, manifests } };
    },
    expect: { ok: true },
    check: (o) => {
      const r = outcomeOk(o) as { gets: string[]; skipped: string[]; statements: number; lazyEvidence: number };
      const blobGets = r.gets.filter((g) => g.includes('/blobs/'));
      assert.equal(blobGets.length, 6, `blob requests: ${blobGets.join(', ')}`);
      assert.equal(r.skipped.filter((c) => c === 'ERR_STORAGE_DUPLICATE').length, 39);
      assert.equal(r.statements, 6);
      // the evidence of each Hash Envelope is found on demand: no manifest, HEAD or blob request for it yet
      assert.ok(!r.gets.some((g) => g.startsWith('HEAD') || g.includes('/manifests/')), r.gets.join(', '));
      assert.equal(r.lazyEvidence, 5);
    },
  }),
];
