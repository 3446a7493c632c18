/**
 * The subset of the GitHub REST API that release-asset storage uses, served over loopback HTTP with
 * GitHub's status codes and shapes, on three origins like GitHub's (api.github.com, uploads.github.com,
 * github.com for browser downloads):
 *
 *   GET    /repos/{o}/{r}/releases/tags/{tag}          200 release | 404 (drafts are not found by tag)
 *   GET    /repos/{o}/{r}/releases                      200 list, drafts included (per_page, page)
 *   GET    /repos/{o}/{r}/releases/{id}/assets          200 list (per_page, page, Link rel="next")
 *   POST   uploads: /repos/{o}/{r}/releases/{id}/assets?name=&label=   201 asset | 422 already_exists
 *   GET    /repos/{o}/{r}/releases/assets/{id}          JSON, or with Accept: application/octet-stream
 *                                                        302 to browser_download_url
 *   PATCH  /repos/{o}/{r}/releases/assets/{id}          200 renamed | 422 already_exists
 *   DELETE /repos/{o}/{r}/releases/assets/{id}          204 | 404
 *   GET    web: /{o}/{r}/releases/download/{tag}/{name} 200 bytes
 *
 * Every API and upload request must carry `Authorization: token|Bearer <token>` (401 otherwise); a
 * read-only token gets 403 on writes. Like GitHub, an upload that is cut off leaves the asset in
 * state "starter", which still blocks its name. Faults can be injected per request.
 */
import { createHash } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// GitHub computes an asset's digest once, at upload: memoized per buffer, so listing large releases stays fast
const digests = new WeakMap<Buffer, string>();
function digestOf(bytes: Buffer): string {
  let d = digests.get(bytes);
  if (!d) digests.set(bytes, (d = createHash('sha256').update(bytes).digest('hex')));
  return d;
}

export interface FakeAsset {
  id: number;
  name: string;
  label: string | null;
  content_type: string;
  state: 'starter' | 'uploaded';
  bytes: Buffer;
  releaseId: number;
}

export interface FakeRelease {
  id: number;
  tag_name: string;
  draft: boolean;
}

export interface LoggedRequest {
  origin: 'api' | 'uploads' | 'web';
  method: string;
  path: string;
  authorization: string | undefined;
}

export interface GitHubServerOptions {
  owner?: string;
  repo?: string;
  token?: string;
  /** a token that may read but not write (403 on POST/PATCH/DELETE) */
  readOnlyToken?: string;
  /** include GitHub's asset `digest` field, as github.com does (default true) */
  digests?: boolean;
}

export interface GitHubServer {
  /** Octokit baseUrl */
  readonly apiUrl: string;
  readonly uploadsOrigin: string;
  readonly webOrigin: string;
  readonly owner: string;
  readonly repo: string;
  readonly token: string;
  readonly log: LoggedRequest[];
  readonly assets: FakeAsset[];
  addRelease(tag: string, options?: { draft?: boolean }): FakeRelease;
  assetsOf(tag: string): FakeAsset[];
  /** an uploaded asset, put there directly (as another tool would have) */
  addAsset(tag: string, name: string, bytes: Uint8Array, contentType?: string): FakeAsset;
  /** a fault for the next matching requests: a status to answer with, or `drop` to cut the connection after `afterBytes` of the body */
  inject(fault: Fault): void;
  close(): Promise<void>;
}

export interface Fault {
  origin?: LoggedRequest['origin'];
  method?: string;
  pathIncludes?: string;
  status?: number;
  /** response headers with the status */
  headers?: Record<string, string>;
  drop?: { afterBytes: number };
  /** how many requests it applies to; default 1 */
  times?: number;
}

const MAX_BODY = 64 * 1024 * 1024;

export async function startGitHubServer(options: GitHubServerOptions = {}): Promise<GitHubServer> {
  const owner = options.owner ?? 'octo';
  const repo = options.repo ?? 'app';
  const token = options.token ?? 'ghs_test_token';
  const releases: FakeRelease[] = [];
  const assets: FakeAsset[] = [];
  const log: LoggedRequest[] = [];
  const faults: (Fault & { left: number })[] = [];
  let nextId = 1000;
  let api = '';
  let uploads = '';
  let web = '';

  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { ...(text ? { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) } : {}), ...headers });
    res.end(text);
  };
  const notFound = (res: ServerResponse) => send(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
  const alreadyExists = (res: ServerResponse) =>
    send(res, 422, { message: 'Validation Failed', errors: [{ resource: 'ReleaseAsset', code: 'already_exists', field: 'name' }], documentation_url: 'https://docs.github.com/rest', status: '422' });

  const releaseById = (id: number) => releases.find((r) => r.id === id);
  const downloadUrl = (a: FakeAsset) => `${web}/${owner}/${repo}/releases/download/${encodeURIComponent(releaseById(a.releaseId)!.tag_name)}/${encodeURIComponent(a.name)}`;
  const assetJson = (a: FakeAsset) => ({
    url: `${api}/repos/${owner}/${repo}/releases/assets/${a.id}`,
    id: a.id,
    name: a.name,
    label: a.label,
    content_type: a.content_type,
    state: a.state,
    size: a.bytes.length,
    ...(options.digests !== false ? { digest: `sha256:${digestOf(a.bytes)}` } : {}),
    download_count: 0,
    browser_download_url: downloadUrl(a),
  });
  const releaseJson = (r: FakeRelease) => ({
    url: `${api}/repos/${owner}/${repo}/releases/${r.id}`,
    id: r.id,
    tag_name: r.tag_name,
    draft: r.draft,
    prerelease: false,
    html_url: `${web}/${owner}/${repo}/releases/tag/${encodeURIComponent(r.tag_name)}`,
    upload_url: `${uploads}/repos/${owner}/${repo}/releases/${r.id}/assets{?name,label}`,
    assets: assets.filter((a) => a.releaseId === r.id).map(assetJson),
  });

  const page = <T>(res: ServerResponse, url: URL, all: T[], path: string) => {
    const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30), 100);
    const p = Number(url.searchParams.get('page') ?? 1);
    const slice = all.slice((p - 1) * perPage, p * perPage);
    const headers: Record<string, string> = {};
    if (p * perPage < all.length) headers.link = `<${api}${path}?per_page=${perPage}&page=${p + 1}>; rel="next"`;
    send(res, 200, slice, headers);
  };

  const fault = (origin: LoggedRequest['origin'], req: IncomingMessage): (Fault & { left: number }) | undefined => {
    const f = faults.find((x) => x.left > 0 && (!x.origin || x.origin === origin) && (!x.method || x.method === req.method) && (!x.pathIncludes || req.url!.includes(x.pathIncludes)));
    if (f) f.left--;
    return f;
  };

  const authorized = (req: IncomingMessage, res: ServerResponse, write: boolean): boolean => {
    const m = /^(?:token|bearer) (\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m || (m[1] !== token && m[1] !== options.readOnlyToken)) {
      send(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
      return false;
    }
    if (write && m[1] !== token) {
      send(res, 403, { message: 'Resource not accessible by integration', documentation_url: 'https://docs.github.com/rest', status: '403' });
      return false;
    }
    return true;
  };

  const readBody = (req: IncomingMessage): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) req.destroy(new Error('body too large'));
        else chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });

  const repoPrefix = `/repos/${owner}/${repo}`;

  const apiHandler = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url!, api);
    log.push({ origin: 'api', method: req.method!, path: url.pathname + url.search, authorization: req.headers.authorization });
    const f = fault('api', req);
    if (f?.status) return send(res, f.status, { message: `injected ${f.status}` }, f.headers);
    if (f?.drop) return req.socket.destroy();
    const write = req.method !== 'GET' && req.method !== 'HEAD';
    if (!authorized(req, res, write)) return;
    if (!url.pathname.startsWith(`${repoPrefix}/releases`)) return notFound(res);
    const rest = url.pathname.slice(repoPrefix.length);
    let m: RegExpExecArray | null;
    if (req.method === 'GET' && (m = /^\/releases\/tags\/(.+)$/.exec(rest))) {
      const tag = decodeURIComponent(m[1]!);
      const r = releases.find((x) => x.tag_name === tag && !x.draft);
      return r ? send(res, 200, releaseJson(r)) : notFound(res);
    }
    if (req.method === 'GET' && rest === '/releases') return page(res, url, releases.map(releaseJson), url.pathname);
    if (req.method === 'GET' && (m = /^\/releases\/(\d+)\/assets$/.exec(rest))) {
      const r = releaseById(Number(m[1]));
      if (!r) return notFound(res);
      return page(res, url, assets.filter((a) => a.releaseId === r.id).map(assetJson), url.pathname);
    }
    if ((m = /^\/releases\/assets\/(\d+)$/.exec(rest))) {
      const a = assets.find((x) => x.id === Number(m![1]));
      if (!a) return notFound(res);
      if (req.method === 'GET') {
        if ((req.headers.accept ?? '').includes('application/octet-stream')) return send(res, 302, undefined, { location: downloadUrl(a) });
        return send(res, 200, assetJson(a));
      }
      if (req.method === 'DELETE') {
        assets.splice(assets.indexOf(a), 1);
        return send(res, 204);
      }
      if (req.method === 'PATCH') {
        const body = JSON.parse((await readBody(req)).toString() || '{}') as { name?: string; label?: string };
        if (body.name !== undefined) {
          if (assets.some((x) => x !== a && x.releaseId === a.releaseId && x.name === body.name)) return alreadyExists(res);
          a.name = body.name;
        }
        if (body.label !== undefined) a.label = body.label;
        return send(res, 200, assetJson(a));
      }
    }
    return notFound(res);
  };

  const uploadsHandler = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url!, uploads);
    log.push({ origin: 'uploads', method: req.method!, path: url.pathname + url.search, authorization: req.headers.authorization });
    const f = fault('uploads', req);
    if (f?.status) return send(res, f.status, { message: `injected ${f.status}` });
    if (!authorized(req, res, true)) return;
    const m = new RegExp(`^${repoPrefix}/releases/(\\d+)/assets$`).exec(url.pathname);
    const r = m ? releaseById(Number(m[1])) : undefined;
    if (req.method !== 'POST' || !r) return notFound(res);
    const name = url.searchParams.get('name');
    if (!name) return send(res, 422, { message: 'Validation Failed', errors: [{ resource: 'ReleaseAsset', code: 'missing_field', field: 'name' }] });
    if (!req.headers['content-type'] || req.headers['content-length'] === undefined) return send(res, 400, { message: 'Content-Type and Content-Length are required' });
    if (assets.some((a) => a.releaseId === r.id && a.name === name)) return alreadyExists(res);
    const asset: FakeAsset = { id: nextId++, name, label: url.searchParams.get('label'), content_type: req.headers['content-type'], state: 'starter', bytes: Buffer.alloc(0), releaseId: r.id };
    assets.push(asset);
    const chunks: Buffer[] = [];
    let received = 0;
    req.on('data', (c: Buffer) => {
      chunks.push(c);
      received += c.length;
      asset.bytes = Buffer.concat(chunks);
      if (f?.drop && received >= f.drop.afterBytes) req.socket.destroy();
    });
    req.on('end', () => {
      if (f?.drop) return;
      asset.bytes = Buffer.concat(chunks);
      if (asset.bytes.length !== Number(req.headers['content-length'])) return send(res, 400, { message: 'Content-Length does not match the body' });
      asset.state = 'uploaded';
      send(res, 201, assetJson(asset));
    });
  };

  const webHandler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url!, web);
    log.push({ origin: 'web', method: req.method!, path: url.pathname, authorization: req.headers.authorization });
    const m = new RegExp(`^/${owner}/${repo}/releases/download/([^/]+)/([^/]+)$`).exec(url.pathname);
    const r = m ? releases.find((x) => x.tag_name === decodeURIComponent(m[1]!)) : undefined;
    const a = r ? assets.find((x) => x.releaseId === r.id && x.name === decodeURIComponent(m![2]!) && x.state === 'uploaded') : undefined;
    if (!a) return notFound(res);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(a.bytes.length) });
    res.end(a.bytes);
  };

  const listen = (handler: (req: IncomingMessage, res: ServerResponse) => unknown): Promise<[Server, string]> =>
    new Promise((resolve) => {
      const server = createServer((req, res) => {
        Promise.resolve(handler(req, res)).catch((e: Error) => send(res, 500, { message: e.message }));
      });
      // GitHub keeps connections open longer than Node's 5 s: on a loaded machine a client must not race the server's close
      server.keepAliveTimeout = 60_000;
      server.listen(0, '127.0.0.1', () => resolve([server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`]));
    });
  const [apiServer, apiOrigin] = await listen(apiHandler);
  const [uploadsServer, uploadsOrigin] = await listen(uploadsHandler);
  const [webServer, webOrigin] = await listen(webHandler);
  api = apiOrigin;
  uploads = uploadsOrigin;
  web = webOrigin;

  return {
    apiUrl: api,
    uploadsOrigin: uploads,
    webOrigin: web,
    owner,
    repo,
    token,
    log,
    assets,
    addRelease(tag, o = {}) {
      const r = { id: nextId++, tag_name: tag, draft: o.draft ?? false };
      releases.push(r);
      return r;
    },
    assetsOf(tag) {
      const r = releases.find((x) => x.tag_name === tag);
      return r ? assets.filter((a) => a.releaseId === r.id) : [];
    },
    addAsset(tag, name, bytes, contentType = 'application/octet-stream') {
      const r = releases.find((x) => x.tag_name === tag);
      if (!r) throw new Error(`no release ${tag}`);
      const a: FakeAsset = { id: nextId++, name, label: null, content_type: contentType, state: 'uploaded', bytes: Buffer.from(bytes), releaseId: r.id };
      assets.push(a);
      return a;
    },
    inject(f) {
      faults.push({ ...f, left: f.times ?? 1 });
    },
    close: () =>
      Promise.all(
        [apiServer, uploadsServer, webServer].map(
          (s) =>
            new Promise<void>((resolve) => {
              s.closeAllConnections();
              s.close(() => resolve());
            }),
        ),
      ).then(() => undefined),
  };
}
