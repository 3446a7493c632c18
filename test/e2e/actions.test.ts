/**
 * The bundled actions run as GitHub runs them (child node process, INPUT_*, GITHUB_OUTPUT, the
 * step summary), against `scitt serve` and, for keyless, a runner-shaped OIDC endpoint and a loopback
 * Fulcio. Outputs are read back from the files, as the next step would.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey, publicKey, toPem } from '@scitt-actions/core';
import { subjectSha256 } from '@scitt-actions/core/payload';
import { parseSignedStatement } from '@scitt-actions/core/statement';
import { type FulcioServer, startFulcioServer } from '../../packages/core/test/helpers/identity-fulcio-server.ts';
import { GITHUB_OIDC_ISSUER, type OidcServer, startOidcServer } from '../../packages/core/test/helpers/oidc-server.ts';
import { REPO_ROOT, runBundledAction } from '../helpers/action-runner.ts';
import { type ServiceProcess, startService } from '../helpers/transparency-service.ts';

const issuerKey = generateKey('P-256');

describe('actions: issue-statement and register, as the runner runs them', () => {
  const ws = mkdtempSync(join(tmpdir(), 'workspace-'));
  let ts: ServiceProcess;
  let oidc: OidcServer;
  let fulcio: FulcioServer;
  let appDigest: string;

  beforeAll(async () => {
    oidc = await startOidcServer({ repository: 'acme/app', workflowPath: '.github/workflows/release.yml', ref: 'refs/tags/v1.0.0' });
    fulcio = await startFulcioServer({ oidcIssuer: GITHUB_OIDC_ISSUER, oidcPublicKey: oidc.publicKey });
    writeFileSync(join(ws, 'fulcio-root.pem'), fulcio.anchorsPem);
    writeFileSync(join(ws, 'policy.json'), JSON.stringify({ issuers: [{ name: 'release key', key: toPem(publicKey(issuerKey)) }], x509: { roots: [fulcio.anchorsPem], identity: { repo: 'acme/app' } } }));
    ts = await startService({ args: ['--policy', join(ws, 'policy.json')] });
    writeFileSync(join(ws, 'app-1.0.0.tar'), 'the release artifact\n');
    appDigest = createHash('sha256').update(readFileSync(join(ws, 'app-1.0.0.tar'))).digest('hex');
    cpSync(join(REPO_ROOT, 'test/fixtures/sample-sbom.cdx.json'), join(ws, 'sbom.cdx.json'));
  });
  afterAll(async () => {
    await ts.stop();
    await fulcio.close();
    await oidc.close();
  });

  it('issue-statement (keyless): SBOM + generated provenance; outputs name the statements, SCAI references and digests', async () => {
    const r = await runBundledAction(
      'issue-statement',
      { 'subject-path': 'app-*.tar', 'evidence-path': 'sbom.cdx.json', 'generate-provenance': 'true', 'fulcio-url': fulcio.url, 'x509-roots': 'fulcio-root.pem', 'output-dir': 'scitt' },
      { workspace: ws, env: oidc.env },
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const paths = r.outputs['statement-paths']!.split('\n');
    expect(paths).toEqual(['scitt/app-1.0.0.tar.sbom.cose', 'scitt/app-1.0.0.tar.provenance.cose']);
    for (const p of paths) {
      const s = parseSignedStatement(readFileSync(join(ws, p)));
      expect(s.sub).toMatch(/^pkg:generic\/app-1\.0\.0\.tar\?checksum=sha256/);
      expect(subjectSha256(s.sub)).toBe(appDigest);
      expect(s.iss).toMatch(/^did:x509:/);
      expect(s.hashEnvelope).toBeDefined(); // SBOM and provenance default to hash envelopes
    }
    const scai = JSON.parse(r.outputs['scai-references']!);
    expect(scai.map((x: { objectType: string }) => x.objectType)).toContain('application/vnd.cyclonedx+json');
    expect(JSON.parse(r.outputs['subject-digests']!)).toEqual([{ name: 'app-1.0.0.tar', digest: `sha256:${appDigest}` }]);
    expect(r.summary).toMatch(/SCITT statements issued/);
    // cells are escaped as character references (they quote statements); read as GitHub renders them
    expect(r.summary.replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)))).toMatch(/sbom \(hash-envelope\)/);
  });

  it('register: receipts, entry ids and transparent statements as outputs; the token is masked', async () => {
    const r = await runBundledAction('register', { 'statement-path': 'scitt/*.cose', 'transparency-service': ts.url, token: 'not-required-but-secret' }, { workspace: ws });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/::add-mask::not-required-but-secret/);
    expect(r.outputs['entry-ids']!.split('\n')).toHaveLength(2);
    expect(r.outputs['transparent-statement-paths']!.split('\n')).toEqual([join(ws, 'scitt/app-1.0.0.tar.provenance.scitt'), join(ws, 'scitt/app-1.0.0.tar.sbom.scitt')]);
    expect(parseSignedStatement(readFileSync(join(ws, 'scitt/app-1.0.0.tar.sbom.scitt'))).receipts).toHaveLength(1);
    expect(r.summary).toMatch(/receipted/);
  });

  it('issue-statement with a key from a secret: the key is masked', async () => {
    const pem = toPem(issuerKey, { includePrivate: true });
    const r = await runBundledAction('issue-statement', { 'subject-path': 'app-1.0.0.tar', 'evidence-path': 'sbom.cdx.json', signing: 'key', 'signing-key': pem, issuer: 'https://acme.example/releases', 'output-dir': 'keyed' }, { workspace: ws });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/::add-mask::/);
    // the runner consumes ::add-mask:: commands; nothing else may carry the key
    expect(r.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n')).not.toMatch(/PRIVATE KEY|[A-Za-z0-9+/]{40}/);
    expect(parseSignedStatement(readFileSync(join(ws, 'keyed/app-1.0.0.tar.sbom.cose'))).iss).toBe('https://acme.example/releases');
  });

  it('issue-statement validates a CycloneDX XML SBOM against its XSD inside the bundle (xmllint-wasm beside it)', async () => {
    cpSync(join(REPO_ROOT, 'packages/core/test/fixtures/payload/cyclonedx/core.cdx-1.6.xml'), join(ws, 'bom.cdx.xml'));
    const inputs = { 'subject-path': 'app-1.0.0.tar', signing: 'key', 'signing-key': toPem(issuerKey, { includePrivate: true }), issuer: 'https://acme.example/releases' };
    const ok = await runBundledAction('issue-statement', { ...inputs, 'evidence-path': 'bom.cdx.xml', 'output-dir': 'xml' }, { workspace: ws });
    expect(ok.code, ok.stdout).toBe(0);
    expect(parseSignedStatement(readFileSync(join(ws, 'xml/app-1.0.0.tar.sbom.cose'))).hashEnvelope?.preimageContentType).toBe('application/vnd.cyclonedx+xml');
    writeFileSync(join(ws, 'bad.cdx.xml'), readFileSync(join(ws, 'bom.cdx.xml'), 'utf8').replace('</components>', '<component type="library"><name>x</name><bogus/></component></components>'));
    const bad = await runBundledAction('issue-statement', { ...inputs, 'evidence-path': 'bad.cdx.xml', 'output-dir': 'xml-bad' }, { workspace: ws });
    expect(bad.code).toBe(1);
    expect(bad.errors[0]).toMatch(/not a valid CycloneDX 1\.6 XML document .*bogus/);
  });

  const failures: [string, string, Record<string, string>, RegExp][] = [
    ['a glob matching nothing', 'issue-statement', { 'subject-path': 'nothing-*.zip', 'evidence-path': 'sbom.cdx.json', signing: 'key', 'signing-key': 'x' }, /matches no files/],
    ['a missing evidence file', 'issue-statement', { 'subject-path': 'app-1.0.0.tar', 'evidence-path': 'missing.json', signing: 'key', 'signing-key': toPem(issuerKey, { includePrivate: true }), issuer: 'https://e.x' }, /missing\.json/],
    ['a malformed key', 'issue-statement', { 'subject-path': 'app-1.0.0.tar', 'evidence-path': 'sbom.cdx.json', signing: 'key', 'signing-key': 'not a key', issuer: 'https://e.x' }, /key/i],
    ['keyless without id-token permission', 'issue-statement', { 'subject-path': 'app-1.0.0.tar', 'evidence-path': 'sbom.cdx.json' }, /id-token: write/],
    ['contradictory inputs', 'issue-statement', { 'subject-digest': `sha256:${'a'.repeat(64)}`, 'evidence-path': 'sbom.cdx.json' }, /subject-digest and subject-name go together/],
    ['an unreachable service', 'register', { 'statement-path': 'keyed/*.cose', 'transparency-service': 'http://127.0.0.1:9', timeout: '5' }, /Transparency Service/],
  ];
  for (const [what, action, inputs, message] of failures) {
    it(`${action} fails with one clear annotation, no stack trace: ${what}`, async () => {
      const r = await runBundledAction(action, inputs, { workspace: ws });
      expect(r.code).toBe(1);
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]).toMatch(message);
      expect(r.stdout + r.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
    }, 60_000);
  }
});
