/**
 * GitHub release assets, through Octokit (the client @actions/github wraps): statements are assets
 * named as files beside the artifact would be (`<asset>.scitt`, `<asset>.<id16>.scitt`, naming.ts),
 * evidence an asset named by the Hash Envelope's payload-location. Uploads go to the release's own
 * `upload_url` template; downloads ask the asset endpoint for application/octet-stream and follow
 * GitHub's redirect to the file.
 *
 * Origins: API calls follow redirects only on the API's origin; `upload_url` must be on the API's
 * origin (or its upload host, uploads.github.com for api.github.com). Only an asset's bytes may come from another
 * (HTTPS) origin — GitHub serves them from its storage hosts — and such bytes are taken only where
 * they are verified afterwards: against the digest the API records for the asset, by the digest the
 * gate computes itself, or by signature and receipts when discovered. A stored statement is merged
 * and saved again only when its bytes are the API-recorded digest's.
 *
 * An asset is never overwritten in place (GitHub has no such operation). Adding receipts to a stored
 * statement goes: upload the merged statement under a staging name that discovery also reads
 * (`<asset>.<random16>.scitt`), delete the old asset, rename the staging asset to the old name — at
 * every step the release holds the statement under a discoverable name. An upload that fails midway
 * (GitHub keeps a broken asset in state "starter") is cleaned up and reported.
 */
import { randomBytes, createHash } from 'node:crypto';
import type { Octokit } from '@octokit/rest';
import { octokitRest } from '../lazy-deps.cjs';
import { type ErrorCode, StorageError } from '../errors.ts';
import { useProxyFromEnvironment } from '../http-proxy.ts';
import { hashAlgorithm } from '../statement/profile.ts';
import { checkArtifact } from './artifact.ts';
import { RequestCounter, type FetchLike, adviceForStatus, codeForStatus, countingFetch, hashLimited, isLoopbackHost, networkError, originFetch, parseJson, readLimited, DEFAULT_TIMEOUT_MS } from './http.ts';
import { alternateStatementName, assertPlainName, isStatementNameFor } from './naming.ts';
import { type ExistingObject, placeStatements } from './plan.ts';
import { DISCOVERY_CONCURRENCY, DiscoveryBudget, type PreparedStatement, STATEMENT_MEDIA_TYPE, dedupeStatements, examineStatement, inPool, prepareItems, sha256Hex } from './statements.ts';
import {
  type ArtifactRef,
  type DiscoverOptions,
  type DiscoveredStatement,
  type DiscoveryResult,
  type SkippedObject,
  type StatementStore,
  type StorageItem,
  type StorageLimits,
  type StoredObject,
  storageLimits,
} from './types.ts';

/** What the store needs of an Octokit: `request`. An @actions/github `getOctokit(token)` client fits. */
export type OctokitLike = Pick<Octokit, 'request'>;

export interface GitHubReleaseStoreOptions {
  owner: string;
  repo: string;
  /** the release's tag; draft releases are found too (with a token that can see them) */
  tag: string;
  /** an authenticated client, e.g. `github.getOctokit(token)` in an action */
  octokit?: OctokitLike;
  /** otherwise a client is made from a token … */
  token?: string;
  /** … and the REST API base URL (default https://api.github.com; GHES: https://HOST/api/v3) */
  baseUrl?: string;
  limits?: Partial<StorageLimits>;
  timeoutMs?: number;
  /** for the client this store makes: the fetch underneath (tests, proxies) */
  fetch?: FetchLike;
}

interface Release {
  id: number;
  tag_name: string;
  draft: boolean;
  upload_url: string;
  html_url: string;
}

export interface ReleaseAsset {
  id: number;
  name: string;
  size: number;
  state: string;
  content_type: string;
  browser_download_url: string;
  /** `sha256:<hex>`, on GitHub since 2025 */
  digest?: string | null;
}

/** a statement asset larger than this is downloaded alone (statements are usually a few KiB) */
const LARGE_ASSET_BYTES = 1024 * 1024;
const PER_PAGE = 100;
/** GitHub allows 1000 assets per release */
const MAX_PAGES = 10;

function isHttpError(e: unknown): e is Error & { status: number; response?: { data?: unknown } } {
  return e instanceof Error && e.name === 'HttpError' && typeof (e as { status?: unknown }).status === 'number';
}

function asRelease(v: unknown): Release {
  const r = v as Partial<Release> | null;
  if (!r || typeof r.id !== 'number' || typeof r.upload_url !== 'string' || typeof r.html_url !== 'string' || typeof r.tag_name !== 'string') {
    throw new StorageError('ERR_STORAGE_PROTOCOL', 'GitHub answered with something that is not a release (id, upload_url, html_url, tag_name missing)');
  }
  return r as Release;
}

function asAsset(v: unknown): ReleaseAsset {
  const a = v as Partial<ReleaseAsset> | null;
  if (!a || typeof a.id !== 'number' || typeof a.name !== 'string' || typeof a.size !== 'number' || typeof a.browser_download_url !== 'string') {
    throw new StorageError('ERR_STORAGE_PROTOCOL', 'GitHub answered with something that is not a release asset (id, name, size, browser_download_url missing)');
  }
  return { state: 'uploaded', content_type: 'application/octet-stream', ...a } as ReleaseAsset;
}

export class GitHubReleaseStore implements StatementStore {
  readonly kind = 'github-release' as const;
  readonly description: string;
  readonly #octokit: OctokitLike;
  readonly #owner: string;
  readonly #repo: string;
  readonly #tag: string;
  readonly #limits: StorageLimits;
  readonly #timeoutMs: number;
  readonly #fetch: FetchLike;
  readonly #baseUrl: string | undefined;
  readonly #counter = new RequestCounter();

  constructor(options: GitHubReleaseStoreOptions) {
    useProxyFromEnvironment(); // HTTPS_PROXY/HTTP_PROXY/NO_PROXY (http-proxy.ts)
    if (!options.owner || !options.repo || !options.tag) throw new StorageError('ERR_STORAGE_TARGET', 'a release store needs owner, repo and tag');
    this.#owner = options.owner;
    this.#repo = options.repo;
    this.#tag = options.tag;
    this.#limits = storageLimits(options.limits);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#baseUrl = options.baseUrl;
    this.#octokit =
      options.octokit ??
      new (octokitRest().Octokit)({
        ...(options.token ? { auth: options.token } : {}),
        ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
        userAgent: 'scitt-actions',
        log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
      });
    this.description = `${options.owner}/${options.repo}@${options.tag}`;
  }

  /** HTTP requests made so far (redirects included). */
  get requests(): number {
    return this.#counter.requests;
  }

  /**
   * Per-request options: a counting fetch bounding bodies to `max`, the timeout; the body handed back
   * raw. Redirects stay on the origin, except for asset bytes (`bytes` given), whose `crossed` then says so.
   */
  #opts(max: number, bytes?: { crossed: boolean }) {
    const allowCross = () => {
      if (!bytes) return false;
      bytes.crossed = true;
      return true;
    };
    const fetch = originFetch(this.#fetch, allowCross, () => this.#counter.requests++);
    return { fetch: countingFetch(this.#counter, max, fetch), signal: AbortSignal.timeout(this.#timeoutMs), parseSuccessResponseBody: false };
  }

  /** The API's origin: given, or the client's own default (GHES clients carry theirs). */
  get #apiOrigin(): string {
    const defaults = (this.#octokit.request as { endpoint?: { DEFAULTS?: { baseUrl?: string } } }).endpoint?.DEFAULTS?.baseUrl;
    return new URL(this.#baseUrl ?? defaults ?? 'https://api.github.com').origin;
  }

  /**
   * upload_url is named by the API's answer: used only on the API's origin, on GitHub's upload host
   * beside an https://api.<domain> API (uploads.github.com, uploads.<tenant>.ghe.com), or — for an API
   * on loopback (a local server speaking GitHub's protocol) — on loopback.
   */
  #checkUploadUrl(uploadUrl: string): void {
    const api = new URL(this.#apiOrigin);
    let url: URL;
    try {
      url = new URL(uploadUrl.replace(/\{[^}]*\}$/, ''));
    } catch {
      throw new StorageError('ERR_STORAGE_PROTOCOL', `the release's upload_url is not a URL; refused`);
    }
    const uploadsHost = api.protocol === 'https:' && api.hostname.startsWith('api.') && url.protocol === 'https:' && url.host === `uploads.${api.host.slice(4)}`;
    if (url.origin === api.origin || uploadsHost || (isLoopbackHost(api.host) && isLoopbackHost(url.host))) return;
    throw new StorageError('ERR_ORIGIN', `the release's upload_url points at ${url.origin}, not ${api.origin} or its upload host: assets (and the token) go only there; refused`);
  }

  async #body(data: unknown, max: number, what: string): Promise<Uint8Array> {
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    return readLimited((data ?? null) as ReadableStream<Uint8Array> | null, max, what);
  }

  /** Runs an Octokit request, turning its errors into StorageErrors that say what to do. */
  async #call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      throw this.#error(what, e);
    }
  }

  #error(what: string, e: unknown): StorageError {
    if (e instanceof StorageError) return e;
    const cause = (e as { cause?: unknown }).cause;
    if (cause instanceof StorageError) return cause;
    if (isHttpError(e) && e.response) {
      const data = e.response.data as { message?: string } | undefined;
      const detail = typeof data === 'object' && data?.message ? `: ${data.message}` : '';
      const headers = (e.response as { headers?: Record<string, string | undefined> }).headers ?? {};
      if (e.status === 429 || (e.status === 403 && (headers['x-ratelimit-remaining'] === '0' || headers['retry-after'] !== undefined))) {
        const wait = headers['retry-after'] ? `${headers['retry-after']} s` : headers['x-ratelimit-reset'] ? `until ${new Date(Number(headers['x-ratelimit-reset']) * 1000).toISOString()}` : 'a while';
        return new StorageError('ERR_STORAGE_UNAVAILABLE', `${what} on ${this.description} was rate limited by GitHub (HTTP ${e.status})${detail} — wait ${wait} and try again`, { status: e.status, cause: e });
      }
      const advice = adviceForStatus(e.status);
      return new StorageError(codeForStatus(e.status), `${what} on ${this.description} failed with HTTP ${e.status}${detail}${advice ? ` — ${advice}` : ''}`, { status: e.status, cause: e });
    }
    return networkError(`${what} on ${this.description}`, cause ?? e);
  }

  async #json(what: string, run: () => Promise<{ data: unknown }>): Promise<unknown> {
    return this.#call(what, async () => parseJson(await this.#body((await run()).data, this.#limits.documentBytes, what), what));
  }

  /** The release by tag; drafts (which the tag endpoint does not show) from the release list. */
  async release(): Promise<Release> {
    try {
      return asRelease(
        await this.#json('finding the release', () =>
          this.#octokit.request('GET /repos/{owner}/{repo}/releases/tags/{tag}', { owner: this.#owner, repo: this.#repo, tag: this.#tag, request: this.#opts(this.#limits.documentBytes) }),
        ),
      );
    } catch (e) {
      if (!(e instanceof StorageError) || e.code !== 'ERR_STORAGE_NOT_FOUND') throw e;
    }
    for (let page = 1; page <= MAX_PAGES; page++) {
      const list = await this.#json('listing releases', () =>
        this.#octokit.request('GET /repos/{owner}/{repo}/releases', { owner: this.#owner, repo: this.#repo, per_page: PER_PAGE, page, request: this.#opts(this.#limits.documentBytes) }),
      );
      if (!Array.isArray(list)) throw new StorageError('ERR_STORAGE_PROTOCOL', 'GitHub answered the release list with something that is not a list');
      const hit = list.find((r: { tag_name?: unknown }) => r?.tag_name === this.#tag);
      if (hit) return asRelease(hit);
      if (list.length < PER_PAGE) break;
    }
    throw new StorageError('ERR_STORAGE_NOT_FOUND', `${this.#owner}/${this.#repo} has no release for tag ${this.#tag}; create it first (e.g. gh release create ${this.#tag} --draft)`);
  }

  async #assets(release: Release): Promise<ReleaseAsset[]> {
    const all: ReleaseAsset[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const list = await this.#json('listing release assets', () =>
        this.#octokit.request('GET /repos/{owner}/{repo}/releases/{release_id}/assets', {
          owner: this.#owner,
          repo: this.#repo,
          release_id: release.id,
          per_page: PER_PAGE,
          page,
          request: this.#opts(this.#limits.documentBytes),
        }),
      );
      if (!Array.isArray(list)) throw new StorageError('ERR_STORAGE_PROTOCOL', 'GitHub answered the asset list with something that is not a list');
      all.push(...list.map(asAsset));
      if (list.length < PER_PAGE) break;
    }
    return all;
  }

  /** The asset's bytes as a stream (not read yet), through the API's redirect to the file; `route.crossed` says whether they came from another origin. */
  async #assetBody(asset: ReleaseAsset, max: number, route: { crossed: boolean }): Promise<ReadableStream<Uint8Array> | null> {
    const res = await this.#octokit.request('GET /repos/{owner}/{repo}/releases/assets/{asset_id}', {
      owner: this.#owner,
      repo: this.#repo,
      asset_id: asset.id,
      headers: { accept: 'application/octet-stream' },
      request: this.#opts(max, route),
    });
    const data: unknown = res.data; // parseSuccessResponseBody: false — the body as it streams
    if (data instanceof ArrayBuffer) return new Blob([data]).stream();
    return (data ?? null) as ReadableStream<Uint8Array> | null;
  }

  /**
   * Downloads an asset (at most `max` bytes) through the API, which redirects to the file. Bytes must
   * match the digest the API records for the asset, when it records one. Bytes that came from another
   * origin without such a digest are refused when `saved` (they would be stored again unverified);
   * otherwise the caller verifies them (by signature and receipts, or by digest).
   */
  async download(asset: ReleaseAsset, max: number, o: { saved?: boolean } = {}): Promise<Uint8Array> {
    if (asset.size > max) throw new StorageError('ERR_STORAGE_LIMIT', `release asset ${asset.name} is ${asset.size} bytes; at most ${max} are read`);
    const route = { crossed: false };
    const bytes = await this.#call(`downloading ${asset.name}`, async () => readLimited(await this.#assetBody(asset, max, route), max, `release asset ${asset.name}`, null, asset.size));
    if (asset.digest && asset.digest.toLowerCase() !== `sha256:${sha256Hex(bytes)}`) {
      throw new StorageError('ERR_STORAGE_PROTOCOL', `release asset ${asset.name} downloads as sha256:${sha256Hex(bytes)} but GitHub records ${asset.digest}; refused`);
    }
    if (route.crossed && !asset.digest && o.saved) {
      throw new StorageError('ERR_ORIGIN', `release asset ${asset.name} was served from another origin and the API records no digest to check it against; it is not merged and saved again`);
    }
    return bytes;
  }

  /**
   * Digest of an asset's bytes with `algorithm` (a node:crypto name), hashed as they stream and never
   * held, at most `max` bytes; checked against the digest the API records for the asset, when it records one.
   */
  async hashAsset(asset: ReleaseAsset, algorithm: string, max: number): Promise<Buffer> {
    if (asset.size > max) throw new StorageError('ERR_STORAGE_LIMIT', `release asset ${asset.name} is ${asset.size} bytes; at most ${max} are read`);
    // the bytes may come from GitHub's storage host: the digest is computed here, from them
    const { digests } = await this.#call(`downloading ${asset.name}`, async () => hashLimited(await this.#assetBody(asset, max, { crossed: false }), max, `release asset ${asset.name}`, ['sha256', algorithm]));
    const sha256 = digests[0]!.toString('hex');
    if (asset.digest && asset.digest.toLowerCase() !== `sha256:${sha256}`) {
      throw new StorageError('ERR_STORAGE_PROTOCOL', `release asset ${asset.name} downloads as sha256:${sha256} but GitHub records ${asset.digest}; do not trust this release asset`);
    }
    return digests[1]!;
  }

  /** SHA-256 of an asset's bytes, streamed, at most the size the API records for it, checked against GitHub's own digest when it gives one. */
  async assetSha256(assetName: string): Promise<string> {
    const release = await this.release();
    const asset = (await this.#assets(release)).find((a) => a.name === assetName);
    if (!asset) throw new StorageError('ERR_STORAGE_NOT_FOUND', `release ${this.description} has no asset ${assetName}`);
    return (await this.hashAsset(asset, 'sha256', asset.size)).toString('hex');
  }

  async #delete(asset: ReleaseAsset): Promise<void> {
    await this.#call(`deleting ${asset.name}`, () =>
      this.#octokit.request('DELETE /repos/{owner}/{repo}/releases/assets/{asset_id}', { owner: this.#owner, repo: this.#repo, asset_id: asset.id, request: this.#opts(this.#limits.documentBytes) }),
    );
  }

  async #rename(asset: ReleaseAsset, name: string): Promise<ReleaseAsset> {
    return asAsset(
      await this.#json(`renaming ${asset.name} to ${name}`, () =>
        this.#octokit.request('PATCH /repos/{owner}/{repo}/releases/assets/{asset_id}', { owner: this.#owner, repo: this.#repo, asset_id: asset.id, name, request: this.#opts(this.#limits.documentBytes) }),
      ),
    );
  }

  /**
   * Uploads to the release's upload_url. When the upload fails without an answer (a dropped
   * connection, a timeout) or with a server error, whatever GitHub kept under that name is
   * inspected: a complete identical asset counts as uploaded, anything else is deleted, and the
   * failure is reported as ERR_STORAGE_INCOMPLETE.
   */
  async #upload(release: Release, name: string, bytes: Uint8Array, mediaType: string): Promise<ReleaseAsset> {
    this.#checkUploadUrl(release.upload_url);
    try {
      const res = await this.#octokit.request({
        method: 'POST',
        url: release.upload_url,
        name,
        headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
        data: bytes,
        request: this.#opts(this.#limits.documentBytes),
      });
      const asset = asAsset(parseJson(await this.#body(res.data, this.#limits.documentBytes, 'upload answer'), 'upload answer'));
      if (asset.name !== name) {
        await this.#delete(asset);
        throw new StorageError('ERR_STORAGE_TARGET', `GitHub stored ${JSON.stringify(name)} as ${JSON.stringify(asset.name)}; the name must be usable as is — rename the artifact`);
      }
      return asset;
    } catch (e) {
      if (e instanceof StorageError) throw e;
      const error = this.#error(`uploading ${name}`, e);
      if (error.code !== 'ERR_STORAGE_UNAVAILABLE') throw error;
      const left = (await this.#assets(release).catch(() => [])).find((a) => a.name === name);
      if (left && left.state === 'uploaded' && left.size === bytes.length) {
        const stored = await this.download(left, bytes.length).catch(() => undefined);
        if (stored && Buffer.from(stored).equals(bytes)) return left; // the answer was lost, the upload was not
      }
      let cleaned = 'nothing was stored under that name';
      if (left) {
        cleaned = await this.#delete(left).then(
          () => `the incomplete asset GitHub kept (state ${left.state}, ${left.size} bytes) was deleted`,
          (d: Error) => `the incomplete asset GitHub kept could not be deleted (${d.message}); delete ${name} by hand`,
        );
      }
      throw new StorageError('ERR_STORAGE_INCOMPLETE', `uploading ${name} to ${this.description} did not complete (${error.message}); ${cleaned}. Run attach again.`, { cause: error });
    }
  }

  /**
   * The release asset name for a Hash Envelope's evidence: its payload-location must name an asset
   * of this release (a plain name, relative to the artifact's download URL, or the full download
   * URL); without a location, the name the evidence was given.
   */
  #evidenceName(release: Release, location: string | undefined, fallback?: string): string {
    if (location === undefined) return assertPlainName(fallback ?? '', 'evidence name');
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(location)) {
      // a relative reference, resolved against the artifact's download URL: a name in the same release
      if (location.includes('/') || location.includes('\\') || /[?#]/.test(location)) {
        throw new StorageError('ERR_STORAGE_EVIDENCE', `payload-location ${JSON.stringify(location)} is a path; release assets are flat — use a plain file name or the asset's download URL`);
      }
      return assertPlainName(location, 'payload-location');
    }
    const origin = new URL(release.html_url).origin;
    const expected = `${origin}/${this.#owner}/${this.#repo}/releases/download/${encodeURIComponent(this.#tag)}/`;
    let url: URL | undefined;
    try {
      url = new URL(location);
    } catch {
      url = undefined;
    }
    const parts = url?.pathname.split('/') ?? [];
    // ['', owner, repo, 'releases', 'download', tag, name]
    const ok =
      url !== undefined &&
      url.origin === origin &&
      parts.length === 7 &&
      parts[1]!.toLowerCase() === this.#owner.toLowerCase() &&
      parts[2]!.toLowerCase() === this.#repo.toLowerCase() &&
      parts[3] === 'releases' &&
      parts[4] === 'download' &&
      safeDecode(parts[5]!) === this.#tag &&
      !url.search &&
      !url.hash;
    if (!ok) {
      throw new StorageError(
        'ERR_STORAGE_EVIDENCE',
        `payload-location ${JSON.stringify(location)} does not point into release ${this.description}; evidence stored here would not be found where the statement says — issue the statement with a location under ${expected}`,
      );
    }
    return assertPlainName(safeDecode(parts[6]!), 'payload-location file name');
  }

  async attach(artifactRef: ArtifactRef, items: readonly StorageItem[]): Promise<StoredObject[]> {
    const artifact = checkArtifact(artifactRef);
    assertPlainName(artifact.name, 'artifact name');
    const prepared = prepareItems(artifact, items, this.#limits);
    const release = await this.release();
    let assets = await this.#assets(release);

    const existing: ExistingObject[] = [];
    for (const a of assets.filter((x) => isStatementNameFor(artifact.name, x.name))) {
      const readable = a.state === 'uploaded' && a.size <= this.#limits.statementBytes;
      existing.push({ name: a.name, ...(readable ? { bytes: await this.download(a, this.#limits.statementBytes, { saved: true }) } : {}) });
    }
    const placements = placeStatements(artifact.name, prepared, existing);

    // evidence: check every name and any existing asset before uploading anything
    const evidence: { s: PreparedStatement; name: string; existing?: ReleaseAsset }[] = [];
    for (const s of prepared) {
      if (!s.evidence) continue;
      const name = this.#evidenceName(release, s.statement.hashEnvelope?.location, s.evidence.name);
      const there = assets.find((a) => a.name === name);
      if (there) {
        const same = there.digest ? there.digest.toLowerCase() === `sha256:${s.evidence.sha256}` : there.size === s.evidence.bytes.length && sha256Hex(await this.download(there, this.#limits.evidenceBytes)) === s.evidence.sha256;
        if (!same) throw new StorageError('ERR_STORAGE_CONFLICT', `release asset ${name} exists and is not the evidence this statement names (its digest differs); it is not overwritten`);
      }
      evidence.push({ s, name, ...(there ? { existing: there } : {}) });
    }

    const out: StoredObject[] = [];
    for (const e of evidence) {
      const asset = e.existing ?? (await this.#upload(release, e.name, e.s.evidence!.bytes, e.s.evidence!.mediaType));
      out.push({ kind: 'evidence', name: e.name, digest: { sha256: e.s.evidence!.sha256 }, mediaType: e.s.evidence!.mediaType, location: asset.browser_download_url, status: e.existing ? 'unchanged' : 'created' });
    }
    for (const p of placements) {
      let asset = assets.find((a) => a.name === p.name);
      if (p.action === 'create') {
        asset = await this.#upload(release, p.name, p.bytes, STATEMENT_MEDIA_TYPE);
      } else if (p.action === 'update') {
        asset = await this.#replace(release, asset!, artifact.name, p.bytes);
      }
      assets = [...assets.filter((a) => a.name !== p.name), asset!];
      out.push({
        kind: 'statement',
        name: p.name,
        digest: { sha256: sha256Hex(p.bytes) },
        mediaType: STATEMENT_MEDIA_TYPE,
        location: asset!.browser_download_url,
        status: p.action === 'create' ? 'created' : p.action === 'update' ? 'updated' : 'unchanged',
      });
    }
    return out;
  }

  /** Upload under a discoverable staging name, delete the old asset, rename: never neither. */
  async #replace(release: Release, old: ReleaseAsset, artifactName: string, bytes: Uint8Array): Promise<ReleaseAsset> {
    const staging = alternateStatementName(artifactName, randomBytes(8).toString('hex'));
    const fresh = await this.#upload(release, staging, bytes, STATEMENT_MEDIA_TYPE);
    try {
      await this.#delete(old);
    } catch (e) {
      // keep the release as it was: the old asset is still there, the staging copy goes
      await this.#delete(fresh).catch(() => undefined);
      throw e;
    }
    try {
      return await this.#rename(fresh, old.name);
    } catch (e) {
      throw new StorageError(
        'ERR_STORAGE_INCOMPLETE',
        `the statement with the added receipts is stored as ${staging} (discoverable), but renaming it to ${old.name} failed: ${(e as Error).message}; rename it by hand or run attach again`,
        { cause: e },
      );
    }
  }

  async discover(artifactRef: ArtifactRef, options: DiscoverOptions = {}): Promise<DiscoveryResult> {
    const artifact = checkArtifact(artifactRef);
    assertPlainName(artifact.name, 'artifact name');
    const before = this.#counter.requests;
    const release = await this.release();
    const assets = await this.#assets(release);
    const skipped: SkippedObject[] = [];
    const candidates = assets.filter((a) => isStatementNameFor(artifact.name, a.name));
    if (candidates.length > this.#limits.statements) {
      throw new StorageError('ERR_STORAGE_LIMIT', `${candidates.length} statement assets for ${artifact.name}; at most ${this.#limits.statements} are read`);
    }
    const found: DiscoveredStatement[] = [];
    const budget = new DiscoveryBudget(this.#limits);
    const seen = new Map<string, string>();
    const byDigest = new Map<string, string>();
    // large statement assets one at a time, so what is in flight is one large body, not DISCOVERY_CONCURRENCY of them
    let queue: Promise<unknown> = Promise.resolve();
    const oneLarge = <T>(run: () => Promise<T>): Promise<T> => {
      const p = queue.then(run);
      queue = p.catch(() => undefined);
      return p;
    };
    // a few at a time: a thousand assets must not become a thousand sockets and bodies in flight
    await inPool(candidates, DISCOVERY_CONCURRENCY, async (a) => {
        const source = { store: this.kind, location: a.browser_download_url, name: a.name };
        if (a.state !== 'uploaded') return void skipped.push({ source, code: 'ERR_STORAGE_INCOMPLETE', reason: `asset state is ${a.state}, not uploaded` });
        if (a.size > this.#limits.statementBytes) return void skipped.push({ source, code: 'ERR_STORAGE_LIMIT', reason: `${a.size} bytes exceed the ${this.#limits.statementBytes}-byte statement limit` });
        // the same bytes under another name (GitHub's recorded digest says so) are not downloaded again
        const recorded = a.digest?.toLowerCase();
        const first = recorded && byDigest.get(recorded);
        if (first) return void skipped.push({ source, code: 'ERR_STORAGE_DUPLICATE', reason: `the same bytes (${recorded}) as ${first}` });
        if (recorded) byDigest.set(recorded, source.location);
        // reserved before the download starts: what is in flight and held stays within the budget
        if (!budget.reserve(a.size)) return void skipped.push({ source, ...budget.refusal(a.size) });
        const max = Math.min(a.size, this.#limits.statementBytes);
        const r = examineStatement(await (a.size > LARGE_ASSET_BYTES ? oneLarge(() => this.download(a, max)) : this.download(a, max)), artifact, source, this.#limits);
        if (r.skipped) skipped.push(r.skipped);
        if (!r.statement) return void budget.release(a.size);
        // a byte-identical copy of one already held (the same asset under many names) is dropped at once
        const key = `${r.statement.id}:${sha256Hex(r.statement.bytes)}`;
        const twin = seen.get(key);
        if (twin) {
          budget.release(a.size);
          return void skipped.push({ source, code: 'ERR_STORAGE_DUPLICATE', reason: `the same bytes as ${twin}` });
        }
        seen.set(key, source.location);
        found.push(r.statement);
    });
    found.sort((x, y) => candidates.findIndex((c) => c.name === x.source.name) - candidates.findIndex((c) => c.name === y.source.name));
    const deduped = dedupeStatements(found);
    skipped.push(...deduped.skipped);
    if (!options.evidence) return { artifact, statements: deduped.statements, skipped, requests: this.#counter.requests - before };
    // one at a time: each asset is checked once however many statements name it, and not held —
    // its bytes are downloaded only when asked for (the gate asks once a statement has verified)
    const digests = new Map<string, Buffer>();
    const statements: DiscoveredStatement[] = [];
    for (const s of deduped.statements) statements.push(await this.#withEvidence(release, assets, s, skipped, digests));
    return { artifact, statements, skipped, requests: this.#counter.requests - before };
  }

  async #withEvidence(release: Release, assets: ReleaseAsset[], s: DiscoveredStatement, skipped: SkippedObject[], digests: Map<string, Buffer>): Promise<DiscoveredStatement> {
    const he = s.statement.hashEnvelope;
    const h = he && hashAlgorithm(he.hashAlg);
    if (!he || !h || he.location === undefined || he.digest.length === 0) return s;
    const note = (code: ErrorCode, reason: string, location = he.location!) => {
      skipped.push({ source: { store: this.kind, location, name: he.location! }, code, reason });
      return s;
    };
    let name: string;
    try {
      name = this.#evidenceName(release, he.location);
    } catch (e) {
      return note((e as StorageError).code ?? 'ERR_STORAGE_EVIDENCE', `evidence of ${s.source.name} not read: ${(e as Error).message}`);
    }
    const asset = assets.find((a) => a.name === name);
    if (!asset) return note('ERR_STORAGE_NOT_FOUND', `evidence of ${s.source.name} (${name}) is not an asset of ${this.description}`);
    if (asset.size > this.#limits.evidenceBytes) return note('ERR_STORAGE_LIMIT', `${asset.size} bytes exceed the ${this.#limits.evidenceBytes}-byte evidence limit`, asset.browser_download_url);
    const max = Math.min(asset.size, this.#limits.evidenceBytes);
    // GitHub's recorded SHA-256 screens without a download; read() below hashes the bytes itself either way
    const recorded = h.node === 'sha256' && asset.digest && /^sha256:[0-9a-f]{64}$/i.test(asset.digest) ? Buffer.from(asset.digest.slice(7), 'hex') : undefined;
    const key = `${h.node}:${asset.id}`;
    let digest = recorded ?? digests.get(key);
    if (!digest) {
      try {
        digest = await this.hashAsset(asset, h.node, max);
      } catch (e) {
        if (!(e instanceof StorageError)) throw e;
        return note(e.code, `evidence of ${s.source.name} not read: ${e.message}`, asset.browser_download_url);
      }
      digests.set(key, digest);
    }
    if (!digest.equals(he.digest)) {
      return note('ERR_STORAGE_EVIDENCE', `does not hash to the payload of ${s.source.name}: not the evidence the statement names`, asset.browser_download_url);
    }
    const mediaType = typeof he.preimageContentType === 'string' ? he.preimageContentType : undefined;
    const read = async () => {
      const bytes = await this.download(asset, max);
      if (!createHash(h.node).update(bytes).digest().equals(he.digest)) {
        throw new StorageError('ERR_STORAGE_EVIDENCE', `release asset ${asset.name} changed after discovery: it no longer hashes to the payload of ${s.source.name}`);
      }
      return bytes;
    };
    return { ...s, evidence: { read, ...(mediaType ? { mediaType } : {}), source: { store: this.kind, location: asset.browser_download_url, name } } };
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
