/**
 * The GitLab CI/CD component (templates/scitt-release.yml) run by gitlab-ci-local with the shell
 * executor, as a pipeline of a project that includes it: issue (keyless, a GitLab-shaped identity
 * token from SIGSTORE_ID_TOKEN certified by the Fulcio double) → register → attach → verify against
 * the embedded Transparency Service. gitlab-ci-local (a dev dependency) copies the project with rsync,
 * Debian's, installed when missing (test/helpers/debian-package.ts).
 */
import { execFile, execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLAIMS, GITLAB_ISSUER } from '../../packages/core/test/helpers/ci-identities.ts';
import { type FulcioServer, startFulcioServer } from '../../packages/core/test/helpers/identity-fulcio-server.ts';
import { GITHUB_OIDC_ISSUER, signJwt } from '../../packages/core/test/helpers/oidc-server.ts';
import { REPO_ROOT } from '../helpers/action-runner.ts';
import { scitt } from '../helpers/cli.ts';
import { SCITT_MAIN, type ServiceProcess, startService } from '../helpers/transparency-service.ts';
import { ensureDebianPackage } from '../helpers/debian-package.ts';

const GITLAB_CI_LOCAL = process.env.GITLAB_CI_LOCAL ?? join(REPO_ROOT, 'node_modules/.bin/gitlab-ci-local');

function run(cwd: string, args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((res) => {
    execFile(GITLAB_CI_LOCAL, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 2) : 0, out: stdout + stderr });
    });
  });
}

describe('templates/scitt-release.yml under gitlab-ci-local (shell executor)', { timeout: 300_000 }, () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let fulcio: FulcioServer;
  let ts: ServiceProcess;
  let project: string;

  beforeAll(async () => {
    expect(existsSync(GITLAB_CI_LOCAL), `gitlab-ci-local is not installed at ${GITLAB_CI_LOCAL}`).toBe(true);
    await ensureDebianPackage('/usr/bin/rsync', 'rsync'); // gitlab-ci-local copies the project with it
    fulcio = await startFulcioServer({ oidcIssuer: GITHUB_OIDC_ISSUER, oidcPublicKey: publicKey, ciIssuers: true });
    const root = mkdtempSync(join(tmpdir(), 'gitlab-component-'));
    const identity = { certificateIdentityRegexp: 'https://gitlab\\.com/acme/app//\\.gitlab-ci\\.yml@refs/heads/main', certOidcIssuer: GITLAB_ISSUER };
    writeFileSync(join(root, 'policy.json'), JSON.stringify({ issuers: [], x509: { roots: [fulcio.anchorsPem], identity } }));
    ts = await startService({ args: ['--policy', join(root, 'policy.json')] });
    project = join(root, 'app');
    mkdirSync(join(project, 'templates'), { recursive: true });
    mkdirSync(join(project, 'dist'));
    cpSync(join(REPO_ROOT, 'templates/scitt-release.yml'), join(project, 'templates/scitt-release.yml'));
    cpSync(join(REPO_ROOT, 'test/fixtures/sample-sbom.cdx.json'), join(project, 'sbom.cdx.json'));
    writeFileSync(join(project, 'dist/app.tgz'), 'release 1.0.0\n');
    writeFileSync(join(project, 'anchors.pem'), fulcio.anchorsPem);
    expect((await scitt(['keys', '--ts', ts.url, '--out', 'ts-keys.cbor'], project)).code).toBe(0);
    writeFileSync(
      join(project, '.gitlab-ci.yml'),
      [
        'stages: [release]',
        'include:',
        '  - local: templates/scitt-release.yml',
        '    inputs:',
        '      subject: dist/app.tgz',
        '      evidence: sbom.cdx.json',
        `      transparency-service: ${ts.url}`,
        '      ts-keys: ts-keys.cbor',
        `      scitt: ${process.execPath} ${SCITT_MAIN}`,
        `      fulcio-url: ${fulcio.url}`,
        '      trust: --x509-roots anchors.pem',
        '      certificate-identity: https://gitlab.com/acme/app//.gitlab-ci.yml@refs/heads/main',
        `      certificate-oidc-issuer: ${GITLAB_ISSUER}`,
        '',
      ].join('\n'),
    );
    const git = (...a: string[]) => execFileSync('git', a, { cwd: project });
    git('init', '-q', '-b', 'main');
    git('-c', 'user.email=ci@example.com', '-c', 'user.name=ci', 'add', '.');
    git('-c', 'user.email=ci@example.com', '-c', 'user.name=ci', 'commit', '-q', '-m', 'release');
    git('remote', 'add', 'origin', 'https://gitlab.com/acme/app.git');
  }, 300_000);
  afterAll(async () => {
    await ts?.stop();
    await fulcio?.close();
  });

  it('the component issues, registers, attaches and verifies with the GitLab identity of the pipeline', async () => {
    const token = signJwt(CLAIMS.gitlab({ project: 'acme/app', ref: 'refs/heads/main' }), privateKey, randomUUID());
    const r = await run(project, ['--variable', `SIGSTORE_ID_TOKEN=${token}`, '--shell-isolation=false', 'scitt-release'], {});
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/RELEASE GATE PASSED/);
    expect(readdirSync(join(project, 'dist')).sort()).toContain('app.tgz.sbom.scitt');
  });
});
