/**
 * x5t (label 34) COSE_CertHash = [hashAlg, hashValue] (RFC 9360 §2): the protected thumbprint that
 * lets an x5chain sit in the unprotected header (RFC 9943 §6). Only the leaf is ever matched.
 */
import { createHash } from 'node:crypto';
import { IdentityError } from '../errors.ts';

/** COSE hash algorithms usable in x5t (IANA COSE Algorithms): SHA-256, SHA-384, SHA-512. SHA-256/64 (-15) is too short to bind a certificate. */
const X5T_HASHES = new Map<number, 'sha256' | 'sha384' | 'sha512'>([
  [-16, 'sha256'],
  [-43, 'sha384'],
  [-44, 'sha512'],
]);

export function x5tFor(leafDer: Uint8Array, hashAlg: -16 | -43 | -44 = -16): [number, Uint8Array] {
  return [hashAlg, new Uint8Array(createHash(X5T_HASHES.get(hashAlg)!).update(leafDer).digest())];
}

/** Refuses unless `x5t` is a well-formed COSE_CertHash of `leafDer`. */
export function checkX5t(x5t: unknown, leafDer: Uint8Array): void {
  if (!Array.isArray(x5t) || x5t.length !== 2 || typeof x5t[0] !== 'number' || !(x5t[1] instanceof Uint8Array)) {
    throw new IdentityError('ERR_X509_MALFORMED', 'x5t must be [hashAlg, hashValue] (RFC 9360 §2)');
  }
  const hash = X5T_HASHES.get(x5t[0]);
  if (!hash) throw new IdentityError('ERR_X509_ALGORITHM', `x5t hash algorithm ${x5t[0]} is not accepted; use SHA-256 (-16), SHA-384 (-43) or SHA-512 (-44)`);
  const want = createHash(hash).update(leafDer).digest();
  if (!want.equals(Buffer.from(x5t[1]))) {
    throw new IdentityError('ERR_X509_KEY_MISMATCH', 'x5t does not match the leaf certificate of x5chain; the unprotected x5chain cannot be used (RFC 9943 §6)');
  }
}
