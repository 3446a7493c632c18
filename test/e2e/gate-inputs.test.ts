/**
 * verify-gate, run as a runner runs it, given combinations of artifacts and inputs: every artifact
 * named is gated (files, a release's assets, an image's referrers, together), an input that cannot
 * apply is refused, and one service named twice is still one service for min-receipts. Real parts:
 * the embedded Transparency Service, Debian's docker-registry, a loopback GitHub REST double.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey, publicKey, toPem } from '@scitt-actions/core';
import { type GitHubServer, startGitHubServer } from '../../packages/core/test/helpers/storage-github-server.ts';
import { type RegistryProcess, pushTestImage, startRegistry } from '../../packages/core/test/helpers/storage-registry.ts';
import { REPO_ROOT, runBundledAction } from '../helpers/action-runner.ts';
import { type ServiceProcess, startService } from '../helpers/transparency-service.ts';

const key = generateKey('P-256');

describe('verify-gate: every artifact named is gated, nothing is ignored', () => {
  let ts: ServiceProcess;
  let gh: GitHubServer;
  let registry: RegistryProcess;
  let image: string;
  const keyInputs = { signing: 'key', 'signing-key': toPem(key, { includePrivate: true }), issuer: 'https://acme.example/releases' };
  const trust = () => ({ 'transparency-service-keys': ts.url, 'issuer-key': toPem(publicKey(key)) });

  /** issue (SBOM) → register in a fresh workspace holding app-1.0.0.tgz; returns it with the transparent statement paths. */
  async function issued(subject: Record<string, string>, ws = mkdtempSync(join(tmpdir(), 'gate-inputs-'))): Promise<{ ws: string; transparent: string }> {
    writeFileSync(join(ws, 'app-1.0.0.tgz'), `release ${Math.random()}\n`);
    cpSync(join(REPO_ROOT, 'test/fixtures/sample-sbom.cdx.json'), join(ws, 'sbom.cdx.json'));
    const issue = await runBundledAction('issue-statement', { ...subject, 'evidence-path': 'sbom.cdx.json', ...keyInputs, 'output-dir': 'scitt' }, { workspace: ws });
    expect(issue.code, issue.stdout).toBe(0);
    const reg = await runBundledAction('register', { 'statement-path': issue.outputs['statement-paths']!, 'transparency-service': ts.url }, { workspace: ws });
    expect(reg.code, reg.stdout).toBe(0);
    return { ws, transparent: reg.outputs['transparent-statement-paths']! };
  }

  /** a workspace whose app-1.0.0.tgz has its statements beside it */
  async function goodFile(): Promise<string> {
    const { ws, transparent } = await issued({ 'subject-path': 'app-1.0.0.tgz' });
    const attach = await runBundledAction('attach-receipt', { 'statement-path': transparent, 'subject-path': 'app-1.0.0.tgz', target: 'files' }, { workspace: ws });
    expect(attach.code, attach.stdout).toBe(0);
    return ws;
  }

  beforeAll(async () => {
    ts = await startService({ issuers: [publicKey(key)] });
    gh = await startGitHubServer({ owner: 'acme', repo: 'app' });
    registry = await startRegistry();
    // an image whose statements are attached as referrers: it passes the gate on its own
    const pushed = await pushTestImage(registry.url, 'acme/app', 'v1.0.0');
    image = `${registry.host}/acme/app@${pushed.digest}`;
    const { ws, transparent } = await issued({ 'subject-name': 'acme/app', 'subject-digest': pushed.digest });
    const attach = await runBundledAction('attach-receipt', { 'statement-path': transparent, target: 'oci', image }, { workspace: ws });
    expect(attach.code, attach.stdout).toBe(0);
  }, 240_000);
  afterAll(async () => {
    await ts.stop();
    await gh.close();
    await registry.stop();
  });

  it('the image alone passes (control)', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'gate-inputs-'));
    const r = await runBundledAction('verify-gate', { image, ...trust(), require: 'sbom' }, { workspace: ws });
    expect(r.code, r.stdout).toBe(0);
  });

  it('subject-path with image: the file is gated too, and refused when it has no statement (was dropped: green)', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'gate-inputs-'));
    writeFileSync(join(ws, 'unsigned.tgz'), 'never issued\n');
    const r = await runBundledAction('verify-gate', { 'subject-path': 'unsigned.tgz', image, ...trust(), require: 'sbom' }, { workspace: ws });
    expect(r.code).toBe(1);
    expect(r.errors.join('\n')).toMatch(/no Transparent Statement found for unsigned\.tgz/);
    const report = JSON.parse(readFileSync(r.outputs['report-path']!, 'utf8'));
    const verdicts = report.artifacts.map((a: { artifact: { name: string }; ok: boolean }) => [a.artifact.name, a.ok]);
    expect(verdicts).toHaveLength(2);
    expect(verdicts[0]).toEqual(['unsigned.tgz', false]);
    expect(verdicts[1][0]).toMatch(/acme\/app$/);
    expect(verdicts[1][1]).toBe(true);
  });

  it('release-tag with subject-path and an image without statements: the image is gated too (was ignored: green)', async () => {
    gh.addRelease('v2.0.0');
    const { ws, transparent } = await issued({ 'subject-path': 'app-1.0.0.tgz' });
    gh.addAsset('v2.0.0', 'app-1.0.0.tgz', readFileSync(join(ws, 'app-1.0.0.tgz')));
    const env = { GITHUB_API_URL: gh.apiUrl };
    const attach = await runBundledAction('attach-receipt', { 'statement-path': transparent, target: 'release', 'release-tag': 'v2.0.0', 'github-token': gh.token }, { workspace: ws, env });
    expect(attach.code, attach.stdout).toBe(0);
    const bare = await pushTestImage(registry.url, 'acme/bare', 'v2');
    const inputs = { 'subject-path': 'app-1.0.0.tgz', 'release-tag': 'v2.0.0', 'github-token': gh.token, ...trust(), require: 'sbom' };
    const files = await runBundledAction('verify-gate', inputs, { workspace: ws, env });
    expect(files.code, files.stdout).toBe(0);
    const both = await runBundledAction('verify-gate', { ...inputs, image: `${registry.host}/acme/bare@${bare.digest}` }, { workspace: ws, env });
    expect(both.code).toBe(1);
    expect(both.errors.join('\n')).toMatch(/no Transparent Statement found for \S*acme\/bare/);
  });

  it('one Transparency Service named twice (its URL spelled two ways) is one service for min-receipts', async () => {
    const ws = await goodFile();
    const r = await runBundledAction('verify-gate', { 'subject-path': 'app-1.0.0.tgz', ...trust(), 'transparency-service-keys': `${ts.url}\n${ts.url}/`, 'min-receipts': '2' }, { workspace: ws });
    expect(r.code).toBe(1);
    expect(r.errors.join('\n')).toMatch(/1 trusted service verified of 2 required/);
  });

  /** inputs that cannot apply: each is refused with one clear annotation, never ignored */
  const refused: [string, Record<string, string>, RegExp][] = [
    ['hosted-runners-only without a keyless identity', { 'hosted-runners-only': 'true' }, /hosted-runners-only narrow a keyless identity/],
    ['source-ref without a keyless identity', { 'source-ref': 'refs/tags/v1.0.0' }, /source-ref narrow a keyless identity/],
    ['release-tag naming no artifact to look for', { 'subject-path': '', 'release-tag': 'v1.0.0' }, /name what is about to be released/],
    ['github-token without a release', { 'github-token': 'ghs_x' }, /github-token reads a release/],
    ['min-receipts that is no whole number', { 'min-receipts': '1.5' }, /min-receipts must be a whole number/],
    ['an unknown evidence kind', { require: 'sbom,provenanse' }, /unknown evidence kinds provenanse/],
  ];
  let good: Promise<string> | undefined;
  it('the file with its statements beside it passes (control for the refusals below)', async () => {
    const ws = await (good ??= goodFile());
    const ok = await runBundledAction('verify-gate', { 'subject-path': 'app-1.0.0.tgz', ...trust() }, { workspace: ws });
    expect(ok.code, ok.stdout).toBe(0);
  });
  for (const [what, extra, annotation] of refused) {
    it(`refuses ${what} as an input error`, async () => {
      const ws = await (good ??= goodFile());
      const r = await runBundledAction('verify-gate', { 'subject-path': 'app-1.0.0.tgz', ...trust(), ...extra }, { workspace: ws });
      expect(r.code).toBe(1);
      expect(r.outputs.verified).toBeUndefined();
      expect(r.errors.join('\n')).toMatch(annotation);
    });
  }
});
