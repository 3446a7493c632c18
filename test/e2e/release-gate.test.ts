/**
 * The full release chain through the bundled actions, as a workflow runs them: issue-statement
 * (SBOM + provenance, keyless) → register → attach-receipt → verify-gate against `scitt serve`.
 * Then the gate must refuse, with the right annotation, each way a release can be wrong.
 */
import { cpSync, mkdtempSync, writeFileSync, appendFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FulcioServer, startFulcioServer } from '../../packages/core/test/helpers/identity-fulcio-server.ts';
import { GITHUB_OIDC_ISSUER, type GitHubRun, type OidcServer, startOidcServer } from '../../packages/core/test/helpers/oidc-server.ts';
import { REPO_ROOT, runBundledAction, runCompositeAction } from '../helpers/action-runner.ts';
import { type ServiceProcess, startService } from '../helpers/transparency-service.ts';

const release: GitHubRun = { repository: 'acme/app', workflowPath: '.github/workflows/release.yml', ref: 'refs/tags/v1.0.0', eventName: 'push', runnerEnvironment: 'github-hosted' };

describe('release chain: issue → register → attach → gate', () => {
  let oidc: OidcServer;
  let fulcio: FulcioServer;
  let ts: ServiceProcess;
  let otherTs: ServiceProcess;
  let prTs: ServiceProcess;
  let policyDir: string;

  beforeAll(async () => {
    oidc = await startOidcServer(release);
    fulcio = await startFulcioServer({ oidcIssuer: GITHUB_OIDC_ISSUER, oidcPublicKey: oidc.publicKey });
    policyDir = mkdtempSync(join(tmpdir(), 'policy-'));
    writeFileSync(join(policyDir, 'root.pem'), fulcio.anchorsPem);
    // the service admits any workflow of the owner; the gate is stricter (one repository)
    writeFileSync(join(policyDir, 'policy.json'), JSON.stringify({ issuers: [], x509: { roots: [fulcio.anchorsPem], identity: { owner: 'acme' } } }));
    ts = await startService({ args: ['--policy', join(policyDir, 'policy.json')] });
    otherTs = await startService({ args: ['--policy', join(policyDir, 'policy.json')] });
    writeFileSync(join(policyDir, 'pr-policy.json'), JSON.stringify({ issuers: [], x509: { roots: [fulcio.anchorsPem], identity: { owner: 'acme', allowPullRequests: true } } }));
    prTs = await startService({ args: ['--policy', join(policyDir, 'pr-policy.json')] });
  });
  afterAll(async () => {
    await ts.stop();
    await otherTs.stop();
    await prTs.stop();
    await fulcio.close();
    await oidc.close();
  });

  /** A workspace with a built artifact, then the issue → register → attach steps. */
  async function build(o: { run?: GitHubRun; sbom?: boolean; service?: ServiceProcess; register?: boolean } = {}): Promise<string> {
    const ws = mkdtempSync(join(tmpdir(), 'release-'));
    writeFileSync(join(ws, 'fulcio-root.pem'), fulcio.anchorsPem);
    writeFileSync(join(ws, 'app-1.0.0.tgz'), `release artifact ${Math.random()}\n`);
    cpSync(join(REPO_ROOT, 'test/fixtures/sample-sbom.cdx.json'), join(ws, 'sbom.cdx.json'));
    oidc.run = o.run ?? release;
    const issue = await runBundledAction(
      'issue-statement',
      { 'subject-path': 'app-1.0.0.tgz', ...(o.sbom === false ? {} : { 'evidence-path': 'sbom.cdx.json' }), 'generate-provenance': 'true', 'fulcio-url': fulcio.url, 'x509-roots': 'fulcio-root.pem', 'output-dir': 'scitt' },
      { workspace: ws, env: oidc.env },
    );
    expect(issue.code, issue.stdout).toBe(0);
    if (o.register === false) return ws;
    const reg = await runBundledAction('register', { 'statement-path': issue.outputs['statement-paths']!, 'transparency-service': (o.service ?? ts).url }, { workspace: ws });
    expect(reg.code, reg.stdout).toBe(0);
    const attach = await runBundledAction('attach-receipt', { 'statement-path': reg.outputs['transparent-statement-paths']!, 'subject-path': 'app-1.0.0.tgz', target: 'files' }, { workspace: ws });
    expect(attach.code, attach.stdout).toBe(0);
    return ws;
  }

  const gate = (ws: string, extra: Record<string, string> = {}) =>
    runBundledAction(
      'verify-gate',
      { 'subject-path': 'app-1.0.0.tgz', 'transparency-service-keys': ts.url, require: 'sbom,provenance', repo: 'acme/app', 'signer-workflow': 'acme/app/.github/workflows/release.yml', 'hosted-runners-only': 'true', 'x509-roots': 'fulcio-root.pem', ...extra },
      { workspace: ws },
    );

  it('passes: every artifact has verified SBOM and provenance statements; outputs, report and summary say so', async () => {
    const ws = await build();
    const r = await gate(ws);
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.verified).toBe('true');
    const report = JSON.parse((await import('node:fs')).readFileSync(r.outputs['report-path']!, 'utf8'));
    expect(report.artifacts[0].evidence.sort()).toEqual(['provenance', 'sbom']);
    expect(r.summary).toMatch(/release gate: passed/);
    expect(r.summary).toMatch(/✅ verified/);
    expect(r.errors).toEqual([]);
  });

  /** what is wrong, how to build it, the annotation, and which service's keys the gate trusts (default: ts) */
  const refusals: [string, () => Promise<string>, RegExp, (() => ServiceProcess)?][] = [
    ['the artifact changed after signing', async () => {
      const ws = await build();
      appendFileSync(join(ws, 'app-1.0.0.tgz'), 'backdoor');
      return ws;
    }, /no Transparent Statement found for app-1\.0\.0\.tgz/],
    ['a missing SBOM when required', () => build({ sbom: false }), /required sbom evidence is missing/],
    ['a receipt from an untrusted service', () => build({ service: otherTs }), /none of the .* statement\(s\) for app-1\.0\.0\.tgz verifies: receipts/],
    ["a statement by a different repository's workflow", () => build({ run: { ...release, repository: 'acme/other' } }), /none of the .* verifies: issuer: .*repo/],
    ['another workflow of the same repository', () => build({ run: { ...release, workflowPath: '.github/workflows/nightly.yml' } }), /issuer: .*signerWorkflow/],
    ['a self-hosted runner when hosted runners are required', () => build({ run: { ...release, runnerEnvironment: 'self-hosted' } }), /issuer: .*self-hosted/],
    // the default service policy already refuses pull-request identities; this one admits them, so the gate must refuse
    ["a fork's pull request run", () => build({ run: { ...release, eventName: 'pull_request', ref: 'refs/pull/7/merge' }, service: prTs }), /issuer: .*pull/i, () => prTs],
    ['no receipt at all', async () => {
      const ws = await build({ register: false });
      // the signed statements are put beside the artifact as if they were transparent
      cpSync(join(ws, 'scitt/app-1.0.0.tgz.sbom.cose'), join(ws, 'app-1.0.0.tgz.scitt'));
      return ws;
    }, /no Transparent Statement found for app-1\.0\.0\.tgz \(skipped: .*receipt/i],
  ];
  for (const [what, setup, annotation, service] of refusals) {
    it(`refuses: ${what}`, async () => {
      const ws = await setup();
      const r = await gate(ws, service ? { 'transparency-service-keys': service().url } : {});
      expect(r.code).toBe(1);
      expect(r.outputs.verified).toBe('false');
      expect(r.errors.join('\n')).toMatch(annotation);
      expect(r.summary).toMatch(/refused/);
      rmSync(ws, { recursive: true, force: true });
    });
  }

  it('audit mode reports the same refusal as a warning and does not fail the job', async () => {
    const ws = await build({ sbom: false });
    const r = await gate(ws, { mode: 'audit' });
    expect(r.code).toBe(0);
    expect(r.outputs.verified).toBe('false');
    expect(r.warnings.join('\n')).toMatch(/required sbom evidence is missing/);
    expect(r.summary).toMatch(/would refuse/);
  });
});

describe('the composite action: issue → register → attach → gate in one step', () => {
  it('runs the four bundled actions in order and exposes verified, statements and the report', async () => {
    const oidc = await startOidcServer(release);
    const fulcio = await startFulcioServer({ oidcIssuer: GITHUB_OIDC_ISSUER, oidcPublicKey: oidc.publicKey });
    const ws = mkdtempSync(join(tmpdir(), 'composite-'));
    writeFileSync(join(ws, 'root.pem'), fulcio.anchorsPem);
    writeFileSync(join(ws, 'policy.json'), JSON.stringify({ issuers: [], x509: { roots: [fulcio.anchorsPem], identity: { repo: 'acme/app' } } }));
    const ts = await startService({ args: ['--policy', join(ws, 'policy.json')] });
    try {
      writeFileSync(join(ws, 'app.tgz'), 'composite release\n');
      cpSync(join(REPO_ROOT, 'test/fixtures/sample-sbom.cdx.json'), join(ws, 'sbom.cdx.json'));
      const r = await runCompositeAction(
        'release',
        { 'subject-path': 'app.tgz', 'evidence-path': 'sbom.cdx.json', 'transparency-service': ts.url, 'fulcio-url': fulcio.url, 'x509-roots': 'root.pem' },
        { workspace: ws, env: oidc.env },
      );
      expect(r.code, r.stdout).toBe(0);
      expect(Object.keys(r.steps)).toEqual(['issue', 'register', 'attach', 'gate']);
      expect(r.outputs.verified).toBe('true');
      expect(r.outputs['statement-paths']!.split('\n')).toHaveLength(2);
      expect(r.summary).toMatch(/release gate: passed/);
    } finally {
      await ts.stop();
      await fulcio.close();
      await oidc.close();
    }
  });
});
