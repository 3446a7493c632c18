/**
 * The OCI Distribution 1.1 referrers API in front of a real registry that lacks it (docker-registry
 * 2.8): a loopback proxy that forwards every request to the registry and adds what a registry with
 * the API does (distribution-spec "Pushing Manifests with Subject", "Listing Referrers"):
 *
 *   - a manifest PUT whose body has a `subject` is answered with `OCI-Subject: <subject digest>`, and
 *     the manifest's descriptor (mediaType, digest, size, artifactType — or the config's mediaType
 *     when it has none — and all its annotations) is listed for that subject;
 *   - GET /v2/<name>/referrers/<digest> answers 200 with an OCI image index of those descriptors
 *     (400 for a malformed digest, never 404); `?artifactType=` filters and says so with
 *     `OCI-Filters-Applied: artifactType`; with `pageSize`, results come in pages linked by
 *     `Link: <…>; rel="next"`.
 *
 * Options switch filtering off (a registry that ignores the parameter) and inject faults.
 */
import { createHash } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const MAX_BODY = 32 * 1024 * 1024;

export interface ReferrersProxyOptions {
  upstream: string;
  /** apply ?artifactType= (default true) */
  filter?: boolean;
  /** descriptors per referrers page; default all in one */
  pageSize?: number;
  /** point upload Locations at this origin instead of the proxy (as registries do with object storage) */
  uploadOrigin?: string;
}

export interface ProxyFault {
  method?: string;
  pathIncludes?: string;
  status?: number;
  /** cut the connection instead of answering */
  drop?: boolean;
  times?: number;
}

export interface ReferrersProxy {
  readonly url: string;
  readonly host: string;
  readonly log: { method: string; path: string; authorization?: string }[];
  inject(fault: ProxyFault): void;
  close(): Promise<void>;
}

interface Listed {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new Error('request body too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function startReferrersProxy(o: ReferrersProxyOptions): Promise<ReferrersProxy> {
  const referrers = new Map<string, Listed[]>();
  const log: { method: string; path: string; authorization?: string }[] = [];
  const faults: (ProxyFault & { left: number })[] = [];
  let self = '';

  const listReferrers = (res: ServerResponse, url: URL, name: string, digest: string) => {
    if (!/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(digest)) {
      res.writeHead(400, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ errors: [{ code: 'DIGEST_INVALID', message: 'provided digest did not match uploaded content' }] }));
    }
    let list = referrers.get(`${name}@${digest}`) ?? [];
    const headers: Record<string, string> = { 'content-type': OCI_INDEX };
    const artifactType = url.searchParams.get('artifactType');
    if (artifactType !== null && o.filter !== false) {
      list = list.filter((d) => d.artifactType === artifactType);
      headers['oci-filters-applied'] = 'artifactType';
    }
    if (o.pageSize) {
      const page = Number(url.searchParams.get('page') ?? 0);
      const start = page * o.pageSize;
      if (start + o.pageSize < list.length) {
        const next = new URL(url.pathname, self);
        if (artifactType !== null) next.searchParams.set('artifactType', artifactType);
        next.searchParams.set('page', String(page + 1));
        headers.link = `<${next.pathname}${next.search}>; rel="next"`;
      }
      list = list.slice(start, start + o.pageSize);
    }
    const text = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: list });
    headers['content-length'] = String(Buffer.byteLength(text));
    res.writeHead(200, headers);
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url!, self);
    log.push({ method: req.method!, path: url.pathname + url.search, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    const f = faults.find((x) => x.left > 0 && (!x.method || x.method === req.method) && (!x.pathIncludes || url.pathname.includes(x.pathIncludes)));
    if (f) {
      f.left--;
      if (f.drop) return req.socket.destroy();
      res.writeHead(f.status!, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ errors: [{ code: f.status === 401 ? 'UNAUTHORIZED' : f.status === 403 ? 'DENIED' : 'UNKNOWN', message: 'injected' }] }));
    }
    const r = /^\/v2\/(.+)\/referrers\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && r) return listReferrers(res, url, r[1]!, decodeURIComponent(r[2]!));

    const payload = req.method === 'GET' || req.method === 'HEAD' ? undefined : await body(req);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'connection', 'content-length', 'transfer-encoding'].includes(k)) headers[k] = v;
    const up = await fetch(new URL(url.pathname + url.search, o.upstream), { method: req.method!, headers, ...(payload ? { body: payload } : {}), redirect: 'manual' });
    const out: Record<string, string> = {};
    up.headers.forEach((v, k) => {
      if (!['connection', 'transfer-encoding', 'content-encoding', 'keep-alive'].includes(k)) {
        const uploads = k === 'location' && o.uploadOrigin && url.pathname.includes('/blobs/uploads/');
        out[k] = k === 'location' ? v.replace(o.upstream, uploads ? o.uploadOrigin! : self) : v;
      }
    });
    const m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'PUT' && m && up.status === 201 && payload) {
      const manifest = JSON.parse(payload.toString()) as { mediaType?: string; artifactType?: string; config?: { mediaType?: string }; subject?: { digest?: string }; annotations?: Record<string, string> };
      if (manifest.subject?.digest) {
        const digest = `sha256:${createHash('sha256').update(payload).digest('hex')}`;
        const key = `${m[1]}@${manifest.subject.digest}`;
        const list = referrers.get(key) ?? [];
        if (!list.some((d) => d.digest === digest)) {
          const artifactType = manifest.artifactType ?? (manifest.mediaType === OCI_INDEX ? undefined : manifest.config?.mediaType);
          list.push({ mediaType: manifest.mediaType ?? headers['content-type']!, digest, size: payload.length, ...(artifactType ? { artifactType } : {}), ...(manifest.annotations ? { annotations: manifest.annotations } : {}) });
        }
        referrers.set(key, list);
        out['oci-subject'] = manifest.subject.digest;
      }
    }
    const data = Buffer.from(await up.arrayBuffer());
    res.writeHead(up.status, out);
    res.end(req.method === 'HEAD' ? undefined : data);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(e.message);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  self = `http://${host}`;
  return {
    url: self,
    host,
    log,
    inject(fault) {
      faults.push({ ...fault, left: fault.times ?? 1 });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
