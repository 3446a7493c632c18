/**
 * Registry authentication against real docker-registry processes: htpasswd (Basic challenge) and
 * token auth (Bearer challenge, with the token service in storage-token-server.ts), with credentials
 * from a Docker config.json (auths entries, identity tokens, credential helpers) or none.
 */
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StorageError } from '../src/errors.ts';
import { dockerCredentials } from '../src/storage/oci/auth.ts';
import { OciStatementStore } from '../src/storage/oci/store.ts';
import { type RegistryProcess, TEST_PASSWORD, TEST_USER, pushTestImage, startRegistry } from './helpers/storage-registry.ts';
import { type TokenServer, startTokenServer } from './helpers/storage-token-server.ts';
import { hex, ociSub, statementItem, transparentStatement } from './helpers/storage-statements.ts';

const basic = `Basic ${Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64')}`;

async function dockerConfig(config: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'scitt-docker-config-'));
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

async function failure(p: Promise<unknown>): Promise<StorageError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(StorageError);
  return e as StorageError;
}

let n = 0;

describe('Basic authentication (htpasswd)', () => {
  let registry: RegistryProcess;
  beforeAll(async () => {
    registry = await startRegistry({ auth: { htpasswd: true } });
  });
  afterAll(() => registry?.stop());

  async function image() {
    const repository = `auth/basic${n++}`;
    const subject = await pushTestImage(registry.url, repository, 'v1', { authorization: basic });
    const sha256 = subject.digest.slice(7);
    return { repository, artifact: { name: `${registry.host}/${repository}`, sha256 }, sub: ociSub('app', sha256, `${registry.host}/${repository}`) };
  }

  it('uses the auths entry of the Docker config for the registry', async () => {
    const { repository, artifact, sub } = await image();
    const dir = await dockerConfig({ auths: { [registry.host]: { auth: Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64') } } });
    const s = await transparentStatement(sub);
    const store = new OciStatementStore({ registry: registry.host, repository, dockerConfigDir: dir });
    await store.attach(artifact, [statementItem(s.transparent)]);
    const found = await new OciStatementStore({ registry: registry.host, repository, dockerConfigDir: dir }).discover(artifact);
    expect(found.statements.map((f) => hex(f.bytes))).toEqual([hex(s.transparent)]);
    // one 401 to learn the challenge, then authenticated: referrers (404), tag index, blob
    expect(found.requests).toBe(4);
  });

  it('says so when there are no credentials, or wrong ones', async () => {
    const { repository, artifact } = await image();
    const none = await failure(new OciStatementStore({ registry: registry.host, repository, dockerConfigDir: await dockerConfig({}) }).discover(artifact));
    expect(none.code).toBe('ERR_STORAGE_AUTH');
    expect(none.message).toMatch(/requires authentication \(Basic\) and no credentials were found — run docker login/);
    const wrong = await failure(new OciStatementStore({ registry: registry.host, repository, credentials: { username: TEST_USER, password: 'wrong' } }).discover(artifact));
    expect(wrong.code).toBe('ERR_STORAGE_AUTH');
    expect(wrong.status).toBe(401);
  });

  it('asks a credential helper named in the Docker config', async () => {
    const { repository, artifact, sub } = await image();
    const bin = await mkdtemp(join(tmpdir(), 'scitt-cred-helper-'));
    const helper = join(bin, 'docker-credential-scitt-test');
    await writeFile(helper, `#!/bin/sh\nread server\n[ "$1" = get ] && [ "$server" = "${registry.host}" ] || exit 1\necho '{"ServerURL":"'$server'","Username":"${TEST_USER}","Secret":"${TEST_PASSWORD}"}'\n`);
    await chmod(helper, 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      const dir = await dockerConfig({ credHelpers: { [registry.host]: 'scitt-test' } });
      expect(await dockerCredentials(registry.host, { configDir: dir })).toEqual({ username: TEST_USER, password: TEST_PASSWORD });
      const s = await transparentStatement(sub);
      await new OciStatementStore({ registry: registry.host, repository, dockerConfigDir: dir }).attach(artifact, [statementItem(s.transparent)]);
      expect((await new OciStatementStore({ registry: registry.host, repository, dockerConfigDir: dir }).discover(artifact)).statements).toHaveLength(1);
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('Bearer token authentication', () => {
  let registry: RegistryProcess;
  let tokens: TokenServer;
  const previous = process.env.DOCKER_CONFIG;
  beforeAll(async () => {
    tokens = await startTokenServer({
      dir: await mkdtemp(join(tmpdir(), 'scitt-token-')),
      users: { [TEST_USER]: { password: TEST_PASSWORD, actions: ['pull', 'push'] }, reader: { password: 'reader-password', actions: ['pull'] } },
      anonymous: ['pull'],
      refreshTokens: { 'refresh-token-of-scitt': TEST_USER },
    });
    registry = await startRegistry({ auth: { token: tokens } });
  });
  afterAll(async () => {
    await registry?.stop();
    await tokens?.close();
  });
  afterEach(() => {
    if (previous === undefined) delete process.env.DOCKER_CONFIG;
    else process.env.DOCKER_CONFIG = previous;
  });

  async function image() {
    const repository = `auth/token${n++}`;
    const res = await fetch(`${tokens.realm}?service=${tokens.service}&scope=repository:${repository}:pull,push`, { headers: { authorization: basic } });
    const { token } = (await res.json()) as { token: string };
    const subject = await pushTestImage(registry.url, repository, 'v1', { authorization: `Bearer ${token}` });
    const sha256 = subject.digest.slice(7);
    return { repository, artifact: { name: `${registry.host}/${repository}`, sha256 }, sub: ociSub('app', sha256, `${registry.host}/${repository}`) };
  }

  it('gets a push token with the Docker config credentials (DOCKER_CONFIG), and discovers anonymously', async () => {
    const { repository, artifact, sub } = await image();
    process.env.DOCKER_CONFIG = await dockerConfig({ auths: { [`https://${registry.host}`]: { username: TEST_USER, password: TEST_PASSWORD } } });
    const s = await transparentStatement(sub);
    const from = tokens.requests.length;
    await new OciStatementStore({ registry: registry.host, repository }).attach(artifact, [statementItem(s.transparent)]);
    const issued = tokens.requests.slice(from);
    expect(issued.every((r) => r.user === TEST_USER && r.status === 200)).toBe(true);
    expect(issued.at(-1)!.granted).toEqual([`${repository}:pull,push`]);

    process.env.DOCKER_CONFIG = await dockerConfig({});
    const found = await new OciStatementStore({ registry: registry.host, repository }).discover(artifact);
    expect(found.statements.map((f) => hex(f.bytes))).toEqual([hex(s.transparent)]);
    expect(tokens.requests.at(-1)).toMatchObject({ user: undefined, granted: [`${repository}:pull`] });
  });

  it('refuses to attach with a token that only allows pulling', async () => {
    const { repository, artifact, sub } = await image();
    const s = await transparentStatement(sub);
    const anonymous = await failure(new OciStatementStore({ registry: registry.host, repository, dockerConfigDir: await dockerConfig({}) }).attach(artifact, [statementItem(s.transparent)]));
    expect(anonymous.code).toBe('ERR_STORAGE_AUTH');
    const reader = await failure(new OciStatementStore({ registry: registry.host, repository, credentials: { username: 'reader', password: 'reader-password' } }).attach(artifact, [statementItem(s.transparent)]));
    expect(reader.code).toBe('ERR_STORAGE_AUTH');
    const wrong = await failure(new OciStatementStore({ registry: registry.host, repository, credentials: { username: TEST_USER, password: 'nope' } }).discover(artifact));
    expect(wrong.code).toBe('ERR_STORAGE_AUTH');
    expect(wrong.message).toMatch(/token service .* refused/);
  });

  it('exchanges a Docker config identity token (OAuth2 refresh token) for an access token', async () => {
    const { repository, artifact, sub } = await image();
    const dir = await dockerConfig({ auths: { [registry.host]: { identitytoken: 'refresh-token-of-scitt' } } });
    const s = await transparentStatement(sub);
    await new OciStatementStore({ registry: registry.host, repository, dockerConfigDir: dir }).attach(artifact, [statementItem(s.transparent)]);
    expect(tokens.requests.at(-1)).toMatchObject({ method: 'POST', user: TEST_USER });
    expect((await new OciStatementStore({ registry: registry.host, repository, dockerConfigDir: dir }).discover(artifact)).statements).toHaveLength(1);
  });
});
