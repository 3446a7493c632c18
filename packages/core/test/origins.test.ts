/**
 * Trust what was computed, follow URLs only on the origin given: every HTTP client of core (SCRAPI,
 * service keys, OCI registry, GitHub release assets) against hostile servers on loopback speaking
 * each protocol — a second loopback server is "another origin" and records whatever reaches it.
 */
import { createHash } from 'node:crypto';
import { type IncomingHttpHeaders, type ServerResponse, createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ScittError } from '../src/errors.ts';
import { ScrapiClient } from '../src/scrapi/client.ts';
import { GitHubReleaseStore } from '../src/storage/github-release.ts';
import { RegistryClient } from '../src/storage/oci/client.ts';
import { MANIFEST_ACCEPT, OCI_INDEX, OCI_MANIFEST } from '../src/storage/oci/media-types.ts';
import { storageLimits } from '../src/storage/types.ts';
import { loadServiceKeys } from '../src/verify/trust-inputs.ts';
import { attachReceipts } from '../src/receipt/transparent.ts';
import { startGitHubServer } from './helpers/storage-github-server.ts';
import { genericSub, receiptFor, statementItem, transparentStatement } from './helpers/storage-statements.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}
interface Server {
  url: string;
  host: string;
  seen: Seen[];
  close(): Promise<void>;
}

const open: Server[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function server(handler: (req: Seen, res: ServerResponse) => void): Promise<Server> {
  const seen: Seen[] = [];
  const s = createServer((req, res) => {
    const r = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
    seen.push(r);
    req.resume();
    req.on('end', () => handler(r, res));
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(s.address() as AddressInfo).port}`;
  const srv = {
    url: `http://${host}`,
    host,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      }),
  };
  open.push(srv);
  return srv;
}

async function failure(p: Promise<unknown>): Promise<ScittError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ScittError);
  return e as ScittError;
}

const STATEMENT = new Uint8Array([0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40]);
const sha256 = (b: Uint8Array | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('SCRAPI client: Locations only on the service origin; nothing from elsewhere becomes a receipt', () => {
  it('a 303 to another origin is refused before anything is fetched there, with or without waiting', async () => {
    const other = await server((_r, res) => res.writeHead(200, { 'content-type': 'application/cose' }).end(Buffer.from(STATEMENT)));
    const ts = await server((_r, res) => res.writeHead(303, { location: `${other.url}/entries/abc`, 'retry-after': '0' }).end());
    const e = await failure(new ScrapiClient({ url: ts.url, token: 'secret' }).register(STATEMENT));
    expect(e.code).toBe('ERR_ORIGIN');
    expect(e.message).toContain(other.url);
    expect((await failure(new ScrapiClient({ url: ts.url }).register(STATEMENT, { wait: false }))).code).toBe('ERR_ORIGIN');
    expect(other.seen).toEqual([]);
  });

  it('a scheme-relative Location (//host/…) and a legacy operation Location elsewhere are refused too', async () => {
    const other = await server((_r, res) => res.writeHead(200).end('{}'));
    const relative = await server((_r, res) => res.writeHead(303, { location: `//${other.host}/entries/abc` }).end());
    expect((await failure(new ScrapiClient({ url: relative.url }).register(STATEMENT))).code).toBe('ERR_ORIGIN');
    const ccf = await server((_r, res) => res.writeHead(202, { location: `${other.url}/operations/1`, 'content-type': 'application/json' }).end('{"operationId":"1","status":"running"}'));
    expect((await failure(new ScrapiClient({ url: ccf.url }).register(STATEMENT))).code).toBe('ERR_ORIGIN');
    expect(other.seen).toEqual([]);
  });
});

describe('service keys over the network', () => {
  it('http:// key URLs are refused except on loopback, before any request', async () => {
    for (const url of ['http://scitt.example.org', 'http://10.0.0.8:8080', 'http://[fe80::1]']) {
      const e = await failure(new ScrapiClient({ url }).keys());
      expect(e.code).toBe('ERR_INSECURE_URL');
      expect(e.message).toContain('scitt keys');
      expect((await failure(loadServiceKeys(url))).code).toBe('ERR_INSECURE_URL');
    }
  });

  it("a legacy transparency-configuration's jwks_uri is followed only on the same origin", async () => {
    const other = await server((_r, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}'));
    const ts = await server((r, res) => {
      if (r.url === '/.well-known/transparency-configuration') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jwks_uri: `${other.url}/jwks` }));
      res.writeHead(404).end();
    });
    const e = await failure(new ScrapiClient({ url: ts.url }).keys());
    expect(e.code).toBe('ERR_ORIGIN');
    expect(e.message).toContain('jwks_uri');
    expect(other.seen).toEqual([]);
  });

  it('a redirect of the key endpoint is not followed', async () => {
    const other = await server((_r, res) => res.writeHead(200, { 'content-type': 'application/cbor' }).end(Buffer.from([0x80])));
    const ts = await server((_r, res) => res.writeHead(302, { location: `${other.url}/.well-known/scitt-keys` }).end());
    expect((await failure(new ScrapiClient({ url: ts.url, retries: 0 }).keys())).code).toMatch(/^ERR_SCRAPI_/);
    expect(other.seen).toEqual([]);
  });

  it('no error message echoes a response body', async () => {
    const secret = 'SECRET-IN-BODY-\u001b[31m';
    const problem = await server((_r, res) => res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ title: secret, detail: secret })));
    const notJson = await server((r, res) => {
      if (r.url === '/.well-known/transparency-configuration') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"jwks_uri":"/jwks"}');
      if (r.url === '/jwks') return res.writeHead(200, { 'content-type': 'application/json' }).end(`${secret} not json`);
      res.writeHead(404).end();
    });
    for (const url of [problem.url, notJson.url]) {
      const e = await failure(new ScrapiClient({ url, retries: 0 }).keys());
      expect(e.message).not.toContain('SECRET');
    }
  });
});

describe('OCI registry: identity is the digest computed from the bytes; redirects stay on the origin', () => {
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256('{}'), size: 2 }, layers: [] }));
  const client = (host: string, token?: string) =>
    new RegistryClient({ registry: host, repository: 'acme/app', limits: storageLimits(), ...(token ? { credentials: { registryToken: token } } : {}) });

  it("a tag is resolved by hashing its manifest; the registry's Docker-Content-Digest claim is not the identity", async () => {
    const lie = `sha256:${'ab'.repeat(32)}`;
    const reg = await server((r, res) => {
      const headers = { 'content-type': OCI_MANIFEST, 'docker-content-digest': lie, 'content-length': String(manifest.length) };
      if (r.url === '/v2/acme/app/manifests/v1') return r.method === 'HEAD' ? res.writeHead(200, headers).end() : res.writeHead(200, headers).end(manifest);
      res.writeHead(404).end();
    });
    const d = await client(reg.host).resolve('v1');
    expect(d?.digest).toBe(sha256(manifest));
    expect(d?.digest).not.toBe(lie);
  });

  it('a tag manifest, a referrers page or an upload Location on another origin is refused; nothing reaches it', async () => {
    const other = await server((_r, res) => res.writeHead(200, { 'content-type': OCI_INDEX }).end(manifest));
    const reg = await server((r, res) => {
      if (r.url === '/v2/acme/app/manifests/v1') return res.writeHead(307, { location: `${other.url}/v2/acme/app/manifests/v1` }).end();
      if (r.url.startsWith('/v2/acme/app/referrers/')) return res.writeHead(200, { 'content-type': OCI_INDEX, link: `<${other.url}/v2/acme/app/referrers/x?page=2>; rel="next"` }).end(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }));
      if (r.method === 'HEAD' && r.url.includes('/blobs/')) return res.writeHead(404).end();
      if (r.method === 'POST' && r.url === '/v2/acme/app/blobs/uploads/') return res.writeHead(202, { location: `${other.url}/upload/1` }).end();
      res.writeHead(404).end();
    });
    const c = client(reg.host, 'registry-secret');
    expect((await failure(c.manifest('v1', MANIFEST_ACCEPT))).code).toBe('ERR_ORIGIN');
    expect((await failure(c.referrers(sha256(manifest)))).code).toBe('ERR_ORIGIN');
    expect((await failure(c.pushBlob(new TextEncoder().encode('statement')))).code).toBe('ERR_ORIGIN');
    expect(other.seen).toEqual([]);
  });

  it('a blob named by digest may come from a storage host, without credentials, and must hash to its digest', async () => {
    const blob = Buffer.from('evidence bytes');
    const storage = await server((r, res) => res.writeHead(200).end(r.url === '/good' ? blob : Buffer.from('other bytes')));
    const reg = await server((r, res) => {
      if (r.url === `/v2/acme/app/blobs/${sha256(blob)}`) return res.writeHead(307, { location: `${storage.url}/good` }).end();
      if (r.url === `/v2/acme/app/blobs/${sha256('x')}`) return res.writeHead(307, { location: `${storage.url}/bad` }).end();
      res.writeHead(404).end();
    });
    const c = client(reg.host, 'registry-secret');
    expect(Buffer.from((await c.blob(sha256(blob), 1024))!).equals(blob)).toBe(true);
    expect((await failure(c.blob(sha256('x'), 1024))).code).toBe('ERR_STORAGE_PROTOCOL');
    expect(storage.seen.length).toBe(2);
    expect(storage.seen.every((r) => r.headers.authorization === undefined)).toBe(true);
  });
});

describe('GitHub release assets: API calls and uploads stay on the API origin', () => {
  const release = (uploadOrigin: string) => ({ id: 7, tag_name: 'v1', draft: false, html_url: 'http://github.invalid/acme/app/releases/tag/v1', upload_url: `${uploadOrigin}/repos/acme/app/releases/7/assets{?name,label}` });

  it('an upload_url on another origin is refused: neither the statement nor the token goes there', async () => {
    const other = await server((_r, res) => res.writeHead(201).end('{}'));
    const api = await server((r, res) => {
      if (r.url === '/repos/acme/app/releases/tags/v1') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(release(other.url.replace('127.0.0.1', 'localhost.invalid'))));
      if (r.url.startsWith('/repos/acme/app/releases/7/assets')) return res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
      res.writeHead(404).end();
    });
    const s = await transparentStatement(`pkg:generic/app@1.0?checksum=${sha256('app')}`);
    const store = new GitHubReleaseStore({ owner: 'acme', repo: 'app', tag: 'v1', token: 'ghs_secret', baseUrl: api.url });
    const e = await failure(store.attach({ name: 'app.tgz', sha256: sha256('app').slice(7) }, [statementItem(s.transparent)]));
    expect(e.code).toBe('ERR_ORIGIN');
    expect(e.message).toContain('upload_url');
    expect(other.seen).toEqual([]);
  });

  it('an API answer redirected to another origin is refused', async () => {
    const other = await server((_r, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(release('http://127.0.0.1:1'))));
    const api = await server((r, res) => res.writeHead(302, { location: `${other.url}${r.url}` }).end());
    const store = new GitHubReleaseStore({ owner: 'acme', repo: 'app', tag: 'v1', token: 'ghs_secret', baseUrl: api.url });
    expect((await failure(store.release())).code).toBe('ERR_ORIGIN');
    expect(other.seen).toEqual([]);
  });

  it('asset bytes come from the storage host (another origin, without the token); a stored statement is merged again only when it matches the digest the API records', async () => {
    const artifact = { name: 'app-1.0.tgz', sha256: createHash('sha256').update('app').digest('hex') };
    for (const digests of [true, false]) {
      const gh = await startGitHubServer({ digests });
      try {
        gh.addRelease('v1');
        gh.addAsset('v1', artifact.name, Buffer.from('app'));
        const store = new GitHubReleaseStore({ owner: gh.owner, repo: gh.repo, tag: 'v1', token: gh.token, baseUrl: gh.apiUrl });
        const s = await transparentStatement(genericSub(artifact.name, artifact.sha256));
        await store.attach(artifact, [statementItem(s.transparent)]);
        const from = gh.log.length;
        expect((await store.discover(artifact)).statements).toHaveLength(1); // verified later by signature and receipts
        const downloads = gh.log.slice(from).filter((r) => r.origin === 'web');
        expect(downloads.length).toBeGreaterThan(0);
        expect(downloads.every((r) => r.authorization === undefined)).toBe(true);
        const more = attachReceipts(s.signed, [await receiptFor(s.signed, 'https://ts2.example')]);
        const merged = store.attach(artifact, [statementItem(more)]);
        if (digests) expect((await merged)[0]).toMatchObject({ status: 'updated' });
        else expect((await failure(merged)).code).toBe('ERR_ORIGIN');
      } finally {
        await gh.close();
      }
    }
  });
});
