/**
 * The identity policy on certificates of every CI that Fulcio serves (SAN and extensions as Fulcio's
 * identity configuration renders them, helpers/ci-identities.ts): cosign-style identity and issuer,
 * exact and full-string regexps, extension predicates by name, hosted runners, the GitHub hostname
 * (GHES, ghe.com); and the OIDC token checks made before signing.
 */
import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { IdentityError } from '../src/errors.ts';
import { fulcioIdentity, type WorkflowIdentity } from '../src/identity/fulcio.ts';
import { checkIdToken } from '../src/identity/id-token.ts';
import { ciIdentityInputsFrom, ciIdentityPolicy } from '../src/identity/policy-inputs.ts';
import { type IdentityPolicy, assertPolicyConstrains, checkIdentityPolicy, githubActionsIssuer } from '../src/identity/policy.ts';
import { CLAIMS, type CiJob, type CiProvider, GITLAB_ISSUER, fulcioFields } from './helpers/ci-identities.ts';
import { type Issued, makeCa, makeLeaf, raw, utf8String } from './helpers/identity-certs.ts';
import { githubClaims, signJwt } from './helpers/oidc-server.ts';

let ca: Issued;
beforeAll(async () => {
  ca = await makeCa();
});

async function identityOf(ci: CiProvider, job: CiJob): Promise<WorkflowIdentity> {
  const { san, extensions } = fulcioFields(ci, CLAIMS[ci](job));
  const fulcio: Record<string, Uint8Array> = {};
  for (const e of extensions) fulcio[e.oid.split('.').pop()!] = e.legacy ? raw(e.value) : utf8String(e.value);
  return fulcioIdentity((await makeLeaf(ca, { san, fulcio })).der);
}

function refusal(identity: WorkflowIdentity, policy: IdentityPolicy): IdentityError {
  try {
    checkIdentityPolicy(identity, policy);
  } catch (e) {
    expect(e).toBeInstanceOf(IdentityError);
    return e as IdentityError;
  }
  throw new Error('the policy accepted the identity');
}

const GITLAB_SAN = 'https://gitlab.com/acme/app//.gitlab-ci.yml@refs/heads/main';

describe('GitLab CI identities', () => {
  it('cosign-style: the exact SAN with the issuer, plus extension predicates by name, passes', async () => {
    const id = await identityOf('gitlab', { project: 'acme/app' });
    expect(id).toMatchObject({ oidcIssuer: GITLAB_ISSUER, sanUri: GITLAB_SAN, runnerEnvironment: 'gitlab-hosted', sourceRepository: 'https://gitlab.com/acme/app', sourceRepositoryRef: 'refs/heads/main' });
    checkIdentityPolicy(id, {
      certificateIdentity: GITLAB_SAN,
      certOidcIssuer: GITLAB_ISSUER,
      sourceRepositoryUri: 'https://gitlab.com/acme/app',
      sourceRef: 'refs/heads/main',
      sourceRepositoryVisibility: 'public',
      buildSignerUri: GITLAB_SAN,
      buildConfigUri: GITLAB_SAN,
      buildTrigger: 'push',
      runnerEnvironment: 'gitlab-hosted',
      denySelfHostedRunners: true,
    });
  });

  it('every predicate that does not match is named, with the value the certificate has', async () => {
    const id = await identityOf('gitlab', { project: 'acme/other', ref: 'refs/tags/v1', runnerEnvironment: 'self-hosted', trigger: 'web', visibility: 'private' });
    const e = refusal(id, {
      certificateIdentity: GITLAB_SAN,
      certOidcIssuer: GITLAB_ISSUER,
      sourceRepositoryUri: 'https://gitlab.com/acme/app',
      sourceRef: 'refs/heads/main',
      sourceRepositoryVisibility: 'public',
      buildTrigger: 'push',
      denySelfHostedRunners: true,
    });
    expect(e.code).toBe('ERR_IDENTITY_POLICY');
    expect(e.refusals.map((r) => r.field).sort()).toEqual(['buildTrigger', 'certificateIdentity', 'denySelfHostedRunners', 'sourceRef', 'sourceRepositoryUri', 'sourceRepositoryVisibility']);
    expect(e.refusals.find((r) => r.field === 'sourceRepositoryUri')?.actual).toBe('https://gitlab.com/acme/other');
  });

  it('a SAN regexp matches the whole SAN, never a part of it', async () => {
    const id = await identityOf('gitlab', { project: 'acme/app' });
    checkIdentityPolicy(id, { certificateIdentityRegexp: 'https://gitlab\\.com/acme/.+', certOidcIssuer: GITLAB_ISSUER });
    expect(refusal(id, { certificateIdentityRegexp: 'acme/app', certOidcIssuer: GITLAB_ISSUER }).refusals[0]?.field).toBe('certificateIdentityRegexp');
    // an alternation cannot escape the anchors: ^(?:a|b)$, not ^a|b$
    expect(refusal(id, { certificateIdentityRegexp: 'https://evil\\.example/.*|acme', certOidcIssuer: GITLAB_ISSUER }).refusals[0]?.field).toBe('certificateIdentityRegexp');
  });

  it('the issuer binds: the default is GitHub Actions, an issuer regexp is anchored too', async () => {
    const id = await identityOf('gitlab', { project: 'acme/app' });
    expect(refusal(id, { certificateIdentity: GITLAB_SAN }).refusals).toEqual([{ field: 'certOidcIssuer', expected: 'https://token.actions.githubusercontent.com', actual: GITLAB_ISSUER }]);
    checkIdentityPolicy(id, { certificateIdentity: GITLAB_SAN, certOidcIssuerRegexp: 'https://gitlab\\.(com|example\\.org)' });
    expect(refusal(id, { certificateIdentity: GITLAB_SAN, certOidcIssuerRegexp: 'https://gitlab' }).refusals[0]?.field).toBe('certOidcIssuerRegexp');
    const other = await identityOf('gitlab', { project: 'acme/app', issuer: 'https://ops.gitlab.net' });
    expect(refusal(other, { certificateIdentityRegexp: 'https://[a-z.]+/acme/app//\\.gitlab-ci\\.yml@refs/heads/main', certOidcIssuer: GITLAB_ISSUER }).refusals[0]?.field).toBe('certOidcIssuer');
  });
});

describe('CircleCI and Buildkite identities', () => {
  it('CircleCI: SAN is the pipeline definition, the issuer is per organisation, ref and origin are pinnable', async () => {
    const id = await identityOf('circleci', { project: 'p-1', orgId: 'org-1', ref: 'refs/heads/main' });
    expect(id.oidcIssuer).toBe('https://oidc.circleci.com/org/org-1');
    expect(id.sanUri).toMatch(/^https:\/\/circleci\.com\/api\/v2\/projects\/p-1\/pipeline-definitions\//);
    checkIdentityPolicy(id, { certificateIdentity: id.sanUri!, certOidcIssuer: 'https://oidc.circleci.com/org/org-1', sourceRef: 'refs/heads/main' });
    // no hosted runner is recorded (.11 is "" — Fulcio's template prints the quotes — or ssh-rerun)
    expect(id.runnerEnvironment).toBe('""');
    expect(refusal(id, { certificateIdentity: id.sanUri!, certOidcIssuer: id.oidcIssuer, denySelfHostedRunners: true }).refusals[0]?.field).toBe('denySelfHostedRunners');
  });

  it('Buildkite: SAN is the pipeline; no ref in the certificate, so a ref pin fails closed and the commit is pinned instead', async () => {
    const id = await identityOf('buildkite', { project: 'acme/app', sha: 'a'.repeat(40) });
    checkIdentityPolicy(id, { certificateIdentity: 'https://buildkite.com/acme/app', certOidcIssuer: 'https://agent.buildkite.com', sourceDigest: 'a'.repeat(40), denySelfHostedRunners: true, buildTrigger: 'webhook' });
    expect(refusal(id, { certificateIdentity: 'https://buildkite.com/acme/app', certOidcIssuer: 'https://agent.buildkite.com', sourceRef: 'refs/heads/main' }).refusals).toEqual([
      { field: 'sourceRef', expected: 'refs/heads/main', actual: undefined },
    ]);
    const selfHosted = await identityOf('buildkite', { project: 'acme/app', runnerEnvironment: 'self-hosted' });
    expect(refusal(selfHosted, { certificateIdentity: 'https://buildkite.com/acme/app', certOidcIssuer: 'https://agent.buildkite.com', denySelfHostedRunners: true }).refusals[0]).toMatchObject({ field: 'denySelfHostedRunners', actual: 'self-hosted' });
  });
});

describe('GitHub Enterprise Server and GHE.com', () => {
  it('hostname gives the issuer of that GitHub and the host of the repo/owner/workflow shortcuts', async () => {
    expect(githubActionsIssuer()).toBe('https://token.actions.githubusercontent.com');
    expect(githubActionsIssuer('Octo.GHE.com')).toBe('https://token.actions.octo.ghe.com');
    expect(githubActionsIssuer('github.example.com')).toBe('https://github.example.com/_services/token');
    const c = githubClaims({ repository: 'acme/app', issuer: 'https://token.actions.octo.ghe.com' }, 'sigstore');
    const leaf = await makeLeaf(ca, {
      san: `https://octo.ghe.com/${String(c.job_workflow_ref)}`,
      fulcio: {
        '8': utf8String('https://token.actions.octo.ghe.com'),
        '9': utf8String(`https://octo.ghe.com/${String(c.job_workflow_ref)}`),
        '11': utf8String('github-hosted'),
        '12': utf8String('https://octo.ghe.com/acme/app'),
        '14': utf8String('refs/heads/main'),
        '16': utf8String('https://octo.ghe.com/acme'),
      },
    });
    const id = fulcioIdentity(leaf.der);
    checkIdentityPolicy(id, { host: 'octo.ghe.com', repo: 'acme/app', signerWorkflow: 'acme/app/.github/workflows/release.yml', sourceRef: 'refs/heads/main', denySelfHostedRunners: true });
    const e = refusal(id, { repo: 'acme/app' });
    expect(e.refusals.map((r) => r.field)).toEqual(['certOidcIssuer', 'repo', 'repo']);
  });
});

describe('policy checks before any certificate', () => {
  it('refuses policies that pin no identity, bad regexps, two issuer forms and bad hosts', () => {
    const usage = (p: IdentityPolicy) => {
      try {
        assertPolicyConstrains(p);
      } catch (e) {
        return (e as IdentityError).code + ' ' + (e as Error).message;
      }
      return 'accepted';
    };
    expect(usage({ certOidcIssuer: GITLAB_ISSUER, sourceRef: 'refs/heads/main' })).toMatch(/^ERR_USAGE .*every CI job would pass/);
    expect(usage({ certificateIdentity: '' })).toMatch(/^ERR_USAGE/);
    expect(usage({ certificateIdentityRegexp: '(', certOidcIssuer: GITLAB_ISSUER })).toMatch(/^ERR_USAGE .*not a valid regular expression/);
    expect(usage({ certificateIdentity: GITLAB_SAN, certOidcIssuer: GITLAB_ISSUER, certOidcIssuerRegexp: '.*' })).toMatch(/^ERR_USAGE .*both/);
    expect(usage({ repo: 'a/b', host: 'https://evil/' })).toMatch(/^ERR_USAGE .*host/);
    expect(usage({ certificateIdentity: GITLAB_SAN, certOidcIssuer: GITLAB_ISSUER })).toBe('accepted');
    expect(usage({ sourceRepositoryUri: 'https://gitlab.com/acme/app', certOidcIssuer: GITLAB_ISSUER })).toBe('accepted');
  });

  it('inputs by their flag names become policy fields; blank inputs are absent; two spellings of the issuer must agree', () => {
    const inputs = ciIdentityInputsFrom((n) => ({ 'certificate-identity': GITLAB_SAN, 'certificate-oidc-issuer': GITLAB_ISSUER, hostname: ' ', 'runner-environment': 'gitlab-hosted' })[n]);
    expect(ciIdentityPolicy(inputs)).toEqual({ certificateIdentity: GITLAB_SAN, certOidcIssuer: GITLAB_ISSUER, runnerEnvironment: 'gitlab-hosted' });
    expect(() => ciIdentityPolicy(inputs, 'https://token.actions.githubusercontent.com')).toThrow(/differ; give one/);
    expect(ciIdentityPolicy(inputs, GITLAB_ISSUER).certOidcIssuer).toBe(GITLAB_ISSUER);
  });
});

describe('OIDC tokens are checked before Fulcio sees them', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const token = (claims: Record<string, unknown>) => signJwt(claims, privateKey, 'k');
  const now = Math.floor(Date.now() / 1000);

  it('a GitLab id_token for aud sigstore passes', () => {
    expect(checkIdToken(token(CLAIMS.gitlab({ project: 'acme/app' })), 'sigstore').iss).toBe(GITLAB_ISSUER);
  });
  it('expired, wrong audience, not a JWT: each says so and how to get a good one, without printing the token', () => {
    const expired = token({ ...CLAIMS.gitlab({ project: 'acme/app' }), exp: now - 10 });
    expect(() => checkIdToken(expired, 'sigstore')).toThrow(/OIDC token from https:\/\/gitlab\.com expired at .*request a fresh one/);
    const aud = token(CLAIMS.gitlab({ project: 'acme/app' }, 'https://gitlab.com'));
    expect(() => checkIdToken(aud, 'sigstore')).toThrow(/is for audience "https:\/\/gitlab\.com", but Fulcio accepts only "sigstore".*aud: sigstore/);
    expect(() => checkIdToken('not-a-token', 'sigstore')).toThrow(/not a JWT/);
    try {
      checkIdToken(aud, 'sigstore');
    } catch (e) {
      expect((e as IdentityError).code).toBe('ERR_KEYLESS_TOKEN');
      expect((e as Error).message).not.toContain(aud.split('.')[1]!);
    }
  });
});
