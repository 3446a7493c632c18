/**
 * A real OCI registry for storage tests and the storage benchmark: Debian's `docker-registry`
 * (CNCF Distribution 2.8), installed when missing (test/helpers/debian-package.ts) and started per test file on 127.0.0.1 with a free port, filesystem
 * storage in a temporary directory and deletes enabled. Optional auth: htpasswd (Basic) or token
 * (Bearer, see storage-token-server.ts). Failing to install or start is an error that says why;
 * the tests that need the registry never skip.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianPackage } from '../../../../test/helpers/debian-package.ts';

const DOCKER_REGISTRY = '/usr/bin/docker-registry';

/**
 * Bcrypt (cost 5) of the test password, as `htpasswd -B` writes it; made once with
 * Python's crypt.crypt('scitt-test-password', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32)).
 */
export const TEST_USER = 'scitt';
export const TEST_PASSWORD = 'scitt-test-password';
const TEST_HTPASSWD = `${TEST_USER}:$2b$05$WVGlpDbdLz7g1sbF6kaZ1OjFrbH0psSjhccWhC11Rx9o8cb1VR9bW\n`;

const ensureDockerRegistry = () => ensureDebianPackage(DOCKER_REGISTRY, 'docker-registry');

export type RegistryAuth = { htpasswd: true } | { token: { realm: string; service: string; issuer: string; rootCertBundle: string } };

export interface RegistryProcess {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** 127.0.0.1:PORT — the registry part of references */
  readonly host: string;
  readonly dir: string;
  /** what the registry logged */
  output(): string;
  stop(): Promise<void>;
}

export async function startRegistry(options: { auth?: RegistryAuth } = {}): Promise<RegistryProcess> {
  const bin = await ensureDockerRegistry();
  const dir = await mkdtemp(join(tmpdir(), 'scitt-registry-'));
  await mkdir(join(dir, 'data'));
  let auth = '';
  if (options.auth && 'htpasswd' in options.auth) {
    await writeFile(join(dir, 'htpasswd'), TEST_HTPASSWD);
    auth = `auth:\n  htpasswd:\n    realm: scitt-test\n    path: ${join(dir, 'htpasswd')}\n`;
  } else if (options.auth) {
    const t = options.auth.token;
    auth = `auth:\n  token:\n    realm: ${t.realm}\n    service: ${t.service}\n    issuer: ${t.issuer}\n    rootcertbundle: ${t.rootCertBundle}\n`;
  }
  const config = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    '  addr: 127.0.0.1:0',
    `  secret: ${randomBytes(16).toString('hex')}`,
    auth,
  ].join('\n');
  await writeFile(join(dir, 'config.yml'), config);

  const child: ChildProcess = spawn(bin, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const host = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`docker-registry did not report its address within 20 s:\n${output}`)), 20_000);
    const onData = (c: Buffer) => {
      output += c.toString();
      const m = /listening on (127\.0\.0\.1:\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${bin}: ${e.message}`));
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`docker-registry exited with ${code} before listening:\n${output}`));
    });
  });
  const url = `http://${host}`;
  for (let i = 0; ; i++) {
    const status = await fetch(`${url}/v2/`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200 || status === 401) break;
    if (i === 100) throw new Error(`docker-registry at ${url} does not answer /v2/:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    host,
    dir,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const digestOf = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Pushes a blob with plain fetch (POST, then PUT with the digest), independently of the client under test. */
export async function rawPushBlob(registryUrl: string, repository: string, bytes: Uint8Array, headers: Record<string, string> = {}): Promise<string> {
  const post = await fetch(`${registryUrl}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers });
  if (post.status !== 202) throw new Error(`POST upload: ${post.status}`);
  const location = new URL(post.headers.get('location')!, registryUrl);
  location.searchParams.set('digest', digestOf(bytes));
  const put = await fetch(location, { method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: bytes });
  if (put.status !== 201) throw new Error(`PUT blob: ${put.status} ${await put.text()}`);
  return digestOf(bytes);
}

/** Pushes a manifest (any JSON) under a tag or its digest with plain fetch; returns its descriptor. */
export async function rawPutManifest(
  registryUrl: string,
  repository: string,
  manifest: Record<string, unknown>,
  reference?: string,
  headers: Record<string, string> = {},
): Promise<{ mediaType: string; digest: string; size: number; bytes: Uint8Array; response: Response }> {
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  const mediaType = String(manifest.mediaType);
  const digest = digestOf(bytes);
  const response = await fetch(`${registryUrl}/v2/${repository}/manifests/${reference ?? digest}`, { method: 'PUT', headers: { ...headers, 'content-type': mediaType }, body: bytes });
  if (response.status !== 201) throw new Error(`PUT manifest: ${response.status} ${await response.text()}`);
  return { mediaType, digest, size: bytes.length, bytes, response };
}

/** Pushes a small real image (config blob, one layer, OCI image manifest) under `tag`; returns its manifest descriptor. */
export async function pushTestImage(registryUrl: string, repository: string, tag: string, headers: Record<string, string> = {}): Promise<{ mediaType: string; digest: string; size: number }> {
  const config = new TextEncoder().encode(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = new TextEncoder().encode(`layer ${randomBytes(8).toString('hex')}`);
  const configDigest = await rawPushBlob(registryUrl, repository, config, headers);
  const layerDigest = await rawPushBlob(registryUrl, repository, layer, headers);
  const m = await rawPutManifest(
    registryUrl,
    repository,
    {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
    },
    tag,
    headers,
  );
  return { mediaType: m.mediaType, digest: m.digest, size: m.size };
}
