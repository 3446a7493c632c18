/**
 * Turning what a user names (a URL, a file, a PEM bundle) into the trust a verifier needs: the
 * Transparency Service keys and the X.509 anchors. Shared by the CLI and the release gate.
 */
import { readFile } from 'node:fs/promises';
import { KeyError, ScittError } from '../errors.ts';
import { type TrustStore, sigstoreTrust, trustFromPem, withoutCtLog } from '../identity/trust.ts';
import { TrustedKeys, loadTrustedKeys, trustedKey } from '../receipt/keys.ts';
import { ScrapiClient } from '../scrapi/client.ts';

/** Service keys from a Transparency Service URL (its /.well-known/scitt-keys) or a key file (COSE Key Set, JWKS, PEM). */
export async function loadServiceKeys(source: string): Promise<TrustedKeys> {
  if (/^https?:\/\//i.test(source)) {
    const keys = await new ScrapiClient({ url: source, retries: 2 }).keys();
    return new TrustedKeys(keys.map((k) => trustedKey(k, { service: source })));
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(source));
  } catch (e) {
    throw new ScittError('ERR_IO', `cannot read Transparency Service keys ${source}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  try {
    return new TrustedKeys(loadTrustedKeys(bytes));
  } catch (e) {
    if (e instanceof KeyError) throw e;
    // a file that is not a key set is the user's input, not something that failed verification
    throw new KeyError('ERR_KEY_INVALID', `${source} is not a Transparency Service key set (COSE Key Set, JWK Set or PEM): ${(e as Error).message}`, { cause: e });
  }
}

/**
 * X.509 trust anchors for keyless statements: a Sigstore trusted_root.json (offline), PEM roots
 * (and intermediates), or by default the Sigstore public-good root fetched through TUF.
 */
export async function loadX509Trust(o: { trustedRoot?: string; rootsPem?: string; intermediatesPem?: string; insecureIgnoreSct?: boolean }): Promise<TrustStore> {
  // explicit only: a private Fulcio without a CT log; otherwise a leaf must carry an SCT from a CT log of the trust (identity/sct.ts)
  if (o.insecureIgnoreSct) return withoutCtLog(await loadX509Trust({ ...o, insecureIgnoreSct: false }));
  if (o.rootsPem) {
    const roots = await readFile(o.rootsPem, 'utf8').catch((e: Error) => {
      throw new ScittError('ERR_IO', `cannot read trust anchors ${o.rootsPem}: ${e.message}`);
    });
    const intermediates = o.intermediatesPem ? await readFile(o.intermediatesPem, 'utf8') : undefined;
    return trustFromPem({ roots, ...(intermediates ? { intermediates } : {}) });
  }
  return sigstoreTrust(o.trustedRoot ? { trustedRootPath: o.trustedRoot } : {});
}
