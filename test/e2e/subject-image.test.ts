/**
 * Container images as subjects, round trip on a real registry (Debian's docker-registry): statements
 * about an image by digest are stored as its OCI referrers — actions/attest's push-to-registry — and
 * the gate finds them from the image alone. Through the CLI (`statement create --subject-image`,
 * which once read its value letter by letter) and through the actions' subject-image inputs.
 */
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey, publicKey, toPem } from '@scitt-actions/core';
import { type RegistryProcess, pushTestImage, startRegistry } from '../../packages/core/test/helpers/storage-registry.ts';
import { REPO_ROOT, runBundledAction } from '../helpers/action-runner.ts';
import { scitt } from '../helpers/cli.ts';
import { type ServiceProcess, startService } from '../helpers/transparency-service.ts';

const key = generateKey('P-256');

describe('subject-image: statements about images, stored as their OCI referrers', { timeout: 180_000 }, () => {
  let ts: ServiceProcess;
  let registry: RegistryProcess;
  let ws: string;

  beforeAll(async () => {
    ts = await startService({ issuers: [publicKey(key)] });
    registry = await startRegistry();
    ws = mkdtempSync(join(tmpdir(), 'subject-image-'));
    writeFileSync(join(ws, 'issuer.pem'), toPem(key, { includePrivate: true }));
    writeFileSync(join(ws, 'issuer.pub.pem'), toPem(publicKey(key)));
    cpSync(join(REPO_ROOT, 'test/fixtures/sample-sbom.cdx.json'), join(ws, 'sbom.cdx.json'));
  }, 180_000);
  afterAll(async () => {
    await ts?.stop();
    await registry?.stop();
  });

  it('CLI: --subject-image takes whole references (two at once), and the statements round-trip through the referrers API', async () => {
    const app = await pushTestImage(registry.url, 'acme/app', 'v1');
    const web = await pushTestImage(registry.url, 'acme/web', 'v1');
    const refs = [`${registry.host}/acme/app@${app.digest}`, `${registry.host}/acme/web@${web.digest}`];
    const create = await scitt(['statement', 'create', '--key', 'issuer.pem', '--iss', 'https://acme.example/releases', '--payload', 'sbom.cdx.json', '--subject-image', ...refs, '--out-dir', 'cli', '--json'], ws);
    expect(create.code, create.stderr).toBe(0);
    const out = JSON.parse(create.stdout);
    // the --json envelope (result inside) or the bare result
    const statements = (out.result ?? out).statements as { subjectName: string; digest: { sha256: string }; statementPath: string; sub: string }[];
    expect(statements.map((s) => `${s.subjectName}@sha256:${s.digest.sha256}`)).toEqual(refs);
    expect(statements[0]!.sub).toMatch(/^pkg:oci\/app@sha256:/);
    for (const [i, s] of statements.entries()) {
      const t = await scitt(['transparent', s.statementPath, '--ts', ts.url, '--to', `oci://${refs[i]}`, '--json'], ws);
      expect(t.code, t.stderr).toBe(0);
    }
    // the gate from the tag alone: resolve it, list the referrers, verify
    for (const image of ['acme/app:v1', 'acme/web:v1']) {
      const v = await scitt(['verify', '--artifact', `oci://${registry.host}/${image}`, '--require', 'sbom', '--ts-keys', ts.url, '--issuer-key', 'issuer.pub.pem'], ws);
      expect(v.code, v.stdout + v.stderr).toBe(0);
    }
  });

  it('a reference without a digest is refused with what to do', async () => {
    const r = await scitt(['statement', 'create', '--key', 'issuer.pem', '--iss', 'x', '--payload', 'sbom.cdx.json', '--subject-image', `${registry.host}/acme/app:v1`, '--out-dir', 'bad'], ws);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`OCI reference "${registry.host.replace(/\./g, '\\.')}/acme/app:v1" has no digest.*\\[ERR_OCI_REFERENCE\\]`));
  });

  it('actions: issue-statement subject-image → register → attach-receipt subject-image (referrers) → verify-gate image', async () => {
    const image = await pushTestImage(registry.url, 'acme/api', 'v2');
    const ref = `${registry.host}/acme/api@${image.digest}`;
    const issue = await runBundledAction(
      'issue-statement',
      { 'subject-image': ref, 'evidence-path': 'sbom.cdx.json', signing: 'key', 'signing-key': toPem(key, { includePrivate: true }), issuer: 'https://acme.example/releases', 'output-dir': 'act' },
      { workspace: ws },
    );
    expect(issue.code, issue.stdout).toBe(0);
    expect(JSON.parse(issue.outputs['subject-digests']!)).toEqual([{ name: `${registry.host}/acme/api`, digest: image.digest }]);
    const reg = await runBundledAction('register', { 'statement-path': issue.outputs['statement-paths']!, 'transparency-service': ts.url }, { workspace: ws });
    expect(reg.code, reg.stdout).toBe(0);
    const attach = await runBundledAction('attach-receipt', { 'statement-path': reg.outputs['transparent-statement-paths']!, 'subject-image': ref }, { workspace: ws });
    expect(attach.code, attach.stdout).toBe(0);
    expect(JSON.parse(attach.outputs.locations!).map((l: { locationURI: string }) => l.locationURI).join(' ')).toMatch(new RegExp(`oci://${registry.host}/acme/api@sha256:`));
    const gate = await runBundledAction('verify-gate', { image: `${registry.host}/acme/api:v2`, 'transparency-service-keys': ts.url, 'issuer-key': toPem(publicKey(key)), require: 'sbom' }, { workspace: ws });
    expect(gate.code, gate.stdout).toBe(0);
    expect(gate.outputs.verified).toBe('true');
  });
});
