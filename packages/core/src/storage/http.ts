/**
 * HTTP plumbing shared by the GitHub and OCI backends: every request is counted, every body read
 * from the network is bounded (Content-Length checked first, then the bytes as they stream), and
 * HTTP statuses map to storage error codes.
 */
import { createHash } from 'node:crypto';
import { type ErrorCode, StorageError } from '../errors.ts';

/** Counts HTTP exchanges, redirects included. */
export class RequestCounter {
  requests = 0;
}

export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

export const DEFAULT_TIMEOUT_MS = 60_000;

function tooLarge(what: string, size: number | string, max: number): StorageError {
  return new StorageError('ERR_STORAGE_LIMIT', `${what} is ${size} bytes; at most ${max} are read — the server sent more than any object of this kind may be`);
}

/** ES2024's ArrayBuffer members (Node >= 22), which this project's TypeScript lib does not name yet */
type Detachable = ArrayBuffer & { readonly detached: boolean; transfer(length?: number): ArrayBuffer };

/**
 * Frees a chunk read from a body once its bytes have been used (copied or hashed), instead of at
 * V8's next garbage collection: a body streams in 64 KiB chunks, and V8 lets up to 64 MiB of dead
 * ones pile up before it collects, which a 64 MiB download then keeps as process memory. Only a
 * chunk that spans its whole ArrayBuffer: a chunk read from a stream is the reader's (a byte stream
 * transfers each one it is given), and one that views part of a larger buffer may share it.
 */
function releaseChunk(chunk: Uint8Array): void {
  const b = chunk.buffer as Detachable;
  if (!(b instanceof ArrayBuffer) || b.detached || chunk.byteOffset !== 0 || chunk.byteLength !== b.byteLength) return;
  try {
    b.transfer(0);
  } catch {
    // not detachable (e.g. WebAssembly memory): left to the collector
  }
}

/**
 * Reads a body of at most `max` bytes; refuses larger ones without reading them. With a size known
 * beforehand (`declared`, or `expected` from an API listing) the bytes are copied into one buffer
 * as they arrive, so a body never takes twice its size while it is read.
 */
export async function readLimited(body: ReadableStream<Uint8Array> | null, max: number, what: string, declared?: string | null, expected?: number): Promise<Uint8Array> {
  const length = declared ? Number(declared) : NaN;
  if (Number.isFinite(length) && length > max) {
    await body?.cancel().catch(() => undefined);
    throw tooLarge(what, length, max);
  }
  if (!body) return new Uint8Array(0);
  const hint = Number.isSafeInteger(length) && length >= 0 ? length : Number.isSafeInteger(expected) && expected! >= 0 ? Math.min(expected!, max) : 0;
  let into: Uint8Array | undefined = hint > 0 ? new Uint8Array(hint) : undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.byteLength > max) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge(what, `more than ${max}`, max);
      }
      const at = size;
      size += value.byteLength;
      if (into && size <= into.byteLength) {
        into.set(value, at);
        releaseChunk(value);
      } else {
        // more than announced: kept as chunks from here on
        if (into) chunks.push(into.subarray(0, at));
        into = undefined;
        chunks.push(value);
      }
    }
  } catch (e) {
    if (e instanceof StorageError) throw e;
    throw new StorageError('ERR_STORAGE_UNAVAILABLE', `reading ${what} failed: ${(e as Error).message} — the connection was interrupted; try again`, { cause: e });
  } finally {
    reader.releaseLock();
  }
  if (into) return size === into.byteLength ? into : into.slice(0, size);
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * Digests of a body of at most `max` bytes, hashed as it streams (one chunk at a time, pulled, so
 * the socket waits while a chunk is hashed): nothing is held, whatever the size. Larger bodies are refused.
 */
export async function hashLimited(body: ReadableStream<Uint8Array> | null, max: number, what: string, algorithms: readonly string[], declared?: string | null): Promise<{ digests: Buffer[]; size: number }> {
  const length = declared ? Number(declared) : NaN;
  if (Number.isFinite(length) && length > max) {
    await body?.cancel().catch(() => undefined);
    throw tooLarge(what, length, max);
  }
  const hashes = algorithms.map((a) => createHash(a));
  let size = 0;
  if (body) {
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > max) {
          await reader.cancel().catch(() => undefined);
          throw tooLarge(what, `more than ${max}`, max);
        }
        for (const h of hashes) h.update(value);
        releaseChunk(value);
      }
    } catch (e) {
      if (e instanceof StorageError) throw e;
      throw new StorageError('ERR_STORAGE_UNAVAILABLE', `reading ${what} failed: ${(e as Error).message} — the connection was interrupted; try again`, { cause: e });
    } finally {
      reader.releaseLock();
    }
  }
  return { digests: hashes.map((h) => h.digest()), size };
}

/** Reads a response body of at most `max` bytes. */
export function readResponse(res: Response, max: number, what: string): Promise<Uint8Array> {
  return readLimited(res.body, max, what, res.headers.get('content-length'));
}

/** Parses a bounded JSON body; a body that is not JSON is a protocol error. */
export function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new StorageError('ERR_STORAGE_PROTOCOL', `${what} is not JSON: ${(cause as Error).message}`, { cause });
  }
}

/**
 * A fetch that counts exchanges (a followed redirect counts twice) and bounds every body it hands
 * back to `max` bytes — for clients such as Octokit that read bodies themselves.
 */
export function countingFetch(counter: RequestCounter, max: number, base: FetchLike = globalThis.fetch): FetchLike {
  return async (input, init) => {
    counter.requests++;
    const res = await base(input, init);
    if (res.redirected) counter.requests++;
    if (!res.body) return res;
    const declared = Number(res.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > max) {
      await res.body.cancel().catch(() => undefined);
      throw tooLarge(`response from ${String(input).split('?')[0]}`, declared, max);
    }
    let seen = 0;
    const limited = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen > max) controller.error(tooLarge(`response from ${String(input).split('?')[0]}`, `more than ${max}`, max));
          else controller.enqueue(chunk);
        },
      }),
    );
    return new Response(limited, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

/** The storage error code for an HTTP status. */
export function codeForStatus(status: number): ErrorCode {
  if (status === 401 || status === 403) return 'ERR_STORAGE_AUTH';
  if (status === 404) return 'ERR_STORAGE_NOT_FOUND';
  if (status === 409 || status === 412 || status === 422) return 'ERR_STORAGE_CONFLICT';
  if (status === 413) return 'ERR_STORAGE_LIMIT';
  if (status === 429 || status >= 500) return 'ERR_STORAGE_UNAVAILABLE';
  return 'ERR_STORAGE_PROTOCOL';
}

/** What to do about a status, for messages. */
export function adviceForStatus(status: number): string {
  if (status === 401) return 'authentication is required or the credentials were refused; check the token or docker login';
  if (status === 403) return 'the credentials lack permission for this operation; grant write access (e.g. contents: write, packages: write)';
  if (status === 429 || status >= 500) return 'the server is failing or rate limiting; try again later';
  return '';
}

/** A network failure (no HTTP answer) as a storage error. */
export function networkError(what: string, cause: unknown): StorageError {
  const reason = cause instanceof Error ? (cause.cause instanceof Error ? cause.cause.message : cause.message) : String(cause);
  if (cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError')) {
    return new StorageError('ERR_STORAGE_UNAVAILABLE', `${what} timed out; the server did not answer in time — try again`, { cause });
  }
  return new StorageError('ERR_STORAGE_UNAVAILABLE', `${what} failed: ${reason} — the server could not be reached or dropped the connection`, { cause });
}

// ---------------------------------------------------------------------------------------------
// origins: a client follows a URL a server names (redirect, Location, jwks_uri) only on the origin
// it was given, and fetches trust material over plain HTTP only from loopback

/** localhost, 127.0.0.0/8 and ::1 (with or without brackets and port). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[([^\]]*)\](:\d+)?$/, '$1').replace(/^([^:]*):\d+$/, '$1');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * `candidate` (absolute, or relative to `base`) as a URL, refused with ERR_ORIGIN unless it is on
 * `base`'s origin: a server can point its client only at itself.
 */
export function onOrigin(base: string | URL, candidate: string, what: string, make: (message: string) => Error = (m) => new StorageError('ERR_ORIGIN', m)): URL {
  const b = new URL(base);
  let url: URL;
  try {
    url = new URL(candidate, b);
  } catch {
    throw make(`${what} is not a URL; refused`);
  }
  if (url.origin !== b.origin) {
    throw make(`${what} points at ${url.origin}, not ${b.origin}: a client follows URLs a server names only on the origin it was given; refused`);
  }
  return url;
}

/** Trust material (keys) only over HTTPS, or plain HTTP to loopback; refused with ERR_INSECURE_URL otherwise. */
export function assertTrustUrl(url: URL, what: string, make: (message: string) => Error = (m) => new StorageError('ERR_INSECURE_URL', m)): void {
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && isLoopbackHost(url.host)) return;
  throw make(
    `${what} ${url.origin} is not HTTPS: keys fetched over plain HTTP can be swapped by anyone on the path, who could then forge receipts; ` +
      'use https://, or pin the keys from a file (scitt keys --ts URL --out ts-keys.cbor, reviewed and committed)',
  );
}

/** A server's own words (problem title/detail) for a message: control characters escaped, at most 200 characters. */
export function serverWords(s: string): string {
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}

/**
 * A fetch that follows redirects itself (at most `max`): on the original origin always; to another
 * origin only when `crossOrigin(url)` allows it (bytes that are verified by digest or signature
 * afterwards), and then without the Authorization header. Anything else is refused with ERR_ORIGIN.
 */
export function originFetch(base: FetchLike, crossOrigin: (from: URL, to: URL, init: RequestInit | undefined) => boolean = () => false, onRedirect: () => void = () => {}, max = 5): FetchLike {
  return async (input, init) => {
    const from = new URL(String(input));
    let url = from;
    const origin = url.origin;
    let request: RequestInit | undefined = init;
    for (let hop = 0; ; hop++) {
      const res = await base(url.href, { ...request, redirect: 'manual' });
      if (res.status < 300 || res.status > 399 || res.status === 304 || !res.headers.get('location')) return res;
      await res.body?.cancel().catch(() => undefined);
      if (hop >= max) throw new StorageError('ERR_STORAGE_PROTOCOL', `more than ${max} redirects from ${origin}; refused`);
      const next = new URL(res.headers.get('location')!, url);
      onRedirect();
      if (next.origin !== origin) {
        if (!crossOrigin(from, next, request) || (next.protocol !== 'https:' && !isLoopbackHost(next.host))) {
          throw new StorageError('ERR_ORIGIN', `${origin} redirected to ${next.origin}: a client follows redirects only on the origin it was given; refused`);
        }
        const headers = new Headers(request?.headers);
        headers.delete('authorization');
        request = { ...request, headers };
      }
      // 303, and 301/302 after POST, turn into GET without a body (RFC 9110 §15.4)
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && request?.method === 'POST')) {
        const { body: _drop, ...rest } = request ?? {};
        request = { ...rest, method: 'GET' };
      }
      url = next;
    }
  };
}
