/**
 * SLSA Provenance v1 for a GitHub Actions run, in the shape actions/attest-build-provenance writes:
 * buildType https://actions.github.io/buildtypes/workflow/v1 (github.com/actions/buildtypes,
 * workflow/v1), built from the runner's environment variables and wrapped in an in-toto Statement v1
 * whose subjects are the artifacts.
 */
import { PayloadError } from '../errors.ts';
import type { InTotoStatement, InTotoSubject } from './in-toto.ts';
import { GITHUB_WORKFLOW_BUILD_TYPE, IN_TOTO_STATEMENT_V1, SLSA_PROVENANCE_V1 } from './media-types.ts';

/** The runner environment this reads; GitHub sets all of them in every job. */
export interface GitHubActionsEnv {
  GITHUB_SERVER_URL?: string;
  GITHUB_REPOSITORY?: string;
  GITHUB_REPOSITORY_ID?: string;
  GITHUB_REPOSITORY_OWNER_ID?: string;
  GITHUB_REF?: string;
  GITHUB_SHA?: string;
  GITHUB_WORKFLOW_REF?: string;
  GITHUB_RUN_ID?: string;
  GITHUB_RUN_ATTEMPT?: string;
  GITHUB_EVENT_NAME?: string;
  RUNNER_ENVIRONMENT?: string;
  [name: string]: string | undefined;
}

export const REQUIRED_GITHUB_ENV = [
  'GITHUB_SERVER_URL',
  'GITHUB_REPOSITORY',
  'GITHUB_REPOSITORY_ID',
  'GITHUB_REPOSITORY_OWNER_ID',
  'GITHUB_REF',
  'GITHUB_SHA',
  'GITHUB_WORKFLOW_REF',
  'GITHUB_RUN_ID',
  'GITHUB_RUN_ATTEMPT',
  'GITHUB_EVENT_NAME',
] as const;

export interface ResourceDescriptor {
  uri?: string;
  digest?: Record<string, string>;
  name?: string;
}

/** SLSA Provenance v1 predicate (https://slsa.dev/spec/v1.1/provenance) for the GitHub workflow buildType. */
export interface SlsaProvenanceV1 {
  buildDefinition: {
    buildType: string;
    externalParameters: { workflow: { ref: string; repository: string; path: string } };
    internalParameters: { github: { event_name: string; repository_id: string; repository_owner_id: string; runner_environment?: string } };
    resolvedDependencies: ResourceDescriptor[];
  };
  runDetails: {
    builder: { id: string };
    metadata: { invocationId: string; startedOn?: string; finishedOn?: string };
  };
}

export interface ProvenanceOptions {
  /**
   * The workflow that builds and signs, when it is a reusable workflow called by GITHUB_WORKFLOW_REF
   * (the `job_workflow_ref` claim of the job's OIDC token); defaults to GITHUB_WORKFLOW_REF.
   */
  jobWorkflowRef?: string;
  /** RFC 3339 times for runDetails.metadata */
  startedOn?: string;
  finishedOn?: string;
}

function invalid(name: string, value: string, expected: string): PayloadError {
  return new PayloadError('ERR_PROVENANCE_ENV', `${name}=${JSON.stringify(value)} is not ${expected}; provenance must be generated inside a GitHub Actions job`);
}

/** Reads and checks the variables; names every missing one at once. */
function readEnv(env: GitHubActionsEnv): Record<(typeof REQUIRED_GITHUB_ENV)[number], string> & { RUNNER_ENVIRONMENT?: string } {
  const missing = REQUIRED_GITHUB_ENV.filter((k) => !env[k]?.trim());
  if (missing.length) {
    throw new PayloadError(
      'ERR_PROVENANCE_ENV',
      `cannot generate GitHub Actions provenance: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set; run inside a GitHub Actions job, or pass a recorded environment that has them`,
    );
  }
  const v = Object.fromEntries(REQUIRED_GITHUB_ENV.map((k) => [k, env[k]!.trim()])) as Record<(typeof REQUIRED_GITHUB_ENV)[number], string>;
  let server: URL;
  try {
    server = new URL(v.GITHUB_SERVER_URL);
  } catch {
    throw invalid('GITHUB_SERVER_URL', v.GITHUB_SERVER_URL, 'an https URL');
  }
  if (server.protocol !== 'https:') throw invalid('GITHUB_SERVER_URL', v.GITHUB_SERVER_URL, 'an https URL');
  v.GITHUB_SERVER_URL = v.GITHUB_SERVER_URL.replace(/\/+$/, '');
  if (!/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(v.GITHUB_REPOSITORY)) throw invalid('GITHUB_REPOSITORY', v.GITHUB_REPOSITORY, 'OWNER/REPO');
  if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(v.GITHUB_SHA)) throw invalid('GITHUB_SHA', v.GITHUB_SHA, 'a 40 or 64 hex digit commit id');
  if (!v.GITHUB_REF.startsWith('refs/')) throw invalid('GITHUB_REF', v.GITHUB_REF, 'a git ref (refs/...)');
  for (const k of ['GITHUB_REPOSITORY_ID', 'GITHUB_REPOSITORY_OWNER_ID', 'GITHUB_RUN_ID', 'GITHUB_RUN_ATTEMPT'] as const) {
    if (!/^\d+$/.test(v[k])) throw invalid(k, v[k], 'a number');
  }
  const runner = env.RUNNER_ENVIRONMENT?.trim();
  return runner ? { ...v, RUNNER_ENVIRONMENT: runner } : v;
}

/**
 * The workflow file's path from GITHUB_WORKFLOW_REF (`OWNER/REPO/.github/workflows/x.yml@REF`): remove the
 * `OWNER/REPO/` prefix and the `@REF` suffix (buildtypes workflow/v1). Path and ref may contain `@`, so the
 * known ref is stripped rather than splitting at the first `@`.
 */
export function workflowPath(workflowRef: string, repository: string, ref: string): string {
  const prefix = `${repository}/`;
  if (!workflowRef.startsWith(prefix)) throw invalid('GITHUB_WORKFLOW_REF', workflowRef, `a workflow of ${repository} (${prefix}.github/workflows/<file>@<ref>)`);
  const rest = workflowRef.slice(prefix.length);
  if (rest.endsWith(`@${ref}`)) return rest.slice(0, -(ref.length + 1));
  // a workflow_ref whose ref differs from GITHUB_REF: split after the workflow file's extension
  const m = /^(.+\.ya?ml)@.+$/.exec(rest);
  if (!m) throw invalid('GITHUB_WORKFLOW_REF', workflowRef, 'OWNER/REPO/<path>.yml@<ref>');
  return m[1]!;
}

/** SLSA Provenance v1 predicate for the current GitHub Actions run. */
export function buildProvenancePredicate(env: GitHubActionsEnv, options: ProvenanceOptions = {}): SlsaProvenanceV1 {
  const v = readEnv(env);
  const server = v.GITHUB_SERVER_URL;
  const repository = `${server}/${v.GITHUB_REPOSITORY}`;
  const github: SlsaProvenanceV1['buildDefinition']['internalParameters']['github'] = {
    event_name: v.GITHUB_EVENT_NAME,
    repository_id: v.GITHUB_REPOSITORY_ID,
    repository_owner_id: v.GITHUB_REPOSITORY_OWNER_ID,
  };
  if (v.RUNNER_ENVIRONMENT) github.runner_environment = v.RUNNER_ENVIRONMENT;
  const metadata: SlsaProvenanceV1['runDetails']['metadata'] = {
    invocationId: `${repository}/actions/runs/${v.GITHUB_RUN_ID}/attempts/${v.GITHUB_RUN_ATTEMPT}`,
  };
  if (options.startedOn) metadata.startedOn = options.startedOn;
  if (options.finishedOn) metadata.finishedOn = options.finishedOn;
  return {
    buildDefinition: {
      buildType: GITHUB_WORKFLOW_BUILD_TYPE,
      externalParameters: {
        workflow: { ref: v.GITHUB_REF, repository, path: workflowPath(v.GITHUB_WORKFLOW_REF, v.GITHUB_REPOSITORY, v.GITHUB_REF) },
      },
      internalParameters: { github },
      // SPDX download location form: git+<repository>@<ref>, resolved to the commit that ran
      resolvedDependencies: [{ uri: `git+${repository}@${v.GITHUB_REF}`, digest: { gitCommit: v.GITHUB_SHA } }],
    },
    runDetails: {
      // the workflow that produced (and signs) the provenance: server URL + job_workflow_ref
      builder: { id: `${server}/${options.jobWorkflowRef?.trim() || v.GITHUB_WORKFLOW_REF}` },
      metadata,
    },
  };
}

/** An in-toto Statement v1 carrying SLSA Provenance v1 about `subjects`. */
export function buildProvenanceStatement(subjects: readonly InTotoSubject[], env: GitHubActionsEnv, options: ProvenanceOptions = {}): InTotoStatement<SlsaProvenanceV1> {
  if (!subjects.length) throw new PayloadError('ERR_SUBJECT_INVALID', 'provenance needs at least one subject (the artifacts the run built)');
  return {
    _type: IN_TOTO_STATEMENT_V1,
    subject: subjects.map((s) => ({ name: s.name, digest: { ...s.digest } })),
    predicateType: SLSA_PROVENANCE_V1,
    predicate: buildProvenancePredicate(env, options),
  };
}
