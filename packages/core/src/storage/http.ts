/**
 * HTTP plumbing shared by the GitHub and OCI backends: every request is counted, every body read
 * from the network is bounded (Content-Length checked first, then the bytes as they stream), and
 * HTTP statuses map to storage error codes.
 */
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

/** Reads a body of at most `max` bytes; refuses larger ones without reading them. */
export async function readLimited(body: ReadableStream<Uint8Array> | null, max: number, what: string, declared?: string | null): Promise<Uint8Array> {
  const length = declared ? Number(declared) : NaN;
  if (Number.isFinite(length) && length > max) {
    await body?.cancel().catch(() => undefined);
    throw tooLarge(what, length, max);
  }
  if (!body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
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
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof StorageError) throw e;
    throw new StorageError('ERR_STORAGE_UNAVAILABLE', `reading ${what} failed: ${(e as Error).message} — the connection was interrupted; try again`, { cause: e });
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
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
