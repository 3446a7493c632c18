/**
 * Keyless end to end: the CLI signs with a workflow identity from a GitHub-runner-shaped OIDC
 * endpoint through a loopback Fulcio (the real FulcioSigner path), the embedded service admits only
 * that repository's workflows, and `scitt verify` applies an identity policy at registration time.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FulcioServer, startFulcioServer } from '../../packages/core/test/helpers/identity-fulcio-server.ts';
import { GITHUB_OIDC_ISSUER, type GitHubRun, type OidcServer, startOidcServer } from '../../packages/core/test/helpers/oidc-server.ts';
import { scitt } from '../helpers/cli.ts';
import { type ServiceProcess, startService } from '../helpers/transparency-service.ts';

const release: GitHubRun = { repository: 'acme/app', workflowPath: '.github/workflows/release.yml', ref: 'refs/tags/v1.0.0', eventName: 'push', runnerEnvironment: 'github-hosted' };

describe('keyless: GitHub workflow identity via Fulcio, registered and gated by identity policy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scitt-keyless-'));
  let oidc: OidcServer;
  let fulcio: FulcioServer;
  let ts: ServiceProcess;
  let sub: string;

  const sign = async (run: GitHubRun, out: string) => {
    oidc.run = run;
    return scitt(['statement', 'create', '--keyless', '--fulcio-url', fulcio.url, '--x509-roots', 'fulcio-root.pem', '--payload', 'sbom.json', '--sub', sub, '--hash-envelope', '--out', out, '--json'], dir, oidc.env);
  };
  const verify = (file: string, ...policy: string[]) => scitt(['verify', file, '--ts-keys', 'ts-keys.cbor', '--x509-roots', 'fulcio-root.pem', '--artifact', 'app.tar', '--json', ...policy], dir);

  beforeAll(async () => {
    oidc = await startOidcServer(release);
    fulcio = await startFulcioServer({ oidcIssuer: GITHUB_OIDC_ISSUER, oidcPublicKey: oidc.publicKey });
    writeFileSync(join(dir, 'fulcio-root.pem'), fulcio.anchorsPem);
    writeFileSync(join(dir, 'policy.json'), JSON.stringify({ issuers: [], x509: { roots: [fulcio.anchorsPem], identity: { owner: 'acme' } } }));
    ts = await startService({ args: ['--policy', join(dir, 'policy.json')] });
    writeFileSync(join(dir, 'app.tar'), 'release 1.0.0');
    writeFileSync(join(dir, 'sbom.json'), '{"bomFormat":"CycloneDX","specVersion":"1.6","version":1}');
    sub = `pkg:generic/app@1.0.0?checksum=sha256:${createHash('sha256').update(readFileSync(join(dir, 'app.tar'))).digest('hex')}`;
    expect((await scitt(['keys', '--ts', ts.url, '--out', 'ts-keys.cbor'], dir)).code).toBe(0);
  });
  afterAll(async () => {
    await ts.stop();
    await fulcio.close();
    await oidc.close();
  });

  it('signs with an ephemeral key certified by Fulcio: x5chain and a did:x509 iss; the private key never touches disk', async () => {
    const r = await sign(release, 'release.cose');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout).result;
    expect(out.iss).toMatch(/^did:x509:0:sha256:[A-Za-z0-9_-]+::san:uri:https%3A%2F%2Fgithub.com%2Facme%2Fapp%2F.github%2Fworkflows%2Frelease.yml/);
    expect(out.certificates).toBeGreaterThanOrEqual(2);
    expect(out.kid).toBeUndefined();
    expect(readFileSync(join(dir, 'release.cose')).includes(Buffer.from('PRIVATE KEY'))).toBe(false);
    expect(oidc.issued).toBeGreaterThan(0);
    const reg = await scitt(['transparent', 'release.cose', '--ts', ts.url, '--out', 'release.scitt'], dir);
    expect(reg.code, reg.stderr).toBe(0);
  });

  it('inside a workflow with the OIDC variables, statement create signs keyless without being asked', async () => {
    const r = await scitt(['statement', 'create', '--fulcio-url', fulcio.url, '--x509-roots', 'fulcio-root.pem', '--payload', 'sbom.json', '--sub', sub, '--out', 'default.cose', '--json'], dir, oidc.env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).result.iss).toMatch(/^did:x509:/);
    const none = await scitt(['statement', 'create', '--payload', 'sbom.json', '--sub', sub, '--out', 'none.cose'], dir);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no signer: pass --key KEY.pem, or --keyless inside a GitHub workflow/);
  });

  it('verify: the identity policy passes for the release workflow, with the identity in the result', async () => {
    const r = await verify('release.scitt', '--repo', 'acme/app', '--signer-workflow', 'acme/app/.github/workflows/release.yml', '--source-ref', 'refs/tags/v1.0.0', '--hosted-runners-only');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const result = JSON.parse(r.stdout).result;
    expect(result.identity).toMatchObject({ sourceRepositoryRef: 'refs/tags/v1.0.0', runnerEnvironment: 'github-hosted' });
  });

  const refusals: [string, string[], RegExp][] = [
    ['wrong repository', ['--repo', 'acme/other'], /repo/],
    ['wrong workflow', ['--repo', 'acme/app', '--signer-workflow', 'acme/app/.github/workflows/nightly.yml'], /signerWorkflow|workflow/],
    ['wrong ref', ['--repo', 'acme/app', '--source-ref', 'refs/heads/main'], /sourceRef|ref/],
    ['another OIDC issuer required', ['--repo', 'acme/app', '--cert-oidc-issuer', 'https://oidc.example'], /issuer/i],
  ];
  for (const [name, flags, why] of refusals) {
    it(`refuses: ${name}`, async () => {
      const r = await verify('release.scitt', ...flags);
      expect(r.code).toBe(1);
      const issuer = JSON.parse(r.stdout).result.checks.find((c: { name: string }) => c.name === 'issuer');
      expect(issuer.ok).toBe(false);
      expect(issuer.message).toMatch(why);
    });
  }

  it('refuses a self-hosted runner when hosted runners are required', async () => {
    expect((await sign({ ...release, runnerEnvironment: 'self-hosted' }, 'self.cose')).code).toBe(0);
    expect((await scitt(['transparent', 'self.cose', '--ts', ts.url, '--out', 'self.scitt'], dir)).code).toBe(0);
    expect((await verify('self.scitt', '--repo', 'acme/app')).code).toBe(0);
    const r = await verify('self.scitt', '--repo', 'acme/app', '--hosted-runners-only');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/self-hosted/);
  });

  it("the service refuses a statement from another owner's workflow (its registration policy)", async () => {
    expect((await sign({ ...release, repository: 'evil/fork' }, 'fork.cose')).code).toBe(0);
    const r = await scitt(['register', 'fork.cose', '--ts', ts.url, '--out', 'fork.receipt'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Rejected/);
    expect(r.stderr).toMatch(/evil/);
  });

  it('without a trusted receipt a keyless statement is refused, unless --allow-unreceipted (with a warning)', async () => {
    const bare = await verify('release.cose', '--repo', 'acme/app');
    expect(bare.code).toBe(1);
    expect(bare.stdout).toMatch(/needs a trusted receipt/);
    const allowed = await verify('release.cose', '--repo', 'acme/app', '--allow-unreceipted');
    const result = JSON.parse(allowed.stdout).result;
    const check = (name: string) => result.checks.find((c: { name: string }) => c.name === name);
    expect(check('issuer').ok).toBe(true); // the certificate, checked at the current time
    expect(result.warnings.join(' ')).toMatch(/current time instead of a trusted registration time/);
    expect(check('receipts')).toMatchObject({ ok: false, code: 'ERR_RECEIPT_MISSING' }); // still not transparent
    expect(allowed.code).toBe(1);
  });
});
