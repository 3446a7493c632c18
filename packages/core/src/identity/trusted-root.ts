/**
 * The Sigstore trusted root as a document to keep (`scitt trusted-root`, like `gh attestation
 * trusted-root`) and as the PEM trust a registration policy holds (`scitt policy init --keyless`):
 * Fulcio's root and intermediate certificates, and its CT logs' keys, so nobody copies PEM by hand.
 */
import { IdentityError } from '../errors.ts';
import { certificateToPem } from './certificate.ts';
import { trustFromSigstoreTrustedRoot } from './trust.ts';
import { type SigstoreTufOptions, fetchTrustedRootText } from './tuf.ts';

/**
 * trusted_root.json fetched and verified through TUF (the public-good mirror, or `mirrorURL` with its
 * initial `rootPath`), checked to be a usable trusted root before it is handed back, byte for byte.
 */
export async function fetchSigstoreTrustedRoot(options: SigstoreTufOptions = {}): Promise<string> {
  const text = await fetchTrustedRootText(options);
  trustFromSigstoreTrustedRoot(text); // refuse to write what verification would refuse to read
  return text;
}

export interface PemTrust {
  /** self-signed CA certificates (trust anchors), PEM; the CT log keys follow the first as PUBLIC KEY blocks */
  roots: string[];
  /** CA certificates below the roots, PEM */
  intermediates: string[];
  /** how many CT log keys were carried */
  ctLogs: number;
}

/**
 * A trusted root as PEM: each authority's self-signed certificate a root, the others intermediates,
 * and every CT log key appended to the first root as a PUBLIC KEY block (where PEM trust reads them).
 * PEM has no place for validity windows, and a service checks registrations at the current time: so
 * only authorities and logs still valid at `at` are carried (Sigstore's retired 2021 root is not).
 */
export function pemTrustFromSigstoreTrustedRoot(input: string | Uint8Array | object, at: Date = new Date()): PemTrust {
  const trust = trustFromSigstoreTrustedRoot(input);
  const current = (v?: { start?: Date; end?: Date }) => (!v?.start || v.start <= at) && (!v?.end || at < v.end);
  const roots: string[] = [];
  const intermediates: string[] = [];
  for (const ca of trust.authorities.filter((a) => current(a.validFor))) {
    const chain = ca.chain.map(certificateToPem);
    roots.push(chain[chain.length - 1]!);
    intermediates.push(...chain.slice(0, -1));
  }
  const unique = (l: string[]) => [...new Set(l)];
  const rootList = unique(roots);
  if (rootList.length === 0) throw new IdentityError('ERR_TRUST_ROOT', `trusted root holds no certificate authority valid at ${at.toISOString()}`);
  const ctKeys = (trust.ctLogs ?? []).filter((l) => current(l.validFor)).map((l) => l.publicKey.export({ format: 'pem', type: 'spki' }).toString());
  rootList[0] = [rootList[0]!, ...unique(ctKeys)].join('');
  return { roots: rootList, intermediates: unique(intermediates), ctLogs: unique(ctKeys).length };
}
