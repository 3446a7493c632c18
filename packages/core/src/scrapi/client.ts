/**
 * SCRAPI client (draft-ietf-scitt-scrapi; wire-format.md §7): service keys, registration with the
 * 201 / 303 → 302 / 200 flow, receipt resolution, tree heads and consistency proofs. It also speaks
 * the variant deployed CCF-based services still serve: 202 Accepted with an operation to poll, and
 * the legacy transparency-configuration endpoint for keys.
 *
 * Every request has a timeout; 429, 503 and network failures are retried with backoff honouring
 * Retry-After, a bounded number of times; other 4xx are final and reported with the service's words.
 */
import { decode } from '../cbor.ts';
import { type CoseKey, decodeKeySet, fromJwk } from '../cose/key.ts';
import { ScittError } from '../errors.ts';
import { useProxyFromEnvironment } from '../http-proxy.ts';
import { readProblem } from './problem.ts';
import { assertTrustUrl, onOrigin, readResponse, serverWords } from '../storage/http.ts';

/** Receipts, statements and key sets are small; a service that sends more is refused, not buffered. */
const MAX_BODY = 4 * 1024 * 1024;
const body = (r: Response, what: string) => readResponse(r, MAX_BODY, what);
/** A body we do not need (redirects, 404 before a fallback): dropped unread. */
const discard = (r: Response) => r.body?.cancel().catch(() => undefined);

export interface ScrapiClientOptions {
  /** base URL of the Transparency Service */
  url: string;
  /** bearer token for registration */
  token?: string;
  /** per request, ms */
  requestTimeoutMs?: number;
  /** attempts for retryable failures (429, 503, network) */
  retries?: number;
  /** cap on a single backoff wait, ms */
  maxBackoffMs?: number;
  /** for tests: replace the global fetch */
  fetch?: typeof fetch;
  /** progress notes for people (polling, retries) */
  onNote?: (message: string) => void;
}

export interface RegisterOptions {
  /** poll until the receipt is ready (default true); false returns after the service accepted it */
  wait?: boolean;
  /** overall deadline for registration including polling, ms */
  timeoutMs?: number;
}

export interface RegisterResult {
  /** the service's entry id (SCRAPI) or transaction id (CCF) */
  entryId: string;
  /** absent when wait=false and the service answered asynchronously */
  receipt?: Uint8Array;
  /** where to poll or resolve the receipt */
  location: string;
}

/** Refusal by the service (4xx other than 429): registration refused, not an outage. */
export class ScrapiError extends ScittError {
  readonly status: number;
  readonly title: string | undefined;
  constructor(status: number, title: string | undefined, message: string) {
    super(status === 400 || status === 401 || status === 403 || status === 413 || status === 415 ? 'ERR_SCRAPI_REFUSED' : 'ERR_SCRAPI_FAILED', message);
    this.status = status;
    this.title = title;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ScrapiClient {
  readonly url: string;
  readonly #o: Required<Omit<ScrapiClientOptions, 'token' | 'fetch' | 'onNote'>> & Pick<ScrapiClientOptions, 'token' | 'onNote'>;
  readonly #fetch: typeof fetch;

  constructor(o: ScrapiClientOptions) {
    useProxyFromEnvironment(); // HTTPS_PROXY/HTTP_PROXY/NO_PROXY (http-proxy.ts)
    let base: URL;
    try {
      base = new URL(o.url);
    } catch {
      throw new ScittError('ERR_USAGE', `"${o.url}" is not a URL; give the Transparency Service as http(s)://host[:port]`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new ScittError('ERR_USAGE', `Transparency Service URL must be http(s), got ${base.protocol}`);
    this.url = base.href.replace(/\/$/, '');
    this.#o = { requestTimeoutMs: 15_000, retries: 6, maxBackoffMs: 10_000, ...o };
    this.#fetch = o.fetch ?? fetch;
  }

  /** A path, or a URL the service named (Location, jwks_uri), on the service's own origin; another origin is refused (ERR_ORIGIN). */
  #abs(pathOrUrl: string, what = 'a URL the service named'): string {
    return onOrigin(`${this.url}/`, pathOrUrl, what, (m) => new ScittError('ERR_ORIGIN', m)).href;
  }

  /** One request with timeout and retries for 429/503/network errors. */
  async #request(method: 'GET' | 'POST', path: string, init: { body?: Uint8Array | string; headers?: Record<string, string>; deadline?: number } = {}): Promise<Response> {
    const url = this.#abs(path);
    let lastError = '';
    for (let attempt = 0; attempt <= this.#o.retries; attempt++) {
      let response: Response;
      try {
        response = await this.#fetch(url, {
          method,
          redirect: 'manual',
          headers: init.headers ?? {},
          ...(init.body !== undefined ? { body: init.body } : {}),
          signal: AbortSignal.timeout(this.#o.requestTimeoutMs),
        });
      } catch (e) {
        const cause = networkCause(e);
        lastError = `${method} ${url} failed: ${cause === 'TimeoutError' ? `no answer within ${this.#o.requestTimeoutMs} ms` : cause}`;
        await this.#backoff(attempt, undefined, init.deadline, lastError);
        continue;
      }
      if (response.status === 429 || response.status === 503 || response.status === 502 || response.status === 504) {
        lastError = `${method} ${url}: ${response.status} ${response.statusText}`;
        await discard(response);
        await this.#backoff(attempt, response.headers.get('retry-after'), init.deadline, lastError);
        continue;
      }
      return response;
    }
    throw new ScittError('ERR_SCRAPI_UNAVAILABLE', `${lastError}; gave up after ${this.#o.retries + 1} attempts — is the Transparency Service up at ${this.url}?`);
  }

  async #backoff(attempt: number, retryAfter: string | null | undefined, deadline: number | undefined, why: string): Promise<void> {
    if (attempt >= this.#o.retries) return;
    const told = retryAfter ? parseRetryAfter(retryAfter) : undefined;
    const exp = Math.min(this.#o.maxBackoffMs, 250 * 2 ** attempt);
    const wait = Math.min(this.#o.maxBackoffMs, told ?? exp / 2 + Math.random() * (exp / 2));
    if (deadline !== undefined && Date.now() + wait > deadline) {
      throw new ScittError('ERR_SCRAPI_TIMEOUT', `${why}; the registration deadline passed — is the Transparency Service up at ${this.url}?`);
    }
    this.#o.onNote?.(`${why}; retrying in ${Math.round(wait)} ms`);
    await sleep(wait);
  }

  /**
   * A failure as a ScrapiError: the status, and the service's problem title and detail (escaped,
   * bounded) — never the raw body. For trust material (`quiet`) only the status: a key endpoint's words are not worth showing.
   */
  async #fail(response: Response, what: string, quiet = false): Promise<never> {
    const problem = quiet ? new Uint8Array(0) : await readResponse(response, 65536, 'the error body').catch(() => new Uint8Array(0));
    if (quiet) await discard(response);
    const p = readProblem(problem, response.headers.get('content-type'));
    const words = serverWords([p.title, p.detail].filter(Boolean).join(': ') || response.statusText);
    throw new ScrapiError(response.status, p.title && serverWords(p.title), `${what}: the service answered ${response.status} ${words}`);
  }

  /** The service's verification keys: COSE Key Set, or the JWK Set a legacy CCF service publishes. */
  async keys(): Promise<CoseKey[]> {
    // trust material: HTTPS, or plain HTTP on loopback only; redirects are never followed (#request is manual)
    assertTrustUrl(new URL(this.url), 'the Transparency Service URL for keys', (m) => new ScittError('ERR_INSECURE_URL', m));
    const r = await this.#request('GET', '/.well-known/scitt-keys', { headers: { Accept: 'application/cbor' } });
    if (r.ok) return decodeKeySet(await body(r, 'the response'));
    if (r.status !== 404) return this.#fail(r, 'fetching the service keys', true);
    await discard(r);
    // Legacy (SCRAPI ≤ -05, scitt-ccf-ledger): configuration names the JWKS, which is followed only on the service's origin.
    const c = await this.#request('GET', '/.well-known/transparency-configuration', { headers: { Accept: 'application/json, application/cbor' } });
    if (!c.ok) return this.#fail(c, 'fetching the service keys (neither /.well-known/scitt-keys nor transparency-configuration exists)', true);
    const config = await readObject(c);
    const named = config.get('jwks_uri') ?? config.get('jwksUri');
    if (typeof named !== 'string') throw new ScittError('ERR_SCRAPI_FAILED', 'transparency-configuration has no jwks_uri: cannot find the service keys');
    const jwksUri = this.#abs(named, "transparency-configuration's jwks_uri");
    const j = await this.#request('GET', jwksUri, { headers: { Accept: 'application/json' } });
    if (!j.ok) return this.#fail(j, `fetching the JWK Set at ${jwksUri}`, true);
    let set: { keys?: unknown[] };
    try {
      set = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await body(j, 'the JWK Set'))) as { keys?: unknown[] };
    } catch (e) {
      if (e instanceof ScittError) throw e;
      // the parser's message quotes the body: not repeated
      throw new ScittError('ERR_SCRAPI_FAILED', `${jwksUri} did not answer with JSON; expected a JWK Set ({"keys": [...]})`);
    }
    if (!Array.isArray(set?.keys)) throw new ScittError('ERR_SCRAPI_FAILED', `${jwksUri} is not a JWK Set ({"keys": [...]})`);
    return set.keys.map((k) => {
      const jwk = k as { kid?: string };
      const key = fromJwk(jwk as never);
      return jwk.kid ? { ...key, kid: new TextEncoder().encode(jwk.kid) } : key;
    });
  }

  /** Registers a Signed Statement; with wait (default), returns its receipt. */
  async register(statement: Uint8Array, o: RegisterOptions = {}): Promise<RegisterResult> {
    const deadline = Date.now() + (o.timeoutMs ?? 120_000);
    const headers: Record<string, string> = { 'Content-Type': 'application/cose', Accept: 'application/cose' };
    if (this.#o.token) headers.Authorization = `Bearer ${this.#o.token}`;
    const r = await this.#request('POST', '/entries', { body: statement, headers, deadline });
    if (r.status === 201) {
      const receipt = await body(r, 'the response');
      const location = this.#abs(r.headers.get('location') ?? '', 'the Location of the registered entry');
      return { entryId: lastSegment(location), receipt, location };
    }
    if (r.status === 303) {
      await discard(r);
      const location = r.headers.get('location');
      if (!location) throw new ScittError('ERR_SCRAPI_FAILED', 'the service answered 303 without a Location to poll');
      // polled only on the service's origin: a receipt from anywhere else is never taken
      const abs = this.#abs(location, 'the Location to poll for the receipt');
      if (o.wait === false) return { entryId: lastSegment(abs), location: abs };
      return this.#poll(abs, deadline, r.headers.get('retry-after'));
    }
    if (r.status === 202) return this.#legacyOperation(r, o.wait !== false, deadline);
    return this.#fail(r, 'registration');
  }

  /** SCRAPI polling: 302 (+ Retry-After) while running, 200 with the receipt when done. */
  async #poll(location: string, deadline: number, retryAfter: string | null): Promise<RegisterResult> {
    let wait = parseRetryAfter(retryAfter) ?? 500;
    for (;;) {
      if (Date.now() + wait > deadline) throw new ScittError('ERR_SCRAPI_TIMEOUT', `the receipt was not ready before the deadline; resolve it later from ${location}`);
      this.#o.onNote?.(`registration pending; polling ${location} in ${wait} ms`);
      await sleep(wait);
      const r = await this.#request('GET', location, { headers: { Accept: 'application/cose' }, deadline });
      if (r.status === 200) return { entryId: lastSegment(location), receipt: await body(r, 'the response'), location };
      if (r.status === 302 || r.status === 202) {
        await discard(r);
        wait = parseRetryAfter(r.headers.get('retry-after')) ?? Math.min(wait * 2, 5000);
        continue;
      }
      return this.#fail(r, `polling ${location}`);
    }
  }

  /** scitt-ccf-ledger: 202 + {operationId}; poll /operations/{id} until succeeded, then fetch the receipt. */
  async #legacyOperation(accepted: Response, wait: boolean, deadline: number): Promise<RegisterResult> {
    const body = await readObject(accepted);
    const operationId = body.get('operationId') ?? body.get('OperationId');
    if (typeof operationId !== 'string') throw new ScittError('ERR_SCRAPI_FAILED', 'the service answered 202 Accepted without an operationId');
    const opLocation = this.#abs(accepted.headers.get('location') ?? `/operations/${operationId}`, 'the Location of the operation');
    if (!wait) return { entryId: operationId, location: opLocation };
    let delay = parseRetryAfter(accepted.headers.get('retry-after')) ?? 500;
    for (;;) {
      if (Date.now() + delay > deadline) throw new ScittError('ERR_SCRAPI_TIMEOUT', `operation ${operationId} did not finish before the deadline`);
      await sleep(delay);
      const r = await this.#request('GET', opLocation, { headers: { Accept: 'application/json, application/cbor' }, deadline });
      if (!r.ok) return this.#fail(r, `polling operation ${operationId}`);
      const op = await readObject(r);
      const status = String(op.get('status') ?? op.get('Status') ?? '').toLowerCase();
      if (status === 'running') {
        delay = parseRetryAfter(r.headers.get('retry-after')) ?? Math.min(delay * 2, 5000);
        continue;
      }
      if (status === 'failed') {
        const err = op.get('error') ?? op.get('Error');
        const msg = err instanceof Map ? serverWords(`${String(err.get('code') ?? '')} ${String(err.get('message') ?? '')}`.trim()) : 'no reason given';
        throw new ScrapiError(400, 'Rejected', `operation ${operationId} failed: ${msg}`);
      }
      if (status !== 'succeeded') throw new ScittError('ERR_SCRAPI_FAILED', `operation ${operationId} has unknown status "${status}"`);
      const entryId = op.get('entryId') ?? op.get('EntryId');
      if (typeof entryId !== 'string') throw new ScittError('ERR_SCRAPI_FAILED', `operation ${operationId} succeeded without an entryId`);
      return { entryId, receipt: await this.receipt(entryId), location: this.#abs(`/entries/${encodeURIComponent(entryId)}`) };
    }
  }

  /** Resolves a receipt by entry id (SCRAPI GET /entries/{id}; CCF also serves /entries/{id}/receipt). */
  async receipt(entryId: string): Promise<Uint8Array> {
    const id = encodeURIComponent(entryId);
    let r = await this.#request('GET', `/entries/${id}`, { headers: { Accept: 'application/cose' } });
    if (r.status === 302) {
      await discard(r);
      throw new ScittError('ERR_SCRAPI_PENDING', `entry ${entryId} is still being registered; retry in ${r.headers.get('retry-after') ?? 'a few'} seconds`);
    }
    if (r.status === 404) {
      await discard(r);
      r = await this.#request('GET', `/entries/${id}/receipt`, { headers: { Accept: 'application/cose' } });
    }
    if (!r.ok) return this.#fail(r, `resolving the receipt of entry ${entryId}`);
    return await body(r, 'the response');
  }

  /** The registered statement of an entry. */
  async statement(entryId: string): Promise<Uint8Array> {
    const r = await this.#request('GET', `/entries/${encodeURIComponent(entryId)}/statement`, { headers: { Accept: 'application/cose' } });
    if (!r.ok) return this.#fail(r, `fetching the statement of entry ${entryId}`);
    return await body(r, 'the response');
  }

  /** A JSON request to a non-SCRAPI endpoint of the embedded service. */
  async json<T>(method: 'GET' | 'POST', path: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<T> {
    const r = await this.#request(method, path, { ...init, headers: { Accept: 'application/json', ...init.headers } });
    if (!r.ok) return this.#fail(r, `${method} ${path}`);
    try {
      return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await body(r, `${method} ${path}`))) as T;
    } catch (e) {
      if (e instanceof ScittError) throw e;
      throw new ScittError('ERR_SCRAPI_FAILED', `${method} ${path}: the service did not answer with JSON`);
    }
  }

  /** The latest signed tree head (embedded service). */
  async treeHead(): Promise<Uint8Array> {
    const r = await this.#request('GET', '/tree-head', { headers: { Accept: 'application/cose' } });
    if (!r.ok) return this.#fail(r, 'fetching the signed tree head');
    return await body(r, 'the response');
  }

  /** A signed consistency proof between two tree sizes (embedded service). */
  async consistency(from: number, to: number): Promise<Uint8Array> {
    const r = await this.#request('GET', `/consistency?from=${from}&to=${to}`, { headers: { Accept: 'application/cose' } });
    if (!r.ok) return this.#fail(r, `fetching a consistency proof from ${from} to ${to}`);
    return await body(r, 'the response');
  }
}

/** The embedded service's registration policy endpoints (not part of SCRAPI). */
export interface PolicyInfo {
  policy: unknown;
  leafIndex: number | null;
  default?: boolean;
  entryId?: string;
}

export async function getPolicy(client: ScrapiClient): Promise<PolicyInfo> {
  return client.json('GET', '/policy');
}

export async function setPolicy(client: ScrapiClient, policyJson: string, adminToken: string): Promise<PolicyInfo> {
  return client.json('POST', '/policy', { body: policyJson, headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${adminToken}` } });
}

/** The most specific reason a fetch failed: undici wraps ECONNREFUSED and friends in causes (and AggregateErrors). */
function networkCause(e: unknown): string {
  for (let c: unknown = e, depth = 0; c && depth < 5; depth++) {
    const err = c as Error & { code?: string; errors?: unknown[]; cause?: unknown };
    if (err.name === 'TimeoutError') return 'TimeoutError';
    if (typeof err.code === 'string') return err.code;
    c = err.errors?.[0] ?? err.cause;
  }
  return (e as Error).message;
}

function lastSegment(url: string): string {
  return decodeURIComponent(new URL(url).pathname.split('/').filter(Boolean).pop() ?? '');
}

/** Retry-After as delay-seconds or an HTTP date (RFC 9110 §10.2.3), in ms; capped at a minute. */
export function parseRetryAfter(v: string | null | undefined): number | undefined {
  if (!v) return undefined;
  const secs = /^\d+$/.test(v.trim()) ? Number(v) * 1000 : Date.parse(v) - Date.now();
  return Number.isFinite(secs) ? Math.max(0, Math.min(secs, 60_000)) : undefined;
}

/** JSON or CBOR object bodies (legacy services answer either) as a Map. */
async function readObject(r: Response): Promise<Map<unknown, unknown>> {
  const bytes = await body(r, 'the response');
  const type = r.headers.get('content-type') ?? '';
  try {
    if (type.includes('cbor')) {
      const v = decode(bytes, { allowedTags: [], maxBytes: 65536 });
      if (v instanceof Map) return v;
    } else {
      const v = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
      if (v && typeof v === 'object') {
        return new Map(Object.entries(v as Record<string, unknown>).map(([k, val]) => [k, val && typeof val === 'object' && !Array.isArray(val) ? new Map(Object.entries(val)) : val]));
      }
    }
  } catch {
    // fall through
  }
  throw new ScittError('ERR_SCRAPI_FAILED', `the service sent a body that is not a JSON or CBOR object (${type || 'no content type'})`);
}
