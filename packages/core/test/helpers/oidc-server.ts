/**
 * A loopback stand-in for the GitHub Actions runner's OIDC token endpoint. Like the runner, it
 * answers GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=<aud> carrying
 * `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN` with JSON {"value": "<JWT>"}; the JWT is
 * ES256-signed and carries GitHub's claim set. Point a child process at it through `env`.
 */
import { type KeyObject, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { type AddressInfo } from 'node:net';
import { createServer } from 'node:http';

export const GITHUB_OIDC_ISSUER = 'https://token.actions.githubusercontent.com';

export interface GitHubRun {
  /** OWNER/REPO */
  repository: string;
  repositoryId?: string;
  ownerId?: string;
  /** the workflow file, e.g. .github/workflows/release.yml */
  workflowPath?: string;
  ref?: string;
  sha?: string;
  eventName?: string;
  runnerEnvironment?: 'github-hosted' | 'self-hosted';
  /** a reusable workflow running the job: OWNER/REPO/.github/workflows/x.yml@ref */
  jobWorkflowRef?: string;
  jobWorkflowSha?: string;
  visibility?: 'public' | 'private' | 'internal';
  issuer?: string;
  runId?: string;
  runAttempt?: string;
}

/** GitHub's Actions OIDC claim set for a run (docs: "About security hardening with OpenID Connect"). */
export function githubClaims(run: GitHubRun, audience: string, now = Math.floor(Date.now() / 1000)): Record<string, unknown> {
  const owner = run.repository.split('/')[0]!;
  const ref = run.ref ?? 'refs/heads/main';
  const sha = run.sha ?? 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
  const event = run.eventName ?? 'push';
  const workflowRef = `${run.repository}/${run.workflowPath ?? '.github/workflows/release.yml'}@${ref}`;
  const sub = event === 'pull_request' || event === 'pull_request_target' ? `repo:${run.repository}:pull_request` : `repo:${run.repository}:ref:${ref}`;
  return {
    jti: randomUUID(),
    sub,
    aud: audience,
    ref,
    sha,
    repository: run.repository,
    repository_owner: owner,
    repository_owner_id: run.ownerId ?? '1000001',
    run_id: run.runId ?? '7000000001',
    run_number: '42',
    run_attempt: run.runAttempt ?? '1',
    repository_visibility: run.visibility ?? 'public',
    repository_id: run.repositoryId ?? '2000002',
    actor_id: '3000003',
    actor: 'octocat',
    workflow: 'Release',
    head_ref: '',
    base_ref: '',
    event_name: event,
    ref_protected: 'true',
    ref_type: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    workflow_ref: workflowRef,
    workflow_sha: sha,
    job_workflow_ref: run.jobWorkflowRef ?? workflowRef,
    job_workflow_sha: run.jobWorkflowSha ?? sha,
    runner_environment: run.runnerEnvironment ?? 'github-hosted',
    iss: run.issuer ?? GITHUB_OIDC_ISSUER,
    nbf: now - 5,
    exp: now + 300,
    iat: now,
  };
}

const b64u = (v: Uint8Array | string) => Buffer.from(v).toString('base64url');

export function signJwt(claims: Record<string, unknown>, key: KeyObject, kid: string): string {
  const head = b64u(JSON.stringify({ typ: 'JWT', alg: 'ES256', kid }));
  const body = b64u(JSON.stringify(claims));
  const sig = sign('sha256', Buffer.from(`${head}.${body}`), { key, dsaEncoding: 'ieee-p1363' });
  return `${head}.${body}.${b64u(sig)}`;
}

export interface OidcServer {
  /** ACTIONS_ID_TOKEN_REQUEST_URL (already carries ?api-version=2.0, as the runner's does) */
  readonly requestUrl: string;
  readonly requestToken: string;
  /** the two variables a process needs to get tokens from this server */
  readonly env: { ACTIONS_ID_TOKEN_REQUEST_URL: string; ACTIONS_ID_TOKEN_REQUEST_TOKEN: string };
  /** verifies the JWTs this server issues */
  readonly publicKey: KeyObject;
  readonly kid: string;
  /** the run whose identity the next tokens carry */
  run: GitHubRun;
  /** tokens issued so far */
  readonly issued: number;
  close(): Promise<void>;
}

export async function startOidcServer(run: GitHubRun): Promise<OidcServer> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = randomUUID();
  const requestToken = `runtime-${randomUUID()}`;
  const plan = randomUUID();
  const job = randomUUID();
  const path = `/_apis/distributedtask/hubs/Actions/plans/${plan}/jobs/${job}/idtoken`;
  let issued = 0;
  const state = { run };
  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== path) return reply(404, { message: 'not found' });
    if (url.searchParams.get('api-version') !== '2.0') return reply(400, { message: 'api-version=2.0 is required' });
    const auth = /^bearer (.+)$/i.exec(req.headers.authorization ?? '');
    if (!auth || auth[1] !== requestToken) return reply(401, { message: 'bad runtime token' });
    const audience = url.searchParams.get('audience') ?? `https://github.com/${state.run.repository.split('/')[0]}`;
    issued++;
    reply(200, { value: signJwt(githubClaims(state.run, audience), privateKey, kid) });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const requestUrl = `http://127.0.0.1:${port}${path}?api-version=2.0`;
  return {
    requestUrl,
    requestToken,
    env: { ACTIONS_ID_TOKEN_REQUEST_URL: requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken },
    publicKey,
    kid,
    get run() {
      return state.run;
    },
    set run(r: GitHubRun) {
      state.run = r;
    },
    get issued() {
      return issued;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}
