/** Shared by the service's own tests: statements, a POST, problem details, and a pool of concurrent clients. */
import * as cbor from '@scitt-actions/core/cbor';
import { type CoseKey } from '@scitt-actions/core';
import { keySigner, thumbprint } from '@scitt-actions/core/cose';
import { createSignedStatement } from '@scitt-actions/core/statement';

let n = 0;
export const statementBy = (key: CoseKey, payload = `{"n":${n++},"at":${Date.now()}}`) =>
  createSignedStatement({ payload: new TextEncoder().encode(payload), contentType: 'application/json', signer: keySigner(key), iss: 'https://issuer.example', sub: `pkg:generic/app@1.0.${n}`, kid: thumbprint(key) });

export function post(url: string, body: Uint8Array | string, type = 'application/cose', headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/entries`, { method: 'POST', body, headers: { 'Content-Type': type, ...headers }, redirect: 'manual' });
}

export async function problemOf(r: Response): Promise<{ title: string; detail: string }> {
  if (r.headers.get('content-type') !== 'application/concise-problem-details+cbor') throw new Error(`${r.status} without problem details (${r.headers.get('content-type')})`);
  const m = cbor.decode(new Uint8Array(await r.arrayBuffer())) as Map<number, string>;
  return { title: m.get(-1)!, detail: m.get(-2)! };
}

export interface Answer {
  status: number;
  /** Location of a 201 or 303: the acknowledged entry */
  location?: string;
}

/**
 * Registers `pool` with `connections` concurrent clients until the pool is used up or `stop()` says
 * so; `onAnswer` sees each answer as it comes. A network error (the service went away) ends a client.
 */
export async function registerConcurrently(
  url: string,
  pool: Uint8Array[],
  { connections = 16, onAnswer, stop }: { connections?: number; onAnswer?: (a: Answer, i: number) => void; stop?: () => boolean } = {},
): Promise<{ answers: (Answer | undefined)[]; networkErrors: number }> {
  const answers: (Answer | undefined)[] = new Array(pool.length);
  let next = 0;
  let networkErrors = 0;
  const client = async () => {
    while (next < pool.length && !stop?.()) {
      const i = next++;
      try {
        const r = await post(url, pool[i]!);
        await r.arrayBuffer();
        const location = r.headers.get('location');
        answers[i] = { status: r.status, ...((r.status === 201 || r.status === 303) && location ? { location } : {}) };
        onAnswer?.(answers[i]!, i);
      } catch {
        networkErrors++;
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, client));
  return { answers, networkErrors };
}

/** GET an acknowledged entry as its client would: follow 302 (pending) until the outcome. */
export async function outcome(url: string, location: string): Promise<Response> {
  for (let i = 0; i < 600; i++) {
    const r = await fetch(`${url}${location}`, { redirect: 'manual' });
    if (r.status !== 302) return r;
    await r.arrayBuffer();
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`${location} still pending after 30 s`);
}
