/**
 * Issuer signers: a COSE `Signer` that also says what it contributes to the Signed Statement's
 * protected header (kid, x5chain, iss), asked for before signing.
 */
import { IdentityError } from '../errors.ts';
import { type Algorithm, defaultAlgorithmFor } from '../cose/algorithms.ts';
import { type CoseKey, assertCoseKey, publicKey, thumbprint } from '../cose/key.ts';
import { type Signer, keySigner } from '../cose/sign1.ts';
import { certificateKey, parseCertificate } from './certificate.ts';
import { x5chainCertificates } from './path.ts';

export interface IssuerIdentity {
  /** kid (4): for key issuers the RFC 9679 thumbprint */
  readonly kid?: Uint8Array;
  /** x5chain (33): DER certificates, leaf first */
  readonly x5chain?: readonly Uint8Array[];
  /** CWT iss the signer stands behind (for keyless: a did:x509 bound to its certificate) */
  readonly iss?: string;
}

export interface IssuerSigner extends Signer {
  /** the protected-header material of this signer; call before signing (keyless: fetches the certificate) */
  identity(): Promise<IssuerIdentity>;
}

export interface KeyIssuerSignerOptions {
  algorithm?: Algorithm;
  /** a certificate chain for the key (leaf first); its leaf must certify this key */
  x5chain?: readonly Uint8Array[];
  iss?: string;
}

const sameKey = (a: CoseKey, b: CoseKey) => Buffer.from(thumbprint(a)).equals(Buffer.from(thumbprint(b)));

/** A signer over a held key; kid is its RFC 9679 thumbprint. */
export function keyIssuerSigner(key: CoseKey, options: KeyIssuerSignerOptions = {}): IssuerSigner {
  assertCoseKey(key);
  const signer = keySigner(key, options.algorithm ?? defaultAlgorithmFor(key.crv));
  const kid = thumbprint(key);
  let x5chain: Uint8Array[] | undefined;
  if (options.x5chain) {
    x5chain = x5chainCertificates(options.x5chain);
    if (!sameKey(certificateKey(parseCertificate(x5chain[0]!, 'x5chain[0]')), publicKey(key))) {
      throw new IdentityError('ERR_X509_KEY_MISMATCH', 'x5chain[0] certifies a different public key than the signing key; give the certificate issued for this key');
    }
  }
  const identity: IssuerIdentity = { kid, ...(x5chain ? { x5chain } : {}), ...(options.iss !== undefined ? { iss: options.iss } : {}) };
  return { algorithm: signer.algorithm, sign: (tbs) => signer.sign(tbs), identity: async () => identity };
}
