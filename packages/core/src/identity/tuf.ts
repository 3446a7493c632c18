/**
 * The Sigstore trusted root (trusted_root.json) fetched and verified through TUF: the public-good
 * mirror, or `mirrorURL` with its initial `rootPath`. The text is handed back unparsed; callers parse it.
 */
import { IdentityError } from '../errors.ts';
import { useProxyFromEnvironment } from '../http-proxy.ts';
import { sigstoreTuf } from '../lazy-deps.cjs';

export interface SigstoreTufOptions {
  /** TUF mirror; default the Sigstore public-good CDN */
  mirrorURL?: string;
  /** TUF metadata cache directory; default @sigstore/tuf's per-user data directory */
  cachePath?: string;
  /** initial root.json for a mirror that @sigstore/tuf has no seed for */
  rootPath?: string;
  /** use cached metadata without contacting the mirror */
  forceCache?: boolean;
}

export async function fetchTrustedRootText(options: SigstoreTufOptions = {}): Promise<string> {
  try {
    // loaded on first use: only keyless work without a trusted_root.json file reads the TUF repository
    const { initTUF } = sigstoreTuf();
    useProxyFromEnvironment(); // the TUF mirror (http-proxy.ts)
    const tuf = await initTUF({
      ...(options.mirrorURL !== undefined ? { mirrorURL: options.mirrorURL } : {}),
      ...(options.cachePath !== undefined ? { cachePath: options.cachePath } : {}),
      ...(options.rootPath !== undefined ? { rootPath: options.rootPath } : {}),
      ...(options.forceCache !== undefined ? { forceCache: options.forceCache } : {}),
    });
    return await tuf.getTarget('trusted_root.json');
  } catch (e) {
    throw new IdentityError(
      'ERR_TRUST_ROOT',
      `cannot fetch the Sigstore trusted root through TUF (${options.mirrorURL ?? 'public-good mirror'}): ${(e as Error).message}; behind a proxy set HTTPS_PROXY; offline, pass a trusted_root.json file (\`scitt trusted-root\` writes one on a machine that can reach the mirror)`,
      { cause: e },
    );
  }
}
