/** Signature algorithms (RFC 9053 §2, COSE Algorithms registry) and the keys each one fits. */
import { CoseError } from '../errors.ts';

export type KeyType = 'EC2' | 'OKP';
export type Curve = 'P-256' | 'P-384' | 'P-521' | 'Ed25519' | 'Ed448';

export interface Algorithm {
  readonly name: 'ES256' | 'ES384' | 'ES512' | 'EdDSA';
  readonly id: number;
  readonly kty: KeyType;
  /** curves the algorithm is bound to: ES512 with a P-256 key is refused (wire-format.md §11.7) */
  readonly curves: readonly Curve[];
  /** node:crypto digest name; null for EdDSA (pure, no pre-hash) */
  readonly hash: 'sha256' | 'sha384' | 'sha512' | null;
}

export const ES256: Algorithm = { name: 'ES256', id: -7, kty: 'EC2', curves: ['P-256'], hash: 'sha256' };
export const ES384: Algorithm = { name: 'ES384', id: -35, kty: 'EC2', curves: ['P-384'], hash: 'sha384' };
export const ES512: Algorithm = { name: 'ES512', id: -36, kty: 'EC2', curves: ['P-521'], hash: 'sha512' };
export const EdDSA: Algorithm = { name: 'EdDSA', id: -8, kty: 'OKP', curves: ['Ed25519', 'Ed448'], hash: null };

const byId = new Map<number, Algorithm>([ES256, ES384, ES512, EdDSA].map((a) => [a.id, a]));
const byName = new Map<string, Algorithm>([ES256, ES384, ES512, EdDSA].map((a) => [a.name.toUpperCase(), a]));

/** Fixed signature sizes: ECDSA is r‖s, each padded to the curve size (RFC 9053 §2.1), never DER. */
export const SIGNATURE_LENGTH: Record<Curve, number> = { 'P-256': 64, 'P-384': 96, 'P-521': 132, Ed25519: 64, Ed448: 114 };

export function algorithmById(id: unknown): Algorithm {
  const alg = typeof id === 'number' ? byId.get(id) : undefined;
  if (!alg) {
    throw new CoseError('ERR_COSE_ALG_UNSUPPORTED', `algorithm ${String(id)} is not supported; use ES256 (-7), ES384 (-35), ES512 (-36) or EdDSA (-8)`);
  }
  return alg;
}

export function algorithmByName(name: string): Algorithm {
  const alg = byName.get(name.toUpperCase());
  if (!alg) throw new CoseError('ERR_COSE_ALG_UNSUPPORTED', `algorithm "${name}" is not supported; use ES256, ES384, ES512 or EdDSA`);
  return alg;
}

/** The algorithm a key of this curve signs with by default. */
export function defaultAlgorithmFor(crv: Curve): Algorithm {
  return crv === 'P-256' ? ES256 : crv === 'P-384' ? ES384 : crv === 'P-521' ? ES512 : EdDSA;
}
