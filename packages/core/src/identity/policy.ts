/**
 * Identity policy for Fulcio-certified GitHub Actions identities, with the knobs of
 * `gh attestation verify` and cosign: which repository, owner, signer workflow, ref, OIDC issuer and
 * runner a statement may come from. Every refusal names the policy field and the certificate's value.
 */
import { IdentityError, type IdentityRefusal } from '../errors.ts';
import { type Certificate } from './certificate.ts';
import { matchDidX509 } from './did-x509.ts';
import { FULCIO_OID, GITHUB_ACTIONS_ISSUER, type WorkflowIdentity } from './fulcio.ts';

export interface IdentityPolicy {
  /** OIDC issuer, compared exactly (no prefix, no pattern); default https://token.actions.githubusercontent.com */
  certOidcIssuer?: string;
  /** host of OWNER/REPO shorthands; default github.com */
  host?: string;
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
  /** refuse runners other than GitHub-hosted (Runner Environment, .11 must be `github-hosted`) */
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
const PULL_REQUEST_TRIGGERS = new Set(['pull_request', 'pull_request_target']);

/** Refuses a policy that pins no repository, owner, signer workflow or did:x509: any workflow on GitHub would pass. */
export function assertPolicyConstrains(policy: IdentityPolicy): void {
  const { repo, repositoryId, owner, ownerId, signerWorkflow, signerRepo, did } = policy;
  if ([repo, repositoryId, owner, ownerId, signerWorkflow, signerRepo, did].every((v) => v === undefined || (Array.isArray(v) && v.length === 0))) {
    throw new IdentityError(
      'ERR_USAGE',
      'identity policy names no repo, repositoryId, owner, ownerId, signerWorkflow, signerRepo or did; every GitHub workflow would pass — set at least repo or owner',
    );
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

  const issuer = policy.certOidcIssuer ?? GITHUB_ACTIONS_ISSUER;
  equal('certOidcIssuer', `OIDC issuer (${FULCIO_OID.issuerV2})`, issuer, identity.oidcIssuer);
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
  if (policy.denySelfHostedRunners && identity.runnerEnvironment !== 'github-hosted') {
    refuse('denySelfHostedRunners', 'github-hosted', identity.runnerEnvironment, `runner environment (${FULCIO_OID.runnerEnvironment})`);
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
