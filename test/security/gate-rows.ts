/**
 * Catalogue rows G-*: the release gate's completeness and binding. Each is a way to make
 * `scitt verify` or the library go green on something it never checked: an artifact matched through
 * the evidence digest, evidence about other bytes, a flag silently ignored, an ambiguous package URL,
 * one service counted twice. Statements and receipts are real (helpers.ts); nothing is mocked.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeKeySet, toJwk, toPem } from '../../packages/core/src/cose/key.ts';
import { ScittError } from '../../packages/core/src/errors.ts';
import { buildProvenanceStatement } from '../../packages/core/src/payload/provenance.ts';
import { genericPurl, ociPurl } from '../../packages/core/src/payload/purl.ts';
import { TrustedKeys, trustedKey, verifyTransparentStatement } from '../../packages/core/src/receipt/index.ts';
import { artifactRef } from '../../packages/core/src/storage/artifact.ts';
import { FileStatementStore } from '../../packages/core/src/storage/files.ts';
import { createSignedStatement } from '../../packages/core/src/statement/signed-statement.ts';
import { runGate } from '../../packages/core/src/verify/gate.ts';
import { type VerificationResult, verifyTransparent } from '../../packages/core/src/verify/pipeline.ts';
import { GITHUB_CONTEXT } from '../helpers/action-runner.ts';
import { scitt } from '../helpers/cli.ts';
import type { CliInput, Ctx, Entry, Outcome, Row } from './catalogue.ts';
import { ISS, SBOM, cb, claimsCbor, hex, issuer, protectedOf, rawSign1, receiptFor, service, service2, sha256, statementPairs, text, transparent } from './helpers.ts';

const row = <I>(r: Row<I>): Row => r as unknown as Row;

function core<I>(label: string, call: (input: I, ctx: Ctx) => unknown): Entry<I> {
  return {
    kind: 'core',
    label,
    async run(input, ctx) {
      try {
        return { kind: 'ok', value: await call(input, ctx) };
      } catch (e) {
        if (e instanceof ScittError) return { kind: 'error', typed: true, code: e.code, message: e.message };
        return { kind: 'error', typed: false, code: (e as Error)?.constructor?.name ?? typeof e, message: String((e as Error)?.message ?? e) };
      }
    },
  };
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

/** The artifact about to be released, and bytes that are not it. */
const APP = text('app-1.0.tgz release bytes\n');
const APP_SHA = hex(sha256(APP));
const OTHER_SHA = hex(sha256(text('some other build\n')));

/** A statement by `issuer` about `sub`, embedded payload (or a Hash Envelope of `payload` when `hashEnvelope`). */
function statementAbout(sub: string, o: { payload?: Uint8Array; contentType?: string; hashEnvelope?: boolean } = {}): Promise<Uint8Array> {
  const payload = o.payload ?? SBOM;
  const extra: [Uint8Array, Uint8Array][] = o.hashEnvelope
    ? [[cb.uint(258), cb.int(-16)], [cb.uint(259), cb.text(o.contentType ?? 'application/vnd.cyclonedx+json')]]
    : [[cb.uint(3), cb.text(o.contentType ?? 'application/vnd.cyclonedx+json')]];
  return rawSign1({ protectedBytes: protectedOf([...statementPairs({ claims: claimsCbor({ sub }) }), ...extra]), payload: o.hashEnvelope ? sha256(payload) : payload });
}

/** Registered with the test service (one receipt), or with each party given. */
async function registered(statement: Uint8Array, by = [service]): Promise<Uint8Array> {
  const receipts = [];
  for (const p of by) receipts.push((await receiptFor(statement, { by: p })).receipt);
  return transparent(statement, receipts);
}

const serviceKeys = () => encodeKeySet([service.pub]);
const trusted = () => new TrustedKeys([trustedKey(service.pub, { service: 'ts' })]);
const policy = () => ({ trustedServiceKeys: trusted(), issuer: { keys: [issuer.pub] } });
const verifyArgs = (file: string) => [
  'verify', file, '--ts-keys', 'keys.cbor', '--issuer-key', 'issuer.pub.pem',
];
const baseFiles = () => ({ 'keys.cbor': serviceKeys(), 'issuer.pub.pem': toPem(issuer.pub), 'app-1.0.tgz': APP });

/** SLSA provenance naming `subjects` (in-toto subjects), as issue-statement generates it. */
const provenance = (sha: string) => text(JSON.stringify(buildProvenanceStatement([{ name: 'app-1.0.tgz', digest: { sha256: sha } }], GITHUB_CONTEXT)));

function failing(o: Outcome, check: string, code: string): void {
  assert.equal(o.kind, 'ok');
  const r = (o as { value: VerificationResult }).value;
  assert.equal(r.ok, false, 'the statement must not verify');
  const c = r.checks.find((x) => x.name === check);
  assert.ok(c && !c.ok, `the ${check} check must fail: ${JSON.stringify(r.checks)}`);
  assert.equal(c.code, code);
}

export const GATE_ROWS: Row[] = [
  row({
    id: 'G-01', area: 'Gate', what: 'the Hash Envelope evidence given as the artifact (its digest is what the statement signs)', entry: cli('verify'),
    input: 'hash envelope about pkg:generic/app-1.0.tgz?checksum=sha256:<app>, signing sha256(sbom.json); --artifact sbom.json',
    build: async () => ({
      args: [...verifyArgs('t.scitt'), '--artifact', 'sbom.json'],
      files: { ...baseFiles(), 'sbom.json': SBOM, 't.scitt': await registered(await statementAbout(genericPurl('app-1.0.tgz', APP_SHA), { hashEnvelope: true })) },
    }),
    expect: { exit: 1, code: 'ERR_SUBJECT_MISMATCH' },
  }),
  row({
    id: 'G-02', area: 'Gate', what: 'library: artifactSha256 equal to the evidence digest of a statement whose sub pins nothing', entry: core('verifyTransparent', (i: Uint8Array) => verifyTransparent(i, { ...policy(), artifactSha256: hex(sha256(SBOM)) })),
    input: 'hash envelope, sub pkg:generic/app@1.0.0 (no digest), artifactSha256 = sha256(evidence)',
    build: async () => registered(await statementAbout('pkg:generic/app@1.0.0', { hashEnvelope: true })),
    expect: { ok: true },
    check: (o) => failing(o, 'artifact', 'ERR_SUBJECT_MISMATCH'),
  }),
  row({
    id: 'G-03', area: 'Gate', what: 'required provenance whose own in-toto subjects name other bytes', entry: core('runGate', (i: Uint8Array) => runGate([{ name: 'app-1.0.tgz', sha256: APP_SHA }], async () => ({ statements: [{ bytes: i, location: 'prov.scitt' }] }), { ...policy(), require: ['provenance'] })),
    input: 'statement about sub …checksum=sha256:<app>, embedded SLSA provenance whose subject is sha256:<other>; require provenance',
    build: async () => registered(await statementAbout(genericPurl('app-1.0.tgz', APP_SHA), { payload: provenance(OTHER_SHA), contentType: 'application/vnd.in-toto+json' })),
    expect: { ok: true },
    check: (o) => {
      const report = (o as { value: { ok: boolean; artifacts: { evidence: string[]; problems: string[] }[] } }).value;
      assert.equal(report.ok, false, 'provenance about other bytes must not satisfy require');
      assert.deepEqual(report.artifacts[0]!.evidence, []);
      assert.match(report.artifacts[0]!.problems.join('\n'), /required provenance evidence is missing .*not about it .*different bytes/);
    },
  }),
  row({
    id: 'G-04', area: 'Gate', what: '--require with a single FILE and no artifact (was silently ignored)', entry: cli('verify'),
    input: 'verify t.scitt --require sbom,provenance (no --artifact)',
    build: async () => ({ args: [...verifyArgs('t.scitt'), '--require', 'sbom,provenance'], files: { ...baseFiles(), 't.scitt': await registered(await statementAbout(genericPurl('app-1.0.tgz', APP_SHA))) } }),
    expect: { exit: 2, code: 'ERR_USAGE' },
  }),
  row({
    id: 'G-05', area: 'Gate', what: '--require provenance with a single FILE that is an SBOM statement', entry: cli('verify'),
    input: 'verify t.scitt --artifact app-1.0.tgz --require provenance; t.scitt carries a CycloneDX SBOM',
    build: async () => ({ args: [...verifyArgs('t.scitt'), '--artifact', 'app-1.0.tgz', '--require', 'provenance'], files: { ...baseFiles(), 't.scitt': await registered(await statementAbout(genericPurl('app-1.0.tgz', APP_SHA))) } }),
    expect: { exit: 1 },
    check: (o) => assert.match((o as { stdout: string }).stdout, /required provenance evidence is missing/),
  }),
  row({
    id: 'G-06', area: 'Gate', what: 'package URL with the checksum qualifier twice (a purl parser keeps the last)', entry: cli('verify'),
    input: 'sub pkg:generic/app-1.0.tgz?checksum=sha256:<other>&checksum=sha256:<app>; --artifact app-1.0.tgz',
    build: async () => ({ args: [...verifyArgs('t.scitt'), '--artifact', 'app-1.0.tgz'], files: { ...baseFiles(), 't.scitt': await registered(await statementAbout(`pkg:generic/app-1.0.tgz?checksum=sha256:${OTHER_SHA}&checksum=sha256:${APP_SHA}`)) } }),
    expect: { exit: 1, code: 'ERR_SUBJECT_INVALID' },
  }),
  row({
    id: 'G-07', area: 'Gate', what: 'issuing a statement whose package URL pins two digests (checksum in another case)', entry: core('createSignedStatement', (sub: string) => createSignedStatement({ payload: SBOM, signer: issuer.signer, kid: issuer.kid, iss: ISS, sub })),
    input: 'sub pkg:generic/app-1.0.tgz?checksum=sha256:<other>&CHECKSUM=sha256:<app>',
    build: () => `pkg:generic/app-1.0.tgz?checksum=sha256:${OTHER_SHA}&CHECKSUM=sha256:${APP_SHA}`,
    expect: { code: 'ERR_SUBJECT_INVALID' },
  }),
  row({
    id: 'G-08', area: 'Gate', what: 'discovery: pkg:oci version digest plus a checksum of another algorithm', entry: core('FileStatementStore.discover', async (i: { dir: string; bytes: Uint8Array }) => {
      writeFileSync(join(i.dir, 'app.scitt'), i.bytes);
      return new FileStatementStore({ directory: i.dir }).discover(artifactRef('app', APP_SHA));
    }),
    input: `sub pkg:oci/app@sha256:<app>?checksum=sha512:<128 hex>, beside the artifact`,
    build: async (ctx) => {
      const sub = `${ociPurl({ registry: 'ghcr.io', repository: 'acme/app', digest: { algorithm: 'sha256', hex: APP_SHA } } as never)}&checksum=sha512:${'c'.repeat(128)}`;
      return { dir: ctx.dir, bytes: await registered(await statementAbout(sub)) };
    },
    expect: { ok: true },
    check: (o) => {
      const found = (o as { value: { statements: unknown[]; skipped: { reason: string }[] } }).value;
      assert.equal(found.statements.length, 0, 'an ambiguous subject is never discovered as about the artifact');
    },
  }),
  row({
    id: 'G-09', area: 'Gate', what: '--min-receipts 2 met by two keys of one service (a key file is one service)', entry: cli('verify'),
    input: 'keys.cbor holds 2 keys (a service and its rotated key); receipts by both; --min-receipts 2',
    build: async () => ({
      args: [...verifyArgs('t.scitt'), '--min-receipts', '2'],
      files: { ...baseFiles(), 'keys.cbor': encodeKeySet([service.pub, service2.pub]), 't.scitt': await registered(await statementAbout(genericPurl('app-1.0.tgz', APP_SHA)), [service, service2]) },
    }),
    expect: { exit: 1, code: 'ERR_RECEIPT_POLICY' },
  }),
  row({
    id: 'G-10', area: 'Gate', what: 'a services file naming two services meets --min-receipts 2 (control for G-09)', entry: cli('verify'),
    input: 'services.json {"services": {"ts-a": JWKS, "ts-b": PEM}}; receipts by both; --min-receipts 2',
    build: async () => ({
      args: ['verify', 't.scitt', '--ts-keys', 'services.json', '--issuer-key', 'issuer.pub.pem', '--min-receipts', '2'],
      files: {
        ...baseFiles(),
        'services.json': JSON.stringify({ services: { 'ts-a': { keys: [toJwk(service.pub)] }, 'ts-b': toPem(service2.pub) } }),
        't.scitt': await registered(await statementAbout(genericPurl('app-1.0.tgz', APP_SHA)), [service, service2]),
      },
    }),
    expect: { exit: 0 },
  }),
  row({
    id: 'G-11', area: 'Gate', what: 'library: one key under two kids counts as one service', entry: core('verifyTransparentStatement', (i: Uint8Array) => verifyTransparentStatement(i, { trustedKeys: new TrustedKeys([trustedKey(service.pub), trustedKey(service.pub, { kid: text('rotated-alias') })]), policy: { minServices: 2 } })),
    input: 'TrustedKeys: the same key by thumbprint and as kid "rotated-alias"; receipts under both kids; minServices 2',
    build: async () => {
      const statement = await statementAbout(genericPurl('app-1.0.tgz', APP_SHA));
      const first = (await receiptFor(statement)).receipt;
      const alias = (await receiptFor(statement, { by: { ...service, kid: text('rotated-alias') } })).receipt;
      return transparent(statement, [first, alias]);
    },
    expect: { ok: true },
    check: (o) => {
      const r = (o as { value: { ok: boolean; verifiedServices: string[] } }).value;
      assert.equal(r.ok, false, 'one key must not count as two services');
      assert.equal(r.verifiedServices.length, 1);
    },
  }),
  row({
    id: 'G-12', area: 'Gate', what: 'the same key named as two services (two --ts-keys)', entry: cli('verify'),
    input: '--ts-keys a.pem --ts-keys b.jwk, both the service key (b under kid "rotated-alias"); --min-receipts 2',
    build: async () => {
      const statement = await statementAbout(genericPurl('app-1.0.tgz', APP_SHA));
      const alias = (await receiptFor(statement, { by: { ...service, kid: text('rotated-alias') } })).receipt;
      return {
        args: ['verify', 't.scitt', '--ts-keys', 'a.pem', '--ts-keys', 'b.jwk', '--issuer-key', 'issuer.pub.pem', '--min-receipts', '2'],
        files: { ...baseFiles(), 'a.pem': toPem(service.pub), 'b.jwk': JSON.stringify({ ...toJwk(service.pub), kid: 'rotated-alias' }), 't.scitt': await transparent(statement, [(await receiptFor(statement)).receipt, alias]) },
      };
    },
    expect: { exit: 2, code: 'ERR_KEY_INVALID' },
  }),
  row({
    id: 'G-13', area: 'Gate', what: '--hosted-runners-only with no keyless identity to narrow (was ignored)', entry: cli('verify'),
    input: 'verify t.scitt --issuer-key … --hosted-runners-only --source-ref refs/tags/v1',
    build: async () => ({ args: [...verifyArgs('t.scitt'), '--hosted-runners-only', '--source-ref', 'refs/tags/v1'], files: { ...baseFiles(), 't.scitt': await registered(await statementAbout(genericPurl('app-1.0.tgz', APP_SHA))) } }),
    expect: { exit: 2, code: 'ERR_USAGE' },
  }),
  row({
    id: 'G-14', area: 'Gate', what: 'gate mode with --evidence (was ignored) and --receipts-only with an issuer key', entry: cli('verify'),
    input: 'verify --artifact app-1.0.tgz --evidence x.json (statement beside the artifact)',
    build: async () => ({ args: ['verify', '--artifact', 'app-1.0.tgz', '--evidence', 'sbom.json', '--ts-keys', 'keys.cbor', '--issuer-key', 'issuer.pub.pem'], files: { ...baseFiles(), 'sbom.json': SBOM, 'app-1.0.tgz.scitt': await registered(await statementAbout(genericPurl('app-1.0.tgz', APP_SHA))) } }),
    expect: { exit: 2, code: 'ERR_USAGE' },
    check: async (_o, ctx) => {
      const r = await scitt([...verifyArgs('app-1.0.tgz.scitt'), '--receipts-only'], ctx.dir);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /receipts-only does not check the issuer.*\[ERR_USAGE\]/);
    },
  }),
  row({
    id: 'G-15', area: 'Gate', what: '--require naming an unknown evidence kind', entry: cli('verify'),
    input: 'verify --artifact app-1.0.tgz --require sbom,provenanse',
    build: async () => ({ args: ['verify', '--artifact', 'app-1.0.tgz', '--require', 'sbom,provenanse', '--ts-keys', 'keys.cbor', '--issuer-key', 'issuer.pub.pem'], files: { ...baseFiles(), 'app-1.0.tgz.scitt': await registered(await statementAbout(genericPurl('app-1.0.tgz', APP_SHA))) } }),
    expect: { exit: 2, code: 'ERR_USAGE' },
  }),
  row({
    id: 'G-16', area: 'Gate', what: 'two files with the same name in two directories are each gated beside themselves', entry: cli('verify'),
    input: 'verify --artifact a/app-1.0.tgz --artifact b/app-1.0.tgz (same bytes); statements only in a/',
    build: async (ctx) => {
      const { mkdirSync } = await import('node:fs');
      for (const d of ['a', 'b']) mkdirSync(join(ctx.dir, d));
      return { args: ['verify', '--artifact', 'a/app-1.0.tgz', '--artifact', 'b/app-1.0.tgz', '--ts-keys', 'keys.cbor', '--issuer-key', 'issuer.pub.pem'], files: { ...baseFiles(), 'a/app-1.0.tgz': APP, 'b/app-1.0.tgz': APP, 'a/app-1.0.tgz.scitt': await registered(await statementAbout(genericPurl('app-1.0.tgz', APP_SHA))) } };
    },
    expect: { exit: 1 },
    check: (o) => assert.match((o as { stdout: string }).stdout, /FAIL {2}app-1\.0\.tgz[\s\S]*no Transparent Statement found/),
  }),
];
