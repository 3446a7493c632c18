/**
 * Identity policy for Fulcio-certified CI identities (GitHub Actions, GitLab CI, CircleCI, Buildkite, …),
 * with the knobs of cosign (certificate identity and OIDC issuer, exact or full-string regexp; predicates
 * on the Fulcio extensions by name) and the GitHub shortcuts of `gh attestation verify` (repository,
 * owner, signer workflow, ref, hostname). Every refusal names the policy field and the certificate's value.
 */
import { IdentityError, type IdentityRefusal } from '../errors.ts';
import { type Certificate } from './certificate.ts';
import { matchDidX509 } from './did-x509.ts';
import { FULCIO_OID, GITHUB_ACTIONS_ISSUER, type WorkflowIdentity } from './fulcio.ts';

export interface IdentityPolicy {
  /**
   * OIDC issuer (.8), compared exactly (no prefix). Default, when neither this nor certOidcIssuerRegexp
   * is set: the GitHub Actions issuer of `host` (github.com, TENANT.ghe.com or a GitHub Enterprise Server).
   */
  certOidcIssuer?: string;
  /** OIDC issuer as a regular expression matched against the whole value (cosign --certificate-oidc-issuer-regexp) */
  certOidcIssuerRegexp?: string;
  /** the Subject Alternative Name, exact (cosign --certificate-identity), e.g. https://gitlab.com/G/P//.gitlab-ci.yml@refs/heads/main */
  certificateIdentity?: string;
  /** the SAN as a regular expression matched against the whole value (cosign --certificate-identity-regexp) */
  certificateIdentityRegexp?: string;
  /** GitHub host of the shortcuts below: github.com (default), TENANT.ghe.com or a GitHub Enterprise Server host */
  host?: string;
  /** Source Repository URI (.12), exact, e.g. https://gitlab.com/group/project */
  sourceRepositoryUri?: string;
  /** Source Repository Visibility At Signing (.22): public, private or internal */
  sourceRepositoryVisibility?: string;
  /** Build Signer URI (.9), exact (for GitLab the pipeline definition, https://gitlab.com/G/P//.gitlab-ci.yml@refs/heads/main) */
  buildSignerUri?: string;
  /** Runner Environment (.11), exact, e.g. gitlab-hosted */
  runnerEnvironment?: string;
  /** Build Trigger (.20), exact, e.g. push, tag, webhook */
  buildTrigger?: string;
  /** Build Config URI (.18), exact */
  buildConfigUri?: string;
  /** OWNER/REPO whose workflow ran (Source Repository URI, .12); case-insensitive like GitHub names */
  repo?: string;
  /** immutable repository id (.15): survives renames, refuses a re-created repository of the same name */
  repositoryId?: string;
  /** OWNER of that repository (Source Repository Owner URI, .16) */
  owner?: string;
  /** immutable owner id (.17) */
  ownerId?: string;
  /**
   * The workflow that signed (Build Signer URI, .9; the SAN on older certificates). A string is exact:
   * `OWNER/REPO/.github/workflows/x.yml`, optionally `@ref`, optionally as a full https URL; without
   * `@ref` any ref matches. A RegExp is tested against the full URI (anchor it yourself).
   */
  signerWorkflow?: string | RegExp;
  /** OWNER/REPO holding the signer workflow (for reusable workflows called from another repository) */
  signerRepo?: string;
  /** commit of the signer workflow (Build Signer Digest, .10) */
  signerDigest?: string;
  /** git ref that ran (Source Repository Ref, .14), exact, e.g. refs/heads/main or refs/tags/v1.2.3 */
  sourceRef?: string;
  /** commit that ran (Source Repository Digest, .13) */
  sourceDigest?: string;
  /**
   * Refuse runners the CI provider does not host: Runner Environment (.11) must be one of
   * HOSTED_RUNNER_ENVIRONMENTS (github-hosted, gitlab-hosted, buildkite-hosted). A certificate without
   * .11 (CircleCI's, which records only ssh-rerun) cannot show a hosted runner and is refused.
   */
  denySelfHostedRunners?: boolean;
  /**
   * Accept runs triggered by pull requests. Default false: a release gate refuses identities whose
   * trigger (.20) is pull_request or pull_request_target, or whose ref (.14) is refs/pull/…, because
   * those runs execute or are steered by code from the pull request — possibly a fork's.
   */
  allowPullRequests?: boolean;
  /** did:x509 identifiers; the certificate path must match at least one */
  did?: string | readonly string[];
}

interface WorkflowRef {
  host: string;
  owner: string;
  repo: string;
  path: string;
  ref: string | undefined;
}

/** `https://host/OWNER/REPO/.github/workflows/file.yml@ref` (workflow files sit directly in .github/workflows). */
function parseWorkflowUri(uri: string): WorkflowRef | undefined {
  const m = /^https:\/\/([^/]+)\/([^/]+)\/([^/]+)\/(\.github\/workflows\/[^/@]+)(?:@(.+))?$/.exec(uri);
  return m ? { host: m[1]!, owner: m[2]!, repo: m[3]!, path: m[4]!, ref: m[5] } : undefined;
}

const sameName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** Runner Environment (.11) values that name provider-hosted runners (Fulcio identity config, per CI). */
export const HOSTED_RUNNER_ENVIRONMENTS: readonly string[] = ['github-hosted', 'gitlab-hosted', 'buildkite-hosted'];

/**
 * The GitHub Actions OIDC issuer for a GitHub host: github.com's, a GHE.com tenant's
 * (https://token.actions.TENANT.ghe.com) or a GitHub Enterprise Server's (https://HOST/_services/token).
 */
export function githubActionsIssuer(host = 'github.com'): string {
  const h = host.toLowerCase();
  if (h === 'github.com') return GITHUB_ACTIONS_ISSUER;
  if (h.endsWith('.ghe.com')) return `https://token.actions.${h}`;
  return `https://${h}/_services/token`;
}

/** A cosign-style regexp: anchored to the full string, so "https://gitlab.com/g/.*" cannot match a prefix elsewhere. */
function fullMatch(field: string, source: string): RegExp {
  try {
    return new RegExp(`^(?:${source})$`, 'u');
  } catch (e) {
    throw new IdentityError('ERR_USAGE', `identity policy ${field} "${source}" is not a valid regular expression: ${(e as Error).message}`);
  }
}

const GITHUB_SHORTCUTS = ['repo', 'repositoryId', 'owner', 'ownerId', 'signerWorkflow', 'signerRepo'] as const;
/** Fields of which at least one must be set: each alone narrows who may sign to one project, pipeline or identity. */
const PINS = [...GITHUB_SHORTCUTS, 'did', 'certificateIdentity', 'certificateIdentityRegexp', 'sourceRepositoryUri', 'buildSignerUri'] as const;
const PULL_REQUEST_TRIGGERS = new Set(['pull_request', 'pull_request_target']);

/** Refuses a policy that pins no identity (repository, owner, signer, SAN, source repository or did:x509): any CI job would pass. */
export function assertPolicyConstrains(policy: IdentityPolicy): void {
  const { repo, owner, signerWorkflow, signerRepo } = policy;
  if (PINS.every((k) => { const v = policy[k]; return v === undefined || v === '' || (Array.isArray(v) && v.length === 0); })) {
    throw new IdentityError(
      'ERR_USAGE',
      `identity policy names none of ${PINS.join(', ')}; every CI job would pass — set certificateIdentity (or its regexp) with certOidcIssuer, or on GitHub at least repo or owner`,
    );
  }
  if (policy.certOidcIssuer !== undefined && policy.certOidcIssuerRegexp !== undefined) {
    throw new IdentityError('ERR_USAGE', 'identity policy sets both certOidcIssuer and certOidcIssuerRegexp; give one');
  }
  if (policy.certificateIdentityRegexp !== undefined) fullMatch('certificateIdentityRegexp', policy.certificateIdentityRegexp);
  if (policy.certOidcIssuerRegexp !== undefined) fullMatch('certOidcIssuerRegexp', policy.certOidcIssuerRegexp);
  if (policy.host !== undefined && !/^[a-z0-9.-]+(?::\d+)?$/i.test(policy.host)) {
    throw new IdentityError('ERR_USAGE', `identity policy host "${policy.host}" must be a host name such as github.com, TENANT.ghe.com or a GitHub Enterprise Server host`);
  }
  for (const [field, v] of [['repo', repo], ['signerRepo', signerRepo]] as const) {
    if (v !== undefined && !/^[^/\s]+\/[^/\s]+$/.test(v)) throw new IdentityError('ERR_USAGE', `identity policy ${field} "${v}" must be OWNER/REPO`);
  }
  if (owner !== undefined && !/^[^/\s]+$/.test(owner)) throw new IdentityError('ERR_USAGE', `identity policy owner "${owner}" must be a user or organisation name`);
  if (typeof signerWorkflow === 'string' && !parseWorkflowUri(expandWorkflow(signerWorkflow, policy.host ?? 'github.com'))) {
    throw new IdentityError('ERR_USAGE', `identity policy signerWorkflow "${signerWorkflow}" must be OWNER/REPO/.github/workflows/FILE[@REF]`);
  }
}

function expandWorkflow(w: string, host: string): string {
  return w.startsWith('https://') ? w : `https://${host}/${w}`;
}

/**
 * Checks a workflow identity (and, for `did`, its validated certificate path) against the policy.
 * Throws one ERR_IDENTITY_POLICY listing every field that did not match.
 */
export function checkIdentityPolicy(identity: WorkflowIdentity, policy: IdentityPolicy, path?: readonly Certificate[]): void {
  assertPolicyConstrains(policy);
  const host = policy.host ?? 'github.com';
  const refusals: IdentityRefusal[] = [];
  const lines: string[] = [];
  /** `where` names the certificate field the value was read from */
  const refuse = (field: string, expected: string, actual: string | undefined, where: string) => {
    refusals.push({ field, expected, actual });
    lines.push(`policy ${field} requires ${expected}, but the certificate's ${where} is ${actual === undefined ? '(absent)' : `"${actual}"`}`);
  };
  const equal = (field: string, where: string, expected: string | undefined, actual: string | undefined, compare = (a: string, b: string) => a === b) => {
    if (expected !== undefined && (actual === undefined || !compare(expected, actual))) refuse(field, expected, actual, where);
  };
  const SIGNER = `build signer URI (${FULCIO_OID.buildSignerUri})`;

  const ISSUER = `OIDC issuer (${FULCIO_OID.issuerV2})`;
  if (policy.certOidcIssuerRegexp !== undefined) {
    if (!fullMatch('certOidcIssuerRegexp', policy.certOidcIssuerRegexp).test(identity.oidcIssuer)) {
      refuse('certOidcIssuerRegexp', `an issuer matching /^(?:${policy.certOidcIssuerRegexp})$/`, identity.oidcIssuer, ISSUER);
    }
  } else {
    equal('certOidcIssuer', ISSUER, policy.certOidcIssuer ?? githubActionsIssuer(host), identity.oidcIssuer);
  }
  const SAN = 'Subject Alternative Name';
  equal('certificateIdentity', SAN, policy.certificateIdentity, identity.san.value);
  if (policy.certificateIdentityRegexp !== undefined && !fullMatch('certificateIdentityRegexp', policy.certificateIdentityRegexp).test(identity.san.value)) {
    refuse('certificateIdentityRegexp', `a SAN matching /^(?:${policy.certificateIdentityRegexp})$/`, identity.san.value, SAN);
  }
  equal('sourceRepositoryUri', `source repository (${FULCIO_OID.sourceRepositoryUri})`, policy.sourceRepositoryUri, identity.sourceRepository);
  equal('sourceRepositoryVisibility', `visibility (${FULCIO_OID.sourceRepositoryVisibilityAtSigning})`, policy.sourceRepositoryVisibility, identity.visibility);
  equal('buildSignerUri', `build signer URI (${FULCIO_OID.buildSignerUri})`, policy.buildSignerUri, identity.buildSignerUri);
  equal('runnerEnvironment', `runner environment (${FULCIO_OID.runnerEnvironment})`, policy.runnerEnvironment, identity.runnerEnvironment);
  equal('buildTrigger', `build trigger (${FULCIO_OID.buildTrigger})`, policy.buildTrigger, identity.buildTrigger);
  equal('buildConfigUri', `build config URI (${FULCIO_OID.buildConfigUri})`, policy.buildConfigUri, identity.buildConfigUri);
  equal('repo', `source repository (${FULCIO_OID.sourceRepositoryUri})`, policy.repo && `https://${host}/${policy.repo}`, identity.sourceRepository, sameName);
  equal('repositoryId', `source repository id (${FULCIO_OID.sourceRepositoryIdentifier})`, policy.repositoryId, identity.sourceRepositoryIdentifier);
  equal('owner', `owner (${FULCIO_OID.sourceRepositoryOwnerUri})`, policy.owner && `https://${host}/${policy.owner}`, identity.ownerUri, sameName);
  equal('ownerId', `owner id (${FULCIO_OID.sourceRepositoryOwnerIdentifier})`, policy.ownerId, identity.ownerIdentifier);
  equal('signerDigest', `build signer digest (${FULCIO_OID.buildSignerDigest})`, policy.signerDigest, identity.buildSignerDigest);
  equal('sourceRef', `source ref (${FULCIO_OID.sourceRepositoryRef})`, policy.sourceRef, identity.sourceRepositoryRef);
  equal('sourceDigest', `source digest (${FULCIO_OID.sourceRepositoryDigest})`, policy.sourceDigest, identity.sourceRepositoryDigest);

  const signerUri = identity.buildSignerUri ?? identity.sanUri;
  const signer = signerUri === undefined ? undefined : parseWorkflowUri(signerUri);
  const sw = policy.signerWorkflow;
  if (sw instanceof RegExp) {
    if (signerUri === undefined || !sw.test(signerUri)) refuse('signerWorkflow', String(sw), signerUri, SIGNER);
  } else if (sw !== undefined) {
    const want = parseWorkflowUri(expandWorkflow(sw, host))!;
    const ok =
      signer !== undefined &&
      sameName(want.host, signer.host) &&
      sameName(want.owner, signer.owner) &&
      sameName(want.repo, signer.repo) &&
      want.path === signer.path &&
      (want.ref === undefined || want.ref === signer.ref);
    if (!ok) refuse('signerWorkflow', expandWorkflow(sw, host), signerUri, SIGNER);
  }
  if (policy.signerRepo !== undefined) {
    const [o, r] = policy.signerRepo.split('/') as [string, string];
    if (!signer || !sameName(signer.host, host) || !sameName(signer.owner, o) || !sameName(signer.repo, r)) {
      refuse('signerRepo', `a workflow in https://${host}/${policy.signerRepo}`, signerUri, SIGNER);
    }
  }
  // gh attestation verify's default: without signerWorkflow/signerRepo, the signing workflow must be in `repo` (or under `owner`)
  if (sw === undefined && policy.signerRepo === undefined && (policy.repo !== undefined || policy.owner !== undefined)) {
    const [o, r] = policy.repo !== undefined ? (policy.repo.split('/') as [string, string]) : [policy.owner!, undefined];
    const inside = signer !== undefined && sameName(signer.host, host) && sameName(signer.owner, o) && (r === undefined || sameName(signer.repo, r));
    if (!inside) {
      refuse(
        policy.repo !== undefined ? 'repo' : 'owner',
        `a signer workflow in https://${host}/${policy.repo ?? policy.owner} (set signerWorkflow or signerRepo to accept a reusable workflow from elsewhere)`,
        signerUri,
        SIGNER,
      );
    }
  }
  if (policy.denySelfHostedRunners && !HOSTED_RUNNER_ENVIRONMENTS.includes(identity.runnerEnvironment ?? '')) {
    refuse('denySelfHostedRunners', HOSTED_RUNNER_ENVIRONMENTS.join(' or '), identity.runnerEnvironment, `runner environment (${FULCIO_OID.runnerEnvironment})`);
  }
  if (!policy.allowPullRequests) {
    if (identity.buildTrigger !== undefined && PULL_REQUEST_TRIGGERS.has(identity.buildTrigger)) {
      refuse('allowPullRequests', 'a trigger other than pull_request/pull_request_target', identity.buildTrigger, `build trigger (${FULCIO_OID.buildTrigger})`);
    } else if (identity.sourceRepositoryRef?.startsWith('refs/pull/')) {
      refuse('allowPullRequests', 'a ref other than refs/pull/…', identity.sourceRepositoryRef, `source ref (${FULCIO_OID.sourceRepositoryRef})`);
    }
  }
  if (policy.did !== undefined) {
    const dids = typeof policy.did === 'string' ? [policy.did] : policy.did;
    if (!path) throw new IdentityError('ERR_USAGE', 'identity policy did needs the validated certificate path');
    const reasons: string[] = [];
    const ok = dids.some((d) => {
      try {
        matchDidX509(d, path);
        return true;
      } catch (e) {
        reasons.push((e as Error).message);
        return false;
      }
    });
    if (!ok) {
      refusals.push({ field: 'did', expected: dids.join(' or '), actual: reasons.join('; ') });
      lines.push(`policy did requires a certificate path matching ${dids.join(' or ')}, but it does not: ${reasons.join('; ')}`);
    }
  }

  if (refusals.length > 0) throw new IdentityError('ERR_IDENTITY_POLICY', `identity refused: ${lines.join('; ')}`, { refusals });
}
