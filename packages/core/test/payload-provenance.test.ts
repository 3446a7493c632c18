import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PayloadError } from '../src/errors.ts';
import { detectEvidence } from '../src/payload/detect.ts';
import { GITHUB_WORKFLOW_BUILD_TYPE, SLSA_PROVENANCE_V1 } from '../src/payload/media-types.ts';
import { buildProvenancePredicate, buildProvenanceStatement, workflowPath, type GitHubActionsEnv } from '../src/payload/provenance.ts';
import { validateSchema } from '../src/payload/schemas.ts';
import { sha256Hex } from '../src/payload/hashing.ts';

const dir = new URL('./fixtures/payload/in-toto/', import.meta.url);
const env = JSON.parse(readFileSync(new URL('github-env.too-legit-attest.json', dir), 'utf8')) as GitHubActionsEnv;
/** the statement actions/attest-build-provenance signed in that run (DSSE payload bytes) */
const recorded = readFileSync(new URL('attest-build-provenance.statement.json', dir), 'utf8');
const artifact = readFileSync(new URL('attest-build-provenance.artifact', dir));

function thrown(fn: () => unknown): PayloadError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PayloadError);
    return e as PayloadError;
  }
  throw new Error('expected a PayloadError');
}

describe('SLSA provenance from a recorded GitHub Actions environment', () => {
  const statement = buildProvenanceStatement([{ name: 'artifact', digest: { sha256: sha256Hex(artifact) } }], env);

  it('reproduces, byte for byte, the statement actions/attest-build-provenance signed in the same run', () => {
    expect(JSON.stringify(statement)).toBe(recorded);
  });

  it('names the repository, ref, commit and run', () => {
    const p = statement.predicate!;
    expect(p.buildDefinition.buildType).toBe(GITHUB_WORKFLOW_BUILD_TYPE);
    expect(p.buildDefinition.externalParameters.workflow).toEqual({
      ref: 'refs/heads/main',
      repository: 'https://github.com/too-legit/attest',
      path: '.github/workflows/integration.yml',
    });
    expect(p.buildDefinition.resolvedDependencies).toEqual([
      { uri: 'git+https://github.com/too-legit/attest@refs/heads/main', digest: { gitCommit: '283bf967fa3c591925dd25e6a6e8e781542117bf' } },
    ]);
    expect(p.buildDefinition.internalParameters.github).toEqual({
      event_name: 'workflow_dispatch',
      repository_id: '851894824',
      repository_owner_id: '180348046',
      runner_environment: 'github-hosted',
    });
    expect(p.runDetails.builder.id).toBe('https://github.com/too-legit/attest/.github/workflows/integration.yml@refs/heads/main');
    expect(p.runDetails.metadata.invocationId).toBe('https://github.com/too-legit/attest/actions/runs/10818226125/attempts/1');
  });

  it('validates against the in-toto Statement v1 and SLSA Provenance v1 schemas, and detects as provenance', async () => {
    await expect(validateSchema('SLSA Provenance v1', statement.predicate, 'predicate')).resolves.toBeUndefined();
    const e = await detectEvidence(JSON.stringify(statement), { expected: 'provenance' });
    expect(e).toMatchObject({ kind: 'provenance', predicateType: SLSA_PROVENANCE_V1, subjects: statement.subject });
  });

  it('takes a reusable workflow as the builder when given its job_workflow_ref', () => {
    const p = buildProvenancePredicate(env, { jobWorkflowRef: 'github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d' });
    expect(p.runDetails.builder.id).toBe('https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d');
    expect(p.buildDefinition.externalParameters.workflow.path).toBe('.github/workflows/integration.yml');
  });

  it('names every missing variable', () => {
    const { GITHUB_SHA: _sha, GITHUB_RUN_ID: _run, GITHUB_REPOSITORY_OWNER_ID: _owner, ...partial } = env;
    const e = thrown(() => buildProvenancePredicate(partial));
    expect(e.code).toBe('ERR_PROVENANCE_ENV');
    expect(e.message).toBe(
      'cannot generate GitHub Actions provenance: GITHUB_REPOSITORY_OWNER_ID, GITHUB_SHA, GITHUB_RUN_ID are not set; run inside a GitHub Actions job, or pass a recorded environment that has them',
    );
  });

  it('refuses malformed values', () => {
    expect(thrown(() => buildProvenancePredicate({ ...env, GITHUB_SHA: 'main' })).message).toContain('GITHUB_SHA="main" is not a 40 or 64 hex digit commit id');
    expect(thrown(() => buildProvenancePredicate({ ...env, GITHUB_SERVER_URL: 'http://github.com' })).code).toBe('ERR_PROVENANCE_ENV');
    expect(thrown(() => buildProvenancePredicate({ ...env, GITHUB_WORKFLOW_REF: 'other/repo/.github/workflows/x.yml@refs/heads/main' })).message).toContain(
      'a workflow of too-legit/attest',
    );
  });

  it('omits runner_environment when the runner does not set it, as older attestations do', () => {
    const { RUNNER_ENVIRONMENT: _r, ...older } = env;
    expect(buildProvenancePredicate(older).buildDefinition.internalParameters.github).not.toHaveProperty('runner_environment');
  });

  it('needs at least one subject', () => {
    expect(thrown(() => buildProvenanceStatement([], env)).code).toBe('ERR_SUBJECT_INVALID');
  });
});

describe('workflowPath', () => {
  it('strips the repository prefix and the known ref, even when they contain @', () => {
    expect(workflowPath('o/r/.github/workflows/a@b.yml@refs/tags/v1@2', 'o/r', 'refs/tags/v1@2')).toBe('.github/workflows/a@b.yml');
  });
  it('falls back to the workflow file extension when the ref differs from GITHUB_REF', () => {
    expect(workflowPath('o/r/.github/workflows/release.yaml@refs/heads/main', 'o/r', 'refs/tags/v1')).toBe('.github/workflows/release.yaml');
  });
});
