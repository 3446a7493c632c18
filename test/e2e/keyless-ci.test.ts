/**
 * Keyless from every CI that Fulcio serves: GitLab CI, CircleCI and Buildkite jobs sign through the
 * CLI with SIGSTORE_ID_TOKEN (the real FulcioSigner path) against the loopback Fulcio double, which
 * certifies each with the SAN and extensions Fulcio's identity configuration gives that issuer. The
 * embedded service admits them by a cosign-style registration policy; then, for each CI, the right
 * identity passes and another project, another ref, another issuer and a self-hosted runner are
 * refused — through `scitt verify` and through the bundled verify-gate action.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUILDKITE_ISSUER,
  CLAIMS,
  type CiJob,
  type CiProvider,
  GITLAB_ISSUER,
  circleciIssuer,
  fulcioFields,
} from '../../packages/core/test/helpers/ci-identities.ts';
import { type FulcioServer, startFulcioServer } from '../../packages/core/test/helpers/identity-fulcio-server.ts';
import { GITHUB_OIDC_ISSUER, signJwt } from '../../packages/core/test/helpers/oidc-server.ts';
import { REPO_ROOT, runBundledAction } from '../helpers/action-runner.ts';
import { scitt } from '../helpers/cli.ts';
import { type ServiceProcess, startService } from '../helpers/transparency-service.ts';

const ORG = 'b7a8c1e0-0000-4000-8000-000000000001';
const CIRCLE_PROJECT = '0f1e2d3c-0000-4000-8000-00000000000a';
const SHA = 'c0ffee0123456789abcdef0123456789abcdef01';

interface Case {
  right: CiJob;
  /** the verify flags that name the right identity; the action gets the same as inputs */
  policy: Record<string, string>;
  variants: { name: string; job: CiJob; extra?: Record<string, string>; why: RegExp }[];
}

const CASES: Record<CiProvider, Case> = {
  gitlab: {
    right: { project: 'acme/app', ref: 'refs/heads/main' },
    policy: {
      'certificate-identity': 'https://gitlab.com/acme/app//.gitlab-ci.yml@refs/heads/main',
      'certificate-oidc-issuer': GITLAB_ISSUER,
      'source-repository-uri': 'https://gitlab.com/acme/app',
      'source-ref': 'refs/heads/main',
      'hosted-runners-only': 'true',
    },
    variants: [
      { name: 'another project', job: { project: 'acme/other', ref: 'refs/heads/main' }, why: /sourceRepositoryUri/ },
      { name: 'another ref', job: { project: 'acme/app', ref: 'refs/heads/feature' }, why: /sourceRef requires refs\/heads\/main/ },
      { name: 'another issuer (another GitLab instance Fulcio serves)', job: { project: 'acme/app', ref: 'refs/heads/main', issuer: 'https://ops.gitlab.net' }, why: /certOidcIssuer requires https:\/\/gitlab\.com/ },
      { name: 'a self-hosted runner', job: { project: 'acme/app', ref: 'refs/heads/main', runnerEnvironment: 'self-hosted' }, why: /denySelfHostedRunners.*self-hosted/ },
    ],
  },
  circleci: {
    right: { project: CIRCLE_PROJECT, ref: 'refs/heads/main', orgId: ORG },
    policy: {
      'certificate-identity': `https://circleci.com/api/v2/projects/${CIRCLE_PROJECT}/pipeline-definitions/de0f1a2b-0000-4000-8000-000000000004`,
      'certificate-oidc-issuer': circleciIssuer(ORG),
      'source-ref': 'refs/heads/main',
    },
    variants: [
      { name: 'another project', job: { project: '99999999-0000-4000-8000-00000000000b', ref: 'refs/heads/main', orgId: ORG }, why: /certificateIdentity/ },
      { name: 'another ref', job: { project: CIRCLE_PROJECT, ref: 'refs/heads/feature', orgId: ORG }, why: /sourceRef requires refs\/heads\/main/ },
      { name: 'another issuer (another organisation)', job: { project: CIRCLE_PROJECT, ref: 'refs/heads/main', orgId: 'ffffffff-0000-4000-8000-00000000000c' }, why: /certOidcIssuer requires https:\/\/oidc\.circleci\.com\/org\// },
      // CircleCI certificates record no hosted runner (.11 is ssh-rerun or ""): hosted-runners-only refuses them all
      { name: 'a job re-run with SSH, when hosted runners are required', job: { project: CIRCLE_PROJECT, ref: 'refs/heads/main', orgId: ORG, runnerEnvironment: 'ssh-rerun' }, extra: { 'hosted-runners-only': 'true' }, why: /denySelfHostedRunners.*ssh-rerun/ },
    ],
  },
  buildkite: {
    right: { project: 'acme/app', ref: 'refs/heads/main', sha: SHA },
    policy: {
      'certificate-identity': 'https://buildkite.com/acme/app',
      'certificate-oidc-issuer': BUILDKITE_ISSUER,
      'source-repository-digest': SHA,
      'hosted-runners-only': 'true',
    },
    variants: [
      { name: 'another pipeline', job: { project: 'acme/other', sha: SHA }, why: /certificateIdentity/ },
      // Buildkite certificates carry no ref (Fulcio's buildkite-job template has none): the commit is what can be pinned
      { name: 'another commit (Buildkite certificates carry no ref)', job: { project: 'acme/app', sha: 'deadbeef'.repeat(5) }, why: /sourceDigest/ },
      { name: 'another issuer', job: { project: 'acme/app', ref: 'refs/heads/main' }, why: /certOidcIssuer requires https:\/\/agent\.buildkite\.com/ },
      { name: 'a self-hosted agent', job: { project: 'acme/app', sha: SHA, runnerEnvironment: 'self-hosted' }, why: /denySelfHostedRunners.*self-hosted/ },
    ],
  },
};
// Buildkite has one issuer; "another issuer" is a GitLab job's certificate
const ISSUER_OF_VARIANT: Record<string, CiProvider> = { 'buildkite:another issuer': 'gitlab' };

/** scitt verify flags from action-style inputs */
const flags = (inputs: Record<string, string>) => Object.entries(inputs).flatMap(([k, v]) => (v === 'true' ? [`--${k}`] : [`--${k}`, v]));

describe('keyless from GitLab CI, CircleCI and Buildkite: identity policy through the CLI and the gate action', { timeout: 180_000 }, () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = randomUUID();
  let fulcio: FulcioServer;
  let ts: ServiceProcess;
  const root = mkdtempSync(join(tmpdir(), 'keyless-ci-'));

  /** a workspace with app.tgz and its SBOM statement, signed by `job` of `ci` and registered beside it */
  async function release(ci: CiProvider, job: CiJob, register = true): Promise<{ ws: string; code: number; stderr: string }> {
    const ws = mkdtempSync(join(root, `${ci}-`));
    writeFileSync(join(ws, 'anchors.pem'), fulcio.anchorsPem);
    writeFileSync(join(ws, 'app.tgz'), `release of ${ci} ${JSON.stringify(job)}\n`);
    cpSync(join(REPO_ROOT, 'test/fixtures/sample-sbom.cdx.json'), join(ws, 'sbom.cdx.json'));
    const token = signJwt(CLAIMS[ci](job), privateKey, kid);
    const create = await scitt(['statement', 'create', '--fulcio-url', fulcio.url, '--x509-roots', 'anchors.pem', '--payload', 'sbom.cdx.json', '--subject-path', 'app.tgz', '--out-dir', 'scitt', '--json'], ws, {
      SIGSTORE_ID_TOKEN: token,
      ACTIONS_ID_TOKEN_REQUEST_URL: '',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: '',
    });
    expect(create.code, create.stderr).toBe(0);
    if (!register) return { ws, code: 0, stderr: '' };
    const reg = await scitt(['transparent', 'scitt/app.tgz.sbom.cose', '--ts', ts.url, '--to', 'app.tgz'], ws);
    return { ws, code: reg.code, stderr: reg.stderr };
  }

  const cliGate = (ws: string, inputs: Record<string, string>) =>
    scitt(['verify', '--artifact', 'app.tgz', '--ts-keys', ts.url, '--x509-roots', 'anchors.pem', '--json', ...flags(inputs)], ws);
  const actionGate = (ws: string, inputs: Record<string, string>) =>
    runBundledAction('verify-gate', { 'subject-path': 'app.tgz', 'transparency-service-keys': ts.url, 'x509-roots': 'anchors.pem', require: 'sbom', ...inputs }, { workspace: ws });

  beforeAll(async () => {
    fulcio = await startFulcioServer({ oidcIssuer: GITHUB_OIDC_ISSUER, oidcPublicKey: publicKey, ciIssuers: true });
    // the service's registration policy, cosign-style: acme's GitLab projects and Buildkite pipelines, CircleCI pipeline definitions
    const identity = {
      certOidcIssuerRegexp: 'https://(gitlab\\.com|ops\\.gitlab\\.net|agent\\.buildkite\\.com|oidc\\.circleci\\.com/org/[0-9a-f-]+)',
      certificateIdentityRegexp: 'https://([a-z.]+/acme/[^/]+//\\.gitlab-ci\\.yml@refs/.+|buildkite\\.com/acme/[^/]+|circleci\\.com/api/v2/projects/[0-9a-f-]+/pipeline-definitions/[0-9a-f-]+)',
    };
    writeFileSync(join(root, 'policy.json'), JSON.stringify({ issuers: [], x509: { roots: [fulcio.anchorsPem], identity } }));
    ts = await startService({ args: ['--policy', join(root, 'policy.json')] });
  });
  afterAll(async () => {
    await ts?.stop();
    await fulcio?.close();
  });

  it('the double certifies each CI as Fulcio would: SAN and extensions from the identity configuration', () => {
    const gitlab = fulcioFields('gitlab', CLAIMS.gitlab(CASES.gitlab.right));
    expect(gitlab.san).toBe('https://gitlab.com/acme/app//.gitlab-ci.yml@refs/heads/main');
    expect(Object.fromEntries(gitlab.extensions.map((e) => [e.oid.split('.').pop(), e.value]))).toMatchObject({
      '8': GITLAB_ISSUER,
      '9': 'https://gitlab.com/acme/app//.gitlab-ci.yml@refs/heads/main',
      '11': 'gitlab-hosted',
      '12': 'https://gitlab.com/acme/app',
      '14': 'refs/heads/main',
      '16': 'https://gitlab.com/acme',
      '21': 'https://gitlab.com/acme/app/-/jobs/2000002',
    });
    expect(fulcioFields('buildkite', CLAIMS.buildkite(CASES.buildkite.right)).san).toBe('https://buildkite.com/acme/app');
    expect(fulcioFields('circleci', CLAIMS.circleci(CASES.circleci.right)).san).toBe(CASES.circleci.policy['certificate-identity']);
  });

  for (const ci of Object.keys(CASES) as CiProvider[]) {
    const c = CASES[ci];
    describe(ci, () => {
      it('the right identity signs with SIGSTORE_ID_TOKEN, registers, and passes scitt verify and the gate action', async () => {
        const { ws, code, stderr } = await release(ci, c.right);
        expect(code, stderr).toBe(0);
        const cli = await cliGate(ws, c.policy);
        expect(cli.code, cli.stdout + cli.stderr).toBe(0);
        const act = await actionGate(ws, c.policy);
        expect(act.code, act.stdout + act.stderr).toBe(0);
        expect(act.outputs.verified).toBe('true');
      });

      for (const v of c.variants) {
        it(`refuses ${v.name}, in the CLI and in the gate action`, async () => {
          const signer = ISSUER_OF_VARIANT[`${ci}:${v.name}`] ?? ci;
          const { ws, code, stderr } = await release(signer, v.job);
          expect(code, stderr).toBe(0);
          const inputs = { ...c.policy, ...v.extra };
          const cli = await cliGate(ws, inputs);
          expect(cli.code, cli.stdout + cli.stderr).toBe(1);
          expect(cli.stdout + cli.stderr).toMatch(v.why);
          const act = await actionGate(ws, inputs);
          expect(act.code).toBe(1);
          expect(act.outputs.verified).toBe('false');
          expect(act.errors.join('\n')).toMatch(v.why);
        });
      }
    });
  }

  it("CircleCI: hosted-runners-only refuses even the right job, since CircleCI's certificates do not say who hosts the runner", async () => {
    const { ws } = await release('circleci', CASES.circleci.right);
    const cli = await cliGate(ws, { ...CASES.circleci.policy, 'hosted-runners-only': 'true' });
    expect(cli.code).toBe(1);
    expect(cli.stdout + cli.stderr).toMatch(/denySelfHostedRunners requires github-hosted or gitlab-hosted or buildkite-hosted, but the certificate's runner environment \(1\.3\.6\.1\.4\.1\.57264\.1\.11\) is /);
  });

  it("the service's cosign-style registration policy refuses a GitLab project outside the group", async () => {
    const { code, stderr } = await release('gitlab', { project: 'evil/app', ref: 'refs/heads/main' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/certificateIdentityRegexp/);
  });

  it('a loose SAN regexp is still anchored to the whole SAN, and the issuer still binds', async () => {
    const { ws } = await release('gitlab', CASES.gitlab.right);
    // unanchored this would match inside the SAN; anchored it must match all of it
    const partial = await cliGate(ws, { 'certificate-identity-regexp': 'acme/app', 'certificate-oidc-issuer': GITLAB_ISSUER });
    expect(partial.code).toBe(1);
    expect(partial.stdout + partial.stderr).toMatch(/certificateIdentityRegexp/);
    const whole = await cliGate(ws, { 'certificate-identity-regexp': 'https://gitlab\\.com/acme/.*', 'certificate-oidc-issuer-regexp': 'https://gitlab\\.(com|example)' });
    expect(whole.code, whole.stdout + whole.stderr).toBe(0);
    const noIssuer = await cliGate(ws, { 'certificate-identity-regexp': 'https://gitlab\\.com/acme/.*' });
    expect(noIssuer.code).toBe(1);
    expect(noIssuer.stdout + noIssuer.stderr).toMatch(/certOidcIssuer requires https:\/\/token\.actions\.githubusercontent\.com/);
  });
});
