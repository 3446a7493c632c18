/**
 * `scitt serve --rotate-key URL`: asks the service running at URL to rotate its signing key (POST
 * /admin/rotate-key with the admin bearer token); the service announces the new key on its log.
 */
import { ScittError } from '@scitt-actions/core';
import * as cbor from '@scitt-actions/core/cbor';

export interface Rotation {
  kid: string;
  previousKid: string;
  announcement: { entryId: string; leafIndex: number };
}

export async function rotateKeyAt(url: string, adminToken: string): Promise<Rotation> {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new ScittError('ERR_USAGE', `--rotate-key needs the service URL (http(s)://host:port); got ${JSON.stringify(url)}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new ScittError('ERR_USAGE', `--rotate-key needs an http(s) URL; got ${base.protocol}`);
  let r: Response;
  try {
    r = await fetch(new URL('/admin/rotate-key', base), { method: 'POST', headers: { Authorization: `Bearer ${adminToken}` }, redirect: 'error', signal: AbortSignal.timeout(60_000) });
  } catch (e) {
    throw new ScittError('ERR_SCRAPI_UNAVAILABLE', `cannot reach ${base.origin} to rotate its key (${(e as Error).message})`);
  }
  if (r.status !== 201) {
    let detail = `HTTP ${r.status}`;
    try {
      const m = cbor.decode(new Uint8Array(await r.arrayBuffer())) as Map<number, unknown>;
      detail = `${r.status} ${String(m.get(-1))}: ${String(m.get(-2))}`;
    } catch {
      // not problem details: the status says enough
    }
    throw new ScittError(r.status === 401 ? 'ERR_SCRAPI_REFUSED' : 'ERR_SCRAPI_FAILED', `the service refused to rotate its key (${detail})`);
  }
  return (await r.json()) as Rotation;
}
