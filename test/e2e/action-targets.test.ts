/**
 * attach-receipt and verify-gate with the other stores consumers fetch from: GitHub release assets
 * (a loopback server speaking the GitHub REST subset, reached through @actions/github's Octokit via
 * GITHUB_API_URL, as on a runner) and OCI referrers on a real Debian docker-registry process.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey, publicKey, toPem } from '@scitt-actions/core';
import { parseSignedStatement } from '@scitt-actions/core/statement';
import { type GitHubServer, startGitHubServer } from '../../packages/core/test/helpers/storage-github-server.ts';
import { type RegistryProcess, pushTestImage, startRegistry } from '../../packages/core/test/helpers/storage-registry.ts';
import { REPO_ROOT, runBundledAction } from '../helpers/action-runner.ts';
import { scitt } from '../helpers/cli.ts';
import { type ServiceProcess, startService } from '../helpers/transparency-service.ts';

const key = generateKey('P-256');

describe('attach-receipt and verify-gate: release assets and OCI referrers', () => {
  let ts: ServiceProcess;
  let gh: GitHubServer;
  let registry: RegistryProcess;
  const keyInputs = { signing: 'key', 'signing-key': toPem(key, { includePrivate: true }), issuer: 'https://acme.example/releases' };

  beforeAll(async () => {
    ts = await startService({ issuers: [publicKey(key)] });
    gh = await startGitHubServer({ owner: 'acme', repo: 'app' });
    registry = await startRegistry();
  }, 180_000);
  afterAll(async () => {
    await ts.stop();
    await gh.close();
    await registry.stop();
  });

  /** issue (SBOM) → register, in a fresh workspace; returns it with the transparent statement paths. */
  async function issued(subject: Record<string, string>): Promise<{ ws: string; transparent: string }> {
    const ws = mkdtempSync(join(tmpdir(), 'targets-'));
    writeFileSync(join(ws, 'issuer.pub.pem'), toPem(publicKey(key)));
    writeFileSync(join(ws, 'app-1.0.0.tgz'), `release ${Math.random()}\n`);
    cpSync(join(REPO_ROOT, 'test/fixtures/sample-sbom.cdx.json'), join(ws, 'sbom.cdx.json'));
    const issue = await runBundledAction('issue-statement', { ...subject, 'evidence-path': 'sbom.cdx.json', ...keyInputs, 'output-dir': 'scitt' }, { workspace: ws });
    expect(issue.code, issue.stdout).toBe(0);
    const reg = await runBundledAction('register', { 'statement-path': issue.outputs['statement-paths']!, 'transparency-service': ts.url }, { workspace: ws });
    expect(reg.code, reg.stdout).toBe(0);
    return { ws, transparent: reg.outputs['transparent-statement-paths']! };
  }

  it('release: the statement and its evidence become release assets; the gate finds and verifies them there', async () => {
    gh.addRelease('v1.0.0');
    const { ws, transparent } = await issued({ 'subject-path': 'app-1.0.0.tgz' });
    gh.addAsset('v1.0.0', 'app-1.0.0.tgz', readFileSync(join(ws, 'app-1.0.0.tgz')));
    const env = { GITHUB_API_URL: gh.apiUrl };
    const attach = await runBundledAction('attach-receipt', { 'statement-path': transparent, target: 'release', 'release-tag': 'v1.0.0', 'github-token': gh.token }, { workspace: ws, env });
    expect(attach.code, attach.stdout).toBe(0);
    const names = gh.assetsOf('v1.0.0').map((a) => a.name).sort();
    expect(names).toEqual(['app-1.0.0.tgz', 'app-1.0.0.tgz.sbom.cdx.json', 'app-1.0.0.tgz.sbom.scitt']); // named for what it holds (naming.ts)
    expect(parseSignedStatement(gh.assetsOf('v1.0.0').find((a) => a.name.endsWith('.scitt'))!.bytes).receipts).toHaveLength(1);
    expect(JSON.parse(attach.outputs.locations!)[0].locationURI).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/acme\/app\/releases\/download\/v1\.0\.0\//);

    const gate = (extra: Record<string, string> = {}) =>
      runBundledAction('verify-gate', { 'subject-path': 'app-1.0.0.tgz', 'release-tag': 'v1.0.0', 'github-token': gh.token, 'transparency-service-keys': ts.url, 'issuer-key': toPem(publicKey(key)), require: 'sbom', ...extra }, { workspace: ws, env });
    const pass = await gate();
    expect(pass.code, pass.stdout).toBe(0);
    expect(pass.outputs.verified).toBe('true');
    // the bytes about to be released are not the ones the release statement is about
    writeFileSync(join(ws, 'app-1.0.0.tgz'), 'rebuilt after signing\n');
    const refused = await gate();
    expect(refused.code).toBe(1);
    expect(refused.errors.join('\n')).toMatch(/no Transparent Statement found for app-1\.0\.0\.tgz/);
  });

  it('oci: the statement becomes a referrer of the image manifest; the gate discovers it from the image alone', async () => {
    const image = await pushTestImage(registry.url, 'acme/app', 'v1.0.0');
    const hex = image.digest.slice('sha256:'.length);
    const ref = `${registry.host}/acme/app@${image.digest}`;
    const { ws, transparent } = await issued({ 'subject-name': 'acme/app', 'subject-digest': image.digest });
    const attach = await runBundledAction('attach-receipt', { 'statement-path': transparent, target: 'oci', image: ref }, { workspace: ws });
    expect(attach.code, attach.stdout).toBe(0);
    expect(JSON.parse(attach.outputs.locations!).map((l: { locationURI: string }) => l.locationURI).join(' ')).toMatch(new RegExp(`oci://${registry.host}/acme/app@sha256:`));
    const gate = await runBundledAction('verify-gate', { image: `${registry.host}/acme/app:v1.0.0`, 'transparency-service-keys': ts.url, 'issuer-key': toPem(publicKey(key)), require: 'sbom' }, { workspace: ws });
    expect(gate.code, gate.stdout).toBe(0);
    const report = JSON.parse(readFileSync(gate.outputs['report-path']!, 'utf8'));
    expect(report.artifacts[0].artifact.sha256).toBe(hex);
    expect(report.artifacts[0].evidence).toEqual(['sbom']);
  });

  it('the CLI reaches the same stores: scitt discover and scitt verify --artifact on the image and on the release asset', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'targets-cli-'));
    writeFileSync(join(ws, 'issuer.pub.pem'), toPem(publicKey(key)));
    const found = await scitt(['discover', `oci://${registry.host}/acme/app:v1.0.0`, '--json'], ws);
    expect(found.code, found.stderr).toBe(0);
    const d = JSON.parse(found.stdout).result;
    expect(d.statements).toHaveLength(1);
    expect(d.requests).toBeLessThanOrEqual(6);
    const v = await scitt(['verify', '--artifact', `oci://${registry.host}/acme/app:v1.0.0`, '--require', 'sbom', '--ts-keys', ts.url, '--issuer-key', 'issuer.pub.pem'], ws);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toMatch(/RELEASE GATE PASSED/);
    const env = { GITHUB_REPOSITORY: 'acme/app', GITHUB_TOKEN: gh.token, GITHUB_API_URL: gh.apiUrl };
    const rel = await scitt(['verify', '--artifact', 'release:v1.0.0/app-1.0.0.tgz', '--require', 'sbom', '--ts-keys', ts.url, '--issuer-key', 'issuer.pub.pem'], ws, env);
    expect(rel.code, rel.stdout + rel.stderr).toBe(0);
  });

  it('oci: an image without statements is refused by the gate', async () => {
    const image = await pushTestImage(registry.url, 'acme/other', 'v2');
    const ws = mkdtempSync(join(tmpdir(), 'targets-'));
    const gate = await runBundledAction('verify-gate', { image: `${registry.host}/acme/other@${image.digest}`, 'transparency-service-keys': ts.url, 'issuer-key': toPem(publicKey(key)) }, { workspace: ws });
    expect(gate.code).toBe(1);
    expect(gate.errors.join('\n')).toMatch(/no Transparent Statement found/);
  });

  it('bad inputs: release without a tag, oci without an image — one clear annotation each', async () => {
    // a real Transparent Statement, so the action gets past reading it to the target's own inputs
    const { ws, transparent } = await issued({ 'subject-path': 'app-1.0.0.tgz' });
    const noTag = await runBundledAction('attach-receipt', { 'statement-path': transparent, target: 'release', 'github-token': 't' }, { workspace: ws });
    expect(noTag.code).toBe(1);
    expect(noTag.errors).toHaveLength(1);
    expect(noTag.errors[0]).toMatch(/target: release needs release-tag/);
    const noImage = await runBundledAction('attach-receipt', { 'statement-path': transparent, target: 'oci' }, { workspace: ws });
    expect(noImage.code).toBe(1);
    expect(noImage.errors).toHaveLength(1);
    expect(noImage.errors[0]).toMatch(/target: oci needs image/);
    const garbage = await runBundledAction('attach-receipt', { 'statement-path': 'sbom.cdx.json', target: 'files', 'subject-path': 'app-1.0.0.tgz' }, { workspace: ws });
    expect(garbage.code).toBe(1);
    expect(garbage.errors).toHaveLength(1);
  });
});
