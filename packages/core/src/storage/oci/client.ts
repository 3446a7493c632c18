/**
 * A small OCI Distribution 1.1 client over fetch — exactly what statement storage needs: resolve
 * and fetch manifests, push and fetch blobs (POST then PUT), push manifests, list referrers
 * (GET /v2/<name>/referrers/<digest>, with `artifactType` filtering and `Link` pages), and read and
 * write the Referrers Tag Schema index for registries without the API. Content fetched by digest is
 * checked against the digest; every body is bounded; every request is counted.
 *
 * Authentication is challenge-driven: a request goes out anonymously (or with the token already
 * held); a 401 with `WWW-Authenticate: Basic` is retried with the credentials, one with `Bearer`
 * after asking the token service for a token scoped `repository:<name>:pull[,push]`.
 *
 * Origins: redirects, upload Locations and `Link` pages are followed only on the registry's origin,
 * except GET/HEAD of content named by digest (blobs and manifests `sha256:…`, which registries serve
 * from storage hosts and which are checked against that digest here), and the token service the
 * registry's Bearer challenge names (the Docker token protocol puts it elsewhere, e.g. Docker Hub's;
 * HTTPS only when credentials go there). A manifest named by tag is identified by the digest of the
 * bytes fetched, never by a digest header the registry claims.
 */
import { createHash } from 'node:crypto';
import { StorageError } from '../../errors.ts';
import { useProxyFromEnvironment } from '../../http-proxy.ts';
import { DEFAULT_TIMEOUT_MS, type FetchLike, RequestCounter, adviceForStatus, codeForStatus, networkError, onOrigin, originFetch, parseJson, readResponse } from '../http.ts';
import type { StorageLimits } from '../types.ts';
import { type Challenge, type RegistryCredentials, basicAuthorization, parseChallenges } from './auth.ts';
import { type Descriptor, MANIFEST_ACCEPT, OCI_INDEX, isSha256Digest, readDescriptor, referrersTag } from './media-types.ts';
import { isLoopback, registryHost } from './reference.ts';

export interface RegistryClientOptions {
  registry: string;
  repository: string;
  /** resolved credentials; without them only anonymous access (and anonymous tokens) */
  credentials?: RegistryCredentials;
  /** speak HTTP instead of HTTPS; default only for loopback registries */
  plainHttp?: boolean;
  fetch?: FetchLike;
  timeoutMs?: number;
  limits: StorageLimits;
  counter?: RequestCounter;
}

export interface FetchedManifest {
  bytes: Uint8Array;
  mediaType: string;
  digest: string;
  etag?: string;
}

export interface ReferrersListing {
  descriptors: Descriptor[];
  /** the registry applied the artifactType filter (OCI-Filters-Applied) */
  filtered: boolean;
}

type Action = 'pull' | 'push';

const sha256Digest = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export class RegistryClient {
  readonly registry: string;
  readonly repository: string;
  readonly counter: RequestCounter;
  readonly #base: string;
  readonly #credentials: RegistryCredentials | undefined;
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;
  readonly #limits: StorageLimits;
  readonly #plainHttp: boolean;
  #authorization: string | undefined;
  #authorizedFor: Set<Action> = new Set();

  constructor(o: RegistryClientOptions) {
    useProxyFromEnvironment(); // HTTPS_PROXY/HTTP_PROXY/NO_PROXY (http-proxy.ts)
    this.registry = o.registry;
    this.repository = o.repository;
    this.#plainHttp = o.plainHttp ?? isLoopback(o.registry);
    this.#base = `${this.#plainHttp ? 'http' : 'https'}://${registryHost(o.registry)}`;
    this.#credentials = o.credentials;
    this.#timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#limits = o.limits;
    this.counter = o.counter ?? new RequestCounter();
    // another origin only for content addressed by digest, which is checked against it after the read
    const contentAddressed = (from: URL, _to: URL, init: RequestInit | undefined) =>
      (init?.method === 'GET' || init?.method === 'HEAD') && /\/(blobs|manifests)\/sha256:[0-9a-f]{64}$/.test(from.pathname);
    this.#fetch = originFetch(o.fetch ?? globalThis.fetch, contentAddressed, () => this.counter.requests++);
    if (o.credentials?.registryToken) this.#authorization = `Bearer ${o.credentials.registryToken}`;
  }

  get name(): string {
    return `${this.registry}/${this.repository}`;
  }

  #url(path: string): string {
    return `${this.#base}/v2/${this.repository}/${path}`;
  }

  async #raw(method: string, url: string, headers: Record<string, string>, body?: Uint8Array): Promise<Response> {
    this.counter.requests++;
    let res: Response;
    try {
      res = await this.#fetch(url, { method, headers, ...(body ? { body } : {}), signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (e) {
      if (e instanceof StorageError) throw e;
      throw networkError(`${method} ${url.split('?')[0]}`, e);
    }
    return res;
  }

  /** A request with the authorization held, re-authorized once on 401. */
  async #send(method: string, url: string, action: Action, headers: Record<string, string> = {}, body?: Uint8Array): Promise<Response> {
    // credentials go to the registry only, never to another origin it points at (e.g. an upload Location on object storage)
    const own = new URL(url).origin === new URL(this.#base).origin;
    for (let attempt = 0; ; attempt++) {
      const h = { ...headers, ...(this.#authorization && own ? { authorization: this.#authorization } : {}) };
      const res = await this.#raw(method, url, h, body);
      if (res.status !== 401 || attempt === 1 || !own) return res;
      const challenges = parseChallenges(res.headers.get('www-authenticate'));
      await res.body?.cancel().catch(() => undefined);
      await this.#authorize(challenges, action);
    }
  }

  async #authorize(challenges: Challenge[], action: Action): Promise<void> {
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (bearer) {
      this.#authorization = `Bearer ${await this.#token(bearer, action)}`;
      return;
    }
    const header = this.#credentials && basicAuthorization(this.#credentials);
    if (basic && header) {
      if (this.#plainHttp && !isLoopback(this.registry)) {
        throw new StorageError('ERR_STORAGE_AUTH', `${this.name} asks for Basic credentials over plain HTTP; they are sent only over HTTPS or to a loopback registry`, { status: 401 });
      }
      this.#authorization = header;
      return;
    }
    throw new StorageError(
      'ERR_STORAGE_AUTH',
      `${this.name} requires authentication${basic ? ' (Basic)' : challenges.length ? ` (${challenges.map((c) => c.scheme).join(', ')})` : ''} and ${header ? 'the credentials were refused' : 'no credentials were found'} — run docker login ${this.registry} (or set DOCKER_CONFIG) with an account that may ${action} ${this.repository}`,
      { status: 401 },
    );
  }

  /** Docker token authentication: GET realm?service=&scope= (Basic credentials if any), or the OAuth2 refresh-token grant. */
  async #token(challenge: Challenge, action: Action): Promise<string> {
    const realm = challenge.params.realm;
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm ?? '');
    } catch {
      throw new StorageError('ERR_STORAGE_PROTOCOL', `${this.name} sent a Bearer challenge without a usable realm (${JSON.stringify(realm)})`);
    }
    const c = this.#credentials;
    const plainOk = realmUrl.protocol === 'http:' && (isLoopback(realmUrl.host) || (this.#plainHttp && !c));
    if (realmUrl.protocol !== 'https:' && !plainOk) {
      throw new StorageError('ERR_STORAGE_AUTH', `the token service ${realmUrl.origin} of ${this.name} is not HTTPS; credentials are sent only over HTTPS or to loopback`);
    }
    const actions = new Set<Action>([...this.#authorizedFor, action, 'pull']);
    const scopes = new Set<string>([`repository:${this.repository}:${[...actions].sort().join(',')}`]);
    if (challenge.params.scope) for (const s of challenge.params.scope.split(' ')) if (!s.startsWith(`repository:${this.repository}:`)) scopes.add(s);
    const service = challenge.params.service;
    let res: Response;
    if (c?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: c.identityToken, client_id: 'scitt-actions', ...(service ? { service } : {}), scope: [...scopes].join(' ') });
      res = await this.#raw('POST', realmUrl.href, { 'content-type': 'application/x-www-form-urlencoded' }, new TextEncoder().encode(form.toString()));
    } else {
      if (service) realmUrl.searchParams.set('service', service);
      for (const s of scopes) realmUrl.searchParams.append('scope', s);
      const basic = c && basicAuthorization(c);
      res = await this.#raw('GET', realmUrl.href, basic ? { authorization: basic } : {});
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new StorageError(
        'ERR_STORAGE_AUTH',
        `the token service of ${this.name} refused a token for ${[...scopes].join(' ')} (HTTP ${res.status})${c ? '' : ' without credentials'} — ${c ? 'the account may not' : 'run docker login first to'} ${action} ${this.repository}`,
        { status: res.status },
      );
    }
    const body = parseJson(await readResponse(res, this.#limits.documentBytes, 'token response'), 'token response') as { token?: unknown; access_token?: unknown };
    const token = typeof body.token === 'string' && body.token ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
    if (!token) throw new StorageError('ERR_STORAGE_PROTOCOL', `the token service of ${this.name} answered without a token`);
    this.#authorizedFor = actions;
    return token;
  }

  /** A StorageError for an unexpected answer, with the registry's error code and message when it sent JSON errors. */
  async #fail(res: Response, what: string): Promise<StorageError> {
    let detail = '';
    try {
      const body = parseJson(await readResponse(res, 64 * 1024, 'error body'), 'error body') as { errors?: { code?: string; message?: string }[] };
      const e = body.errors?.[0];
      if (e?.code) detail = `: ${e.code}${e.message ? ` (${e.message})` : ''}`;
    } catch {
      // not JSON: the status says it
    }
    const advice = adviceForStatus(res.status);
    return new StorageError(codeForStatus(res.status), `${what} on ${this.name} failed with HTTP ${res.status}${detail}${advice ? ` — ${advice}` : ''}`, { status: res.status });
  }

  /**
   * The descriptor of a manifest, or undefined when it does not exist. By digest, a HEAD whose digest
   * must be that one; by tag, the manifest itself, identified by the digest of its bytes: a digest a
   * registry claims for a tag (Docker-Content-Digest) is never taken as the artifact's identity.
   */
  async resolve(reference: string): Promise<Descriptor | undefined> {
    if (!isSha256Digest(reference)) {
      const m = await this.manifest(reference, MANIFEST_ACCEPT);
      return m && { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
    }
    const res = await this.#send('HEAD', this.#url(`manifests/${reference}`), 'pull', { accept: MANIFEST_ACCEPT });
    if (res.status === 404) return undefined;
    if (!res.ok) throw await this.#fail(res, `resolving ${reference}`);
    const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const digest = res.headers.get('docker-content-digest');
    const size = Number(res.headers.get('content-length'));
    if (isSha256Digest(digest) && Number.isSafeInteger(size) && mediaType) {
      if (isSha256Digest(reference) && digest !== reference) throw new StorageError('ERR_STORAGE_PROTOCOL', `${this.name} answered HEAD ${reference} with digest ${digest}`);
      return { mediaType, digest, size };
    }
    // registries may leave the digest out of HEAD: fetch the manifest and compute it
    const m = await this.manifest(reference, MANIFEST_ACCEPT);
    return m && { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
  }

  /** A manifest by tag or digest, or undefined when it does not exist; by digest, the bytes must hash to it. */
  async manifest(reference: string, accept: string): Promise<FetchedManifest | undefined> {
    const res = await this.#send('GET', this.#url(`manifests/${reference}`), 'pull', { accept });
    if (res.status === 404) {
      await res.body?.cancel().catch(() => undefined);
      return undefined;
    }
    if (!res.ok) throw await this.#fail(res, `fetching manifest ${reference}`);
    const bytes = await readResponse(res, this.#limits.documentBytes, `manifest ${reference}`);
    const digest = sha256Digest(bytes);
    if (isSha256Digest(reference) && digest !== reference) throw new StorageError('ERR_STORAGE_PROTOCOL', `manifest ${reference} from ${this.name} hashes to ${digest}; refusing it`);
    let mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const declared = (parseJsonSafe(bytes) as { mediaType?: unknown } | undefined)?.mediaType;
    if (typeof declared === 'string') mediaType = declared;
    const etag = res.headers.get('etag');
    return { bytes, mediaType, digest, ...(etag ? { etag } : {}) };
  }

  /** Pushes a manifest under a digest or tag; returns the digest and the OCI-Subject header, when the registry processed the subject. */
  async putManifest(reference: string, bytes: Uint8Array, mediaType: string, ifMatch?: string): Promise<{ digest: string; ociSubject?: string }> {
    const res = await this.#send('PUT', this.#url(`manifests/${reference}`), 'push', { 'content-type': mediaType, ...(ifMatch ? { 'if-match': ifMatch } : {}) }, bytes);
    if (res.status !== 201) throw await this.#fail(res, `pushing manifest ${reference}`);
    await res.body?.cancel().catch(() => undefined);
    const digest = sha256Digest(bytes);
    const returned = res.headers.get('docker-content-digest');
    if (returned && returned !== digest) throw new StorageError('ERR_STORAGE_PROTOCOL', `${this.name} stored manifest ${reference} as ${returned}, not ${digest}`);
    const ociSubject = res.headers.get('oci-subject') ?? undefined;
    return { digest, ...(ociSubject ? { ociSubject } : {}) };
  }

  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.#send('HEAD', this.#url(`blobs/${digest}`), 'pull');
    if (res.status === 404) return false;
    if (!res.ok) throw await this.#fail(res, `checking blob ${digest}`);
    return true;
  }

  /** Pushes a blob unless the repository has it: POST to open an upload, PUT the bytes with the digest. */
  async pushBlob(bytes: Uint8Array): Promise<string> {
    const digest = sha256Digest(bytes);
    if (await this.hasBlob(digest)) return digest;
    const post = await this.#send('POST', this.#url('blobs/uploads/'), 'push', { 'content-length': '0' });
    if (post.status !== 202) throw await this.#fail(post, 'opening a blob upload');
    await post.body?.cancel().catch(() => undefined);
    const location = post.headers.get('location');
    if (!location) throw new StorageError('ERR_STORAGE_PROTOCOL', `${this.name} opened a blob upload without a Location`);
    const upload = onOrigin(this.#base, location, `the blob upload Location of ${this.name}`);
    upload.searchParams.set('digest', digest);
    let put: Response;
    try {
      put = await this.#send('PUT', upload.href, 'push', { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) }, bytes);
    } catch (e) {
      // the upload session would linger until the registry times it out: cancel it (failures ignored, as the spec says)
      await this.#send('DELETE', new URL(location, this.#base).href, 'push').then((r) => r.body?.cancel(), () => undefined);
      throw e;
    }
    if (put.status !== 201) throw await this.#fail(put, `uploading blob ${digest}`);
    await put.body?.cancel().catch(() => undefined);
    return digest;
  }

  /**
   * A blob by digest, at most `max` bytes, checked against the digest; undefined when the registry
   * does not have it. `admit` is told the size the registry declares before the body is read, and
   * may wait (so that large bodies are read one at a time); what it returns is called once the body is read.
   */
  async blob(digest: string, max: number, admit?: (declared: number | undefined) => Promise<() => void>): Promise<Uint8Array | undefined> {
    const res = await this.#send('GET', this.#url(`blobs/${digest}`), 'pull');
    if (res.status === 404) {
      await res.body?.cancel().catch(() => undefined);
      return undefined;
    }
    if (!res.ok) throw await this.#fail(res, `fetching blob ${digest}`);
    const length = Number(res.headers.get('content-length') ?? NaN);
    const declared = Number.isSafeInteger(length) && length >= 0 ? length : undefined;
    if (declared !== undefined && declared > max) {
      await res.body?.cancel().catch(() => undefined);
      throw new StorageError('ERR_STORAGE_LIMIT', `blob ${digest} is ${declared} bytes; at most ${max} are read`);
    }
    const done = admit ? await admit(declared) : undefined;
    let bytes: Uint8Array;
    try {
      bytes = await readResponse(res, max, `blob ${digest}`);
    } finally {
      done?.();
    }
    if (sha256Digest(bytes) !== digest) throw new StorageError('ERR_STORAGE_PROTOCOL', `blob ${digest} from ${this.name} does not hash to its digest; refusing it`);
    return bytes;
  }

  /**
   * The referrers of `digest` from the referrers API, following `Link: rel="next"` pages; undefined
   * when the registry does not have the API (404), so the caller falls back to the tag schema.
   */
  async referrers(digest: string, artifactType?: string): Promise<ReferrersListing | undefined> {
    let url: string | undefined = this.#url(`referrers/${digest}${artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : ''}`);
    const descriptors: Descriptor[] = [];
    let filtered = true;
    for (let page = 0; url; page++) {
      if (page === 100) throw new StorageError('ERR_STORAGE_LIMIT', `${this.name} lists referrers of ${digest} over more than 100 pages`);
      const res = await this.#send('GET', url, 'pull', { accept: OCI_INDEX });
      if (res.status === 404 && page === 0) {
        await res.body?.cancel().catch(() => undefined);
        return undefined;
      }
      if (!res.ok) throw await this.#fail(res, `listing referrers of ${digest}`);
      const applied = (res.headers.get('oci-filters-applied') ?? '').split(',').map((s) => s.trim());
      filtered &&= artifactType !== undefined && applied.includes('artifactType');
      descriptors.push(...this.#indexDescriptors(await readResponse(res, this.#limits.documentBytes, `referrers of ${digest}`), `referrers of ${digest}`));
      if (descriptors.length > this.#limits.statements * 10) throw new StorageError('ERR_STORAGE_LIMIT', `${this.name} lists more than ${this.#limits.statements * 10} referrers of ${digest}`);
      const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(res.headers.get('link') ?? '');
      url = next ? onOrigin(this.#base, new URL(next[1]!, url).href, `the next page of referrers of ${this.name}`).href : undefined;
    }
    return { descriptors, filtered };
  }

  #indexDescriptors(bytes: Uint8Array, what: string): Descriptor[] {
    const index = parseJson(bytes, what) as { schemaVersion?: unknown; mediaType?: unknown; manifests?: unknown };
    if (index.schemaVersion !== 2 || !Array.isArray(index.manifests) || (index.mediaType !== undefined && index.mediaType !== OCI_INDEX)) {
      throw new StorageError('ERR_STORAGE_PROTOCOL', `${what} from ${this.name} is not an OCI image index`);
    }
    return index.manifests.map(readDescriptor).filter((d): d is Descriptor => d !== undefined);
  }

  /**
   * The Referrers Tag Schema index of `digest` (`sha256-<hex>`): its raw JSON and descriptors, or
   * undefined when the tag does not exist. A tag that holds something other than an image index is
   * an error: it is not ours to interpret or replace.
   */
  async tagIndex(digest: string): Promise<{ json: Record<string, unknown>; descriptors: Descriptor[]; etag?: string } | undefined> {
    const tag = referrersTag(digest);
    // accept every manifest type: a registry may hide a manifest the Accept header does not list (distribution 2.8 answers 404)
    const m = await this.manifest(tag, MANIFEST_ACCEPT);
    if (!m) return undefined;
    if (m.mediaType !== OCI_INDEX) {
      throw new StorageError('ERR_STORAGE_CONFLICT', `tag ${tag} of ${this.name} holds ${m.mediaType || 'something'}, not the OCI image index the referrers tag schema needs; it is left alone`);
    }
    const descriptors = this.#indexDescriptors(m.bytes, `referrers tag ${tag}`);
    return { json: parseJson(m.bytes, `referrers tag ${tag}`) as Record<string, unknown>, descriptors, ...(m.etag ? { etag: m.etag } : {}) };
  }
}

function parseJsonSafe(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}
