/** Trust anchors through @sigstore/tuf (a loopback TUF mirror, no network) and from an offline trusted_root.json. */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityError } from '../src/errors.ts';
import { sigstoreTrust, validatePath } from '../src/identity/index.ts';
import { directWorkflow, vectorFile, vectorText } from './helpers/identity-vectors.ts';
import { type TufServer, startTufServer } from './helpers/identity-tuf-server.ts';

let tuf: TufServer;

beforeAll(async () => {
  tuf = await startTufServer(vectorText('trusted_root.json'));
});
afterAll(async () => {
  await tuf?.close();
});

describe('Sigstore trusted root', () => {
  it('is fetched and verified through TUF, parsed once per option set, and anchors a real Fulcio leaf', async () => {
    const opts = { mirrorURL: tuf.mirrorURL, rootPath: tuf.rootPath, cachePath: tuf.cachePath };
    const trust = await sigstoreTrust(opts);
    expect(tuf.requests).toContain('/targets/trusted_root.json');
    expect(trust.authorities.map((a) => a.uri)).toEqual(['https://fulcio.sigstore.dev', 'https://fulcio.sigstore.dev']);
    const served = tuf.requests.length;
    expect(await sigstoreTrust(opts)).toBe(trust);
    expect(tuf.requests.length).toBe(served);
    const path = await validatePath([directWorkflow.leafDer], { trust, at: directWorkflow.integratedTime });
    expect(path.authority.name).toBe('sigstore.dev/sigstore');
  });

  it('uses no network with a trusted_root.json file', async () => {
    const served = tuf.requests.length;
    const trust = await sigstoreTrust({ trustedRootPath: vectorFile('trusted_root.json'), mirrorURL: tuf.mirrorURL });
    expect(trust.authorities).toHaveLength(2);
    expect(tuf.requests.length).toBe(served);
  });

  it('reports an unreachable or unverifiable mirror as ERR_TRUST_ROOT and does not cache the failure', async () => {
    const opts = { mirrorURL: tuf.mirrorURL, cachePath: join(tuf.dir, 'cache2'), rootPath: join(tuf.dir, 'root-later.json') };
    // the initial root is not there yet: TUF cannot start
    const e = await sigstoreTrust(opts).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(IdentityError);
    expect((e as IdentityError).code).toBe('ERR_TRUST_ROOT');
    expect((e as IdentityError).message).toContain('offline, pass a trusted_root.json file');
    copyFileSync(tuf.rootPath, opts.rootPath);
    const again = await sigstoreTrust(opts);
    expect(again.authorities).toHaveLength(2);
  });
});
