/**
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured by every client (issue #15): SCRAPI, TUF, Fulcio
 * (and the OIDC token endpoint), OCI registries and the GitHub API. The CLI runs as a child process
 * with the proxy variables set, and a recording proxy — its own process — says what it carried.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FulcioServer, startFulcioServer } from '../../packages/core/test/helpers/identity-fulcio-server.ts';
import { startTufServer, type TufServer } from '../../packages/core/test/helpers/identity-tuf-server.ts';
import { vectorText } from '../../packages/core/test/helpers/identity-vectors.ts';
import { GITHUB_OIDC_ISSUER, type OidcServer, startOidcServer } from '../../packages/core/test/helpers/oidc-server.ts';
import { type GitHubServer, startGitHubServer } from '../../packages/core/test/helpers/storage-github-server.ts';
import { type RegistryProcess, pushTestImage, startRegistry } from '../../packages/core/test/helpers/storage-registry.ts';
import { scitt } from '../helpers/cli.ts';
import { type RecordingProxy, startRecordingProxy } from '../helpers/recording-proxy.ts';
import { type ServiceProcess, startService } from '../helpers/transparency-service.ts';

describe('every client goes through the proxy the environment names', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scitt-proxy-'));
  let proxy: RecordingProxy;
  let ts: ServiceProcess;
  let tuf: TufServer;
  let gh: GitHubServer;
  let registry: RegistryProcess;
  let oidc: OidcServer;
  let fulcio: FulcioServer;
  // both spellings: tools read either (@npmcli/agent, under @sigstore/sign's Fulcio client, folds them together)
  const through = () => ({ HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url, https_proxy: proxy.url, http_proxy: proxy.url, NO_PROXY: '', no_proxy: '' });
  const portOf = (url: string) => new URL(url).port;
  /** requests the proxy carried to 127.0.0.1:port (tunnelled or forwarded) */
  const carriedTo = (port: string) => proxy.carried().filter((l) => l.includes(`127.0.0.1:${port}`) || l.includes(`localhost:${port}`));

  beforeAll(async () => {
    proxy = await startRecordingProxy();
    ts = await startService();
    tuf = await startTufServer(vectorText('trusted_root.json'));
    gh = await startGitHubServer({ owner: 'acme', repo: 'app' });
    registry = await startRegistry();
    oidc = await startOidcServer({ repository: 'acme/app', workflowPath: '.github/workflows/release.yml', ref: 'refs/tags/v1.0.0', eventName: 'push', runnerEnvironment: 'github-hosted' });
    fulcio = await startFulcioServer({ oidcIssuer: GITHUB_OIDC_ISSUER, oidcPublicKey: oidc.publicKey });
    writeFileSync(join(dir, 'fulcio-root.pem'), fulcio.anchorsPem);
    writeFileSync(join(dir, 'app.tgz'), 'release bytes\n');
    writeFileSync(join(dir, 'sbom.json'), '{"bomFormat":"CycloneDX","specVersion":"1.6","version":1}');
  }, 120_000);
  afterAll(async () => {
    await Promise.allSettled([proxy?.stop(), ts?.stop(), tuf?.close(), gh?.close(), registry?.stop(), oidc?.close(), fulcio?.close()]);
  });

  it('SCRAPI: scitt keys, and NO_PROXY exempts the host', { timeout: 60_000 }, async () => {
    const r = await scitt(['keys', '--ts', ts.url, '--out', 'keys.cbor'], dir, through());
    expect(r.code, r.stderr).toBe(0);
    const n = carriedTo(portOf(ts.url)).length;
    expect(n).toBeGreaterThan(0);
    const direct = await scitt(['keys', '--ts', ts.url, '--out', 'keys2.cbor'], dir, { ...through(), NO_PROXY: '127.0.0.1', no_proxy: '127.0.0.1' });
    expect(direct.code, direct.stderr).toBe(0);
    expect(carriedTo(portOf(ts.url))).toHaveLength(n);
  });

  it('TUF: scitt trusted-root', { timeout: 60_000 }, async () => {
    const r = await scitt(['trusted-root', '--tuf-mirror', tuf.mirrorURL, '--tuf-root', tuf.rootPath, '--tuf-cache', join(dir, 'tuf-cache'), '--out', 'trusted_root.json'], dir, through());
    expect(r.code, r.stderr).toBe(0);
    expect(carriedTo(portOf(tuf.mirrorURL)).length).toBeGreaterThan(0);
  });

  it('GitHub API: scitt discover release:TAG/ASSET', { timeout: 60_000 }, async () => {
    gh.addRelease('v1');
    gh.addAsset('v1', 'app.tgz', readFileSync(join(dir, 'app.tgz')));
    const r = await scitt(['discover', 'release:v1/app.tgz'], dir, { ...through(), GITHUB_REPOSITORY: 'acme/app', GITHUB_TOKEN: gh.token, GITHUB_API_URL: gh.apiUrl });
    expect(r.code, r.stderr).toBe(0);
    expect(carriedTo(portOf(gh.apiUrl)).length).toBeGreaterThan(0);
  });

  it('OCI registry: scitt discover oci://', { timeout: 60_000 }, async () => {
    await pushTestImage(registry.url, 'acme/app', 'v1');
    const r = await scitt(['discover', `oci://${registry.host}/acme/app:v1`], dir, through());
    expect(r.code, r.stderr).toBe(0);
    expect(carriedTo(registry.host.split(':')[1]!).length).toBeGreaterThan(0);
  });

  it('Fulcio and the OIDC token endpoint: scitt statement create --keyless', { timeout: 60_000 }, async () => {
    const sub = `pkg:generic/app.tgz@1?checksum=sha256:${createHash('sha256').update(readFileSync(join(dir, 'app.tgz'))).digest('hex')}`;
    const r = await scitt(['statement', 'create', '--keyless', '--fulcio-url', fulcio.url, '--x509-roots', 'fulcio-root.pem', '--payload', 'sbom.json', '--sub', sub, '--out', 'k.cose'], dir, { ...oidc.env, ...through() });
    expect(r.code, r.stderr).toBe(0);
    expect(carriedTo(portOf(fulcio.url)).length).toBeGreaterThan(0);
    expect(carriedTo(portOf(oidc.env.ACTIONS_ID_TOKEN_REQUEST_URL!)).length).toBeGreaterThan(0);
  });
});
