/**
 * OIDC claim sets of GitLab CI, CircleCI and Buildkite jobs, and the certificate Fulcio makes of each:
 * SAN and extensions rendered as Fulcio's identity configuration renders them
 * (sigstore/fulcio config/identity/config.yaml @ 001376a50932095cf4b6e65299ed2d29abe83524,
 * `ci-issuer-metadata`: gitlab-pipeline, circleci-job, buildkite-job; rendered by
 * pkg/identity/ciprovider/principal.go, which leaves empty values out).
 */
import { randomUUID } from 'node:crypto';
import { FULCIO_ARC } from './identity-certs.ts';

export type CiProvider = 'gitlab' | 'circleci' | 'buildkite';

export const GITLAB_ISSUER = 'https://gitlab.com';
/** the other GitLab instances Fulcio's public-good configuration serves as gitlab-pipeline */
const OTHER_GITLAB_ISSUERS = ['https://dev.gitlab.org', 'https://gitlab.archlinux.org', 'https://ops.gitlab.net'];
export const BUILDKITE_ISSUER = 'https://agent.buildkite.com';
/** CircleCI tokens are issued per organisation (Fulcio meta-issuer https://oidc.circleci.com/org/*) */
export const circleciIssuer = (orgId: string) => `https://oidc.circleci.com/org/${orgId}`;

export interface CiJob {
  /** GitLab: GROUP/PROJECT (nested groups allowed); CircleCI: project id; Buildkite: ORG/PIPELINE */
  project: string;
  /** git ref: refs/heads/main or refs/tags/v1 */
  ref?: string;
  sha?: string;
  /** GitLab: gitlab-hosted | self-hosted; Buildkite: buildkite-hosted | self-hosted; CircleCI: 'ssh-rerun' marks a rerun with SSH */
  runnerEnvironment?: string;
  /** GitLab pipeline_source / Buildkite build_source */
  trigger?: string;
  /** CircleCI organisation id (its issuer is per organisation) */
  orgId?: string;
  /** override the token issuer */
  issuer?: string;
  visibility?: string;
}

const NOW = () => Math.floor(Date.now() / 1000);
const DEFAULT_SHA = 'c0ffee0123456789abcdef0123456789abcdef01';

/** GitLab CI/CD ID token claims (docs.gitlab.com: ci/secrets/id_token_authentication). */
function gitlabClaims(job: CiJob, audience = 'sigstore', now = NOW()): Record<string, unknown> {
  const ref = job.ref ?? 'refs/heads/main';
  const refType = ref.startsWith('refs/tags/') ? 'tag' : 'branch';
  const short = ref.replace(/^refs\/(heads|tags)\//, '');
  const namespace = job.project.split('/').slice(0, -1).join('/');
  const iss = job.issuer ?? GITLAB_ISSUER;
  return {
    namespace_id: '72',
    namespace_path: namespace,
    project_id: '4711',
    project_path: job.project,
    user_id: '42',
    user_login: 'ci-user',
    user_email: 'ci-user@example.com',
    user_access_level: 'maintainer',
    pipeline_id: '1000001',
    pipeline_source: job.trigger ?? 'push',
    job_id: '2000002',
    ref: short,
    ref_type: refType,
    ref_path: ref,
    ref_protected: 'true',
    runner_id: 12270837,
    runner_environment: job.runnerEnvironment ?? 'gitlab-hosted',
    sha: job.sha ?? DEFAULT_SHA,
    project_visibility: job.visibility ?? 'public',
    ci_config_ref_uri: `${new URL(iss).host}/${job.project}//.gitlab-ci.yml@${ref}`,
    ci_config_sha: job.sha ?? DEFAULT_SHA,
    jti: randomUUID(),
    iss,
    iat: now,
    nbf: now - 5,
    exp: now + 300,
    sub: `project_path:${job.project}:ref_type:${refType}:ref:${short}`,
    aud: audience,
  };
}

/** CircleCI OIDC token claims (circleci.com/docs/openid-connect-tokens). */
function circleciClaims(job: CiJob, audience = 'sigstore', now = NOW()): Record<string, unknown> {
  const org = job.orgId ?? 'b7a8c1e0-0000-4000-8000-000000000001';
  return {
    iss: job.issuer ?? circleciIssuer(org),
    sub: `org/${org}/project/${job.project}/user/9a0b1c2d-0000-4000-8000-000000000003`,
    aud: audience,
    iat: now,
    exp: now + 300,
    'oidc.circleci.com/project-id': job.project,
    'oidc.circleci.com/pipeline-definition-id': 'de0f1a2b-0000-4000-8000-000000000004',
    'oidc.circleci.com/pipeline-id': '5e6f7a8b-0000-4000-8000-000000000005',
    'oidc.circleci.com/workflow-id': '1c2d3e4f-0000-4000-8000-000000000006',
    'oidc.circleci.com/job-id': '7a8b9c0d-0000-4000-8000-000000000007',
    'oidc.circleci.com/vcs-origin': `github.com/acme/${job.project.slice(0, 8)}`,
    'oidc.circleci.com/vcs-ref': job.ref ?? 'refs/heads/main',
    'oidc.circleci.com/ssh-rerun': job.runnerEnvironment === 'ssh-rerun' ? 'true' : 'false',
    'oidc.circleci.com/context-ids': [],
  };
}

/** Buildkite agent OIDC token claims (buildkite.com/docs/agent/v3/cli-oidc). */
function buildkiteClaims(job: CiJob, audience = 'sigstore', now = NOW()): Record<string, unknown> {
  const [org, pipeline] = job.project.split('/') as [string, string];
  const ref = job.ref ?? 'refs/heads/main';
  const sha = job.sha ?? DEFAULT_SHA;
  return {
    iss: job.issuer ?? BUILDKITE_ISSUER,
    sub: `organization:${org}:pipeline:${pipeline}:ref:${ref}:commit:${sha}:step:release`,
    aud: audience,
    iat: now,
    nbf: now - 5,
    exp: now + 300,
    organization_slug: org,
    pipeline_slug: pipeline,
    build_number: 1337,
    build_branch: ref.startsWith('refs/heads/') ? ref.slice(11) : '',
    build_tag: ref.startsWith('refs/tags/') ? ref.slice(10) : '',
    build_commit: sha,
    build_source: job.trigger ?? 'webhook',
    step_key: 'release',
    job_id: '0190a1b2-0000-4000-8000-000000000008',
    agent_id: '0190a1b2-0000-4000-8000-000000000009',
    runner_environment: job.runnerEnvironment ?? 'buildkite-hosted',
  };
}

export const CLAIMS: Record<CiProvider, (job: CiJob, audience?: string, now?: number) => Record<string, unknown>> = {
  gitlab: gitlabClaims,
  circleci: circleciClaims,
  buildkite: buildkiteClaims,
};

/** Extension OID suffix (wire-format.md §10) by the name Fulcio's config uses. */
const EXT = {
  'build-signer-uri': '9',
  'build-signer-digest': '10',
  'runner-environment': '11',
  'source-repository-uri': '12',
  'source-repository-digest': '13',
  'source-repository-ref': '14',
  'source-repository-identifier': '15',
  'source-repository-owner-uri': '16',
  'source-repository-owner-identifier': '17',
  'build-config-uri': '18',
  'build-config-digest': '19',
  'build-trigger': '20',
  'run-invocation-uri': '21',
  'source-repository-visibility-at-signing': '22',
  'deployment-environment': '23',
} as const;

export interface FulcioFields {
  san: string;
  /** OID → UTF-8 value: DER UTF8String, or raw bytes when legacy (the issuer, in .1 beside .8) */
  extensions: { oid: string; value: string; legacy?: boolean }[];
}

/** What Fulcio puts in the certificate for these claims, template by template. */
export function fulcioFields(ci: CiProvider, c: Record<string, unknown>): FulcioFields {
  const s = (k: string) => String(c[k] ?? '');
  let san: string;
  let ext: Partial<Record<keyof typeof EXT, string>>;
  if (ci === 'gitlab') {
    const url = 'https://gitlab.com';
    san = `https://${s('ci_config_ref_uri')}`;
    ext = {
      'build-signer-uri': san,
      'build-signer-digest': s('ci_config_sha'),
      'runner-environment': s('runner_environment'),
      'source-repository-uri': `${url}/${s('project_path')}`,
      'source-repository-digest': s('sha'),
      'source-repository-ref': `refs/${s('ref_type') === 'branch' ? 'heads/' : 'tags/'}${s('ref')}`,
      'source-repository-identifier': s('project_id'),
      'source-repository-owner-uri': `${url}/${s('namespace_path')}`,
      'source-repository-owner-identifier': s('namespace_id'),
      'build-config-uri': san,
      'build-config-digest': s('ci_config_sha'),
      'build-trigger': s('pipeline_source'),
      'run-invocation-uri': `${url}/${s('project_path')}/-/jobs/${s('job_id')}`,
      'source-repository-visibility-at-signing': s('project_visibility'),
      'deployment-environment': s('environment'),
    };
  } else if (ci === 'circleci') {
    const api = 'https://circleci.com/api/v2';
    const k = (n: string) => s(`oidc.circleci.com/${n}`);
    san = `${api}/projects/${k('project-id')}/pipeline-definitions/${k('pipeline-definition-id')}`;
    ext = {
      'build-config-uri': `${api}/pipeline/${k('pipeline-id')}/config`,
      'build-signer-uri': san,
      'run-invocation-uri': `https://app.circleci.com//workflow/${k('workflow-id')}/job/${k('job-id')}`,
      // the template's else branch is the literal text "" (two quote characters), as Fulcio renders it
      'runner-environment': k('ssh-rerun') === 'true' ? 'ssh-rerun' : '""',
      'source-repository-ref': k('vcs-ref'),
      'source-repository-uri': k('vcs-origin'),
    };
  } else {
    san = `https://buildkite.com/${s('organization_slug')}/${s('pipeline_slug')}`;
    ext = {
      'run-invocation-uri': `https://buildkite.com/${s('organization_slug')}/${s('pipeline_slug')}/builds/${s('build_number')}#${s('job_id')}`,
      'runner-environment': s('runner_environment'),
      'source-repository-digest': s('build_commit'),
      'build-trigger': s('build_source'),
    };
  }
  const extensions: FulcioFields['extensions'] = [
    { oid: `${FULCIO_ARC}.1`, value: s('iss'), legacy: true },
    { oid: `${FULCIO_ARC}.8`, value: s('iss') },
  ];
  for (const [name, value] of Object.entries(ext)) if (value) extensions.push({ oid: `${FULCIO_ARC}.${EXT[name as keyof typeof EXT]}`, value });
  return { san, extensions };
}

/** Which CI a token issuer belongs to, as Fulcio's issuer and meta-issuer table says. */
export function ciOfIssuer(iss: string): CiProvider | undefined {
  if (iss === GITLAB_ISSUER || OTHER_GITLAB_ISSUERS.includes(iss)) return 'gitlab';
  if (iss === BUILDKITE_ISSUER) return 'buildkite';
  if (/^https:\/\/oidc\.circleci\.com\/org\/[^/]+$/.test(iss)) return 'circleci';
  return undefined;
}
