/**
 * COSE_Key and COSE_KeySet (RFC 9052 §7, RFC 9053 §7), loading from PEM/JWK/COSE_Key,
 * and the RFC 9679 thumbprint used as the default kid.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { decode, encode } from '../cbor.ts';
import { KeyError } from '../errors.ts';
import { type Algorithm, type Curve, type KeyType, SIGNATURE_LENGTH, defaultAlgorithmFor } from './algorithms.ts';
import { SignatureError } from '../errors.ts';

export interface CoseKey {
  readonly kty: KeyType;
  readonly crv: Curve;
  /** EC2 x-coordinate, or the OKP public key */
  readonly x: Uint8Array;
  /** EC2 y-coordinate */
  readonly y?: Uint8Array;
  /** private part: present only on signing keys, never serialised unless asked */
  readonly d?: Uint8Array;
  readonly kid?: Uint8Array;
  readonly alg?: number;
}

const KTY = { OKP: 1, EC2: 2 } as const;
const CRV: Record<Curve, number> = { 'P-256': 1, 'P-384': 2, 'P-521': 3, Ed25519: 6, Ed448: 7 };
const CRV_BY_ID = new Map<number, Curve>(Object.entries(CRV).map(([k, v]) => [v, k as Curve]));
const COORD: Record<Curve, number> = { 'P-256': 32, 'P-384': 48, 'P-521': 66, Ed25519: 32, Ed448: 57 };
const L = { kty: 1, kid: 2, alg: 3, crv: -1, x: -2, y: -3, d: -4 } as const;

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const unb64u = (s: unknown, what: string): Uint8Array => {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s)) throw new KeyError('ERR_KEY_INVALID', `JWK member "${what}" is not base64url`);
  return new Uint8Array(Buffer.from(s, 'base64url'));
};

function checkCoordinates(k: CoseKey): CoseKey {
  const n = COORD[k.crv];
  if (k.x.length !== n || (k.kty === 'EC2' && k.y?.length !== n) || (k.d && k.d.length !== n)) {
    throw new KeyError('ERR_KEY_INVALID', `${k.crv} key has coordinates of the wrong length (expected ${n} bytes)`);
  }
  return k;
}

export function fromJwk(jwk: JsonWebKey & { kid?: string }): CoseKey {
  const crv = jwk.crv as Curve;
  if (jwk.kty === 'EC' && (crv === 'P-256' || crv === 'P-384' || crv === 'P-521')) {
    return checkCoordinates({
      kty: 'EC2',
      crv,
      x: unb64u(jwk.x, 'x'),
      y: unb64u(jwk.y, 'y'),
      ...(jwk.d ? { d: unb64u(jwk.d, 'd') } : {}),
    });
  }
  if (jwk.kty === 'OKP' && (crv === 'Ed25519' || crv === 'Ed448')) {
    return checkCoordinates({ kty: 'OKP', crv, x: unb64u(jwk.x, 'x'), ...(jwk.d ? { d: unb64u(jwk.d, 'd') } : {}) });
  }
  throw new KeyError('ERR_KEY_UNSUPPORTED', `JWK kty "${jwk.kty}" crv "${jwk.crv}" is not supported; use EC P-256/P-384/P-521 or OKP Ed25519/Ed448`);
}

export function toJwk(key: CoseKey, { includePrivate = false } = {}): JsonWebKey {
  const jwk: JsonWebKey = { kty: key.kty === 'EC2' ? 'EC' : 'OKP', crv: key.crv, x: b64u(key.x) };
  if (key.y) jwk.y = b64u(key.y);
  if (includePrivate && key.d) jwk.d = b64u(key.d);
  return jwk;
}

const publicObjects = new WeakMap<CoseKey, KeyObject>();
const privateObjects = new WeakMap<CoseKey, KeyObject>();

/** node:crypto KeyObject for the public part, built once per key. */
export function publicKeyObject(key: CoseKey): KeyObject {
  let k = publicObjects.get(key);
  if (!k) {
    try {
      k = createPublicKey({ key: toJwk(key), format: 'jwk' });
    } catch (e) {
      throw new KeyError('ERR_KEY_INVALID', `${key.crv} public key is not a valid point on the curve`, { cause: e });
    }
    publicObjects.set(key, k);
  }
  return k;
}

export function privateKeyObject(key: CoseKey): KeyObject {
  if (!key.d) throw new KeyError('ERR_KEY_NOT_PRIVATE', 'this is a public key; signing needs the private key');
  let k = privateObjects.get(key);
  if (!k) {
    k = createPrivateKey({ key: toJwk(key, { includePrivate: true }), format: 'jwk' });
    privateObjects.set(key, k);
  }
  return k;
}

export function fromKeyObject(k: KeyObject): CoseKey {
  return fromJwk(k.export({ format: 'jwk' }));
}

/** The public half of a key (drops `d`). */
export function publicKey(key: CoseKey): CoseKey {
  assertCoseKey(key);
  const { d: _d, ...pub } = key;
  return pub;
}

/** Loads a key from PEM (SPKI, PKCS#8, SEC1), JWK JSON or a CBOR COSE_Key. */
export function loadKey(input: string | Uint8Array): CoseKey {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) throw new KeyError('ERR_KEY_INVALID', 'a key is given as PEM text, a JWK (JSON) or COSE_Key bytes');
  const text = typeof input === 'string' ? input : looksLikeText(input) ? Buffer.from(input).toString('utf8') : undefined;
  if (text !== undefined && text.includes('-----BEGIN')) {
    try {
      return fromKeyObject(text.includes('PRIVATE KEY') ? createPrivateKey(text) : createPublicKey(text));
    } catch (e) {
      if (e instanceof KeyError) throw e;
      throw new KeyError('ERR_KEY_INVALID', `PEM key could not be read: ${(e as Error).message}`, { cause: e });
    }
  }
  if (text !== undefined && text.trimStart().startsWith('{')) {
    let jwk: JsonWebKey;
    try {
      jwk = JSON.parse(text) as JsonWebKey;
    } catch (e) {
      throw new KeyError('ERR_KEY_INVALID', 'key file looks like JSON but does not parse as a JWK', { cause: e });
    }
    return fromJwk(jwk);
  }
  if (typeof input === 'string') throw new KeyError('ERR_KEY_INVALID', 'key is neither PEM, JWK JSON nor a CBOR COSE_Key');
  return decodeCoseKey(input);
}

function looksLikeText(b: Uint8Array): boolean {
  const first = b.subarray(0, 64);
  return first.length > 0 && first.every((c) => c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127));
}

export function toPem(key: CoseKey, { includePrivate = false } = {}): string {
  assertCoseKey(key);
  if (includePrivate) return privateKeyObject(key).export({ format: 'pem', type: 'pkcs8' }).toString();
  return publicKeyObject(key).export({ format: 'pem', type: 'spki' }).toString();
}

/** COSE_Key as a CBOR map; the private part only when asked. */
export function coseKeyMap(key: CoseKey, { includePrivate = false } = {}): Map<number, unknown> {
  const m = new Map<number, unknown>([[L.kty, KTY[key.kty]]]);
  if (key.kid) m.set(L.kid, key.kid);
  if (key.alg !== undefined) m.set(L.alg, key.alg);
  m.set(L.crv, CRV[key.crv]);
  m.set(L.x, key.x);
  if (key.y) m.set(L.y, key.y);
  if (includePrivate && key.d) m.set(L.d, key.d);
  return m;
}

export function encodeCoseKey(key: CoseKey, opts: { includePrivate?: boolean } = {}): Uint8Array {
  return encode(coseKeyMap(key, opts));
}

export function coseKeyFromMap(m: unknown): CoseKey {
  if (!(m instanceof Map)) throw new KeyError('ERR_KEY_INVALID', 'COSE_Key must be a CBOR map (RFC 9052 §7)');
  const kty = m.get(L.kty);
  const crv = CRV_BY_ID.get(m.get(L.crv) as number);
  const bytes = (label: number, what: string, optional = false): Uint8Array | undefined => {
    const v = m.get(label);
    if (v === undefined && optional) return undefined;
    if (!(v instanceof Uint8Array)) throw new KeyError('ERR_KEY_INVALID', `COSE_Key ${what} (${label}) must be a byte string`);
    return v;
  };
  const kid = bytes(L.kid, 'kid', true);
  const alg = m.get(L.alg);
  if (alg !== undefined && typeof alg !== 'number') throw new KeyError('ERR_KEY_UNSUPPORTED', 'COSE_Key alg must be an integer');
  const common = { ...(kid ? { kid } : {}), ...(alg !== undefined ? { alg } : {}) };
  const d = bytes(L.d, 'd', true);
  if (kty === KTY.EC2 && (crv === 'P-256' || crv === 'P-384' || crv === 'P-521')) {
    return checkCoordinates({ kty: 'EC2', crv, x: bytes(L.x, 'x')!, y: bytes(L.y, 'y')!, ...(d ? { d } : {}), ...common });
  }
  if (kty === KTY.OKP && (crv === 'Ed25519' || crv === 'Ed448')) {
    return checkCoordinates({ kty: 'OKP', crv, x: bytes(L.x, 'x')!, ...(d ? { d } : {}), ...common });
  }
  throw new KeyError('ERR_KEY_UNSUPPORTED', `COSE_Key kty ${String(kty)} crv ${String(m.get(L.crv))} is not supported (EC2 P-256/384/521, OKP Ed25519/Ed448)`);
}

export function decodeCoseKey(bytes: Uint8Array): CoseKey {
  return coseKeyFromMap(decode(bytes, { allowedTags: [] }));
}

/** COSE_KeySet: a CBOR array of COSE_Key (RFC 9052 §7), as served at /.well-known/scitt-keys. */
export function encodeKeySet(keys: readonly CoseKey[]): Uint8Array {
  return encode(keys.map((k) => coseKeyMap(publicKey(k))));
}

export function decodeKeySet(bytes: Uint8Array): CoseKey[] {
  const v = decode(bytes, { allowedTags: [] });
  if (!Array.isArray(v)) throw new KeyError('ERR_KEY_INVALID', 'COSE_KeySet must be a CBOR array of COSE_Key (RFC 9052 §7)');
  return v.map(coseKeyFromMap);
}

/** RFC 9679 COSE Key Thumbprint: SHA-256 over the deterministic encoding of the required public members. */
export function thumbprint(key: CoseKey): Uint8Array {
  const m = new Map<number, unknown>([
    [L.kty, KTY[key.kty]],
    [L.crv, CRV[key.crv]],
    [L.x, key.x],
  ]);
  if (key.kty === 'EC2') m.set(L.y, key.y);
  return new Uint8Array(createHash('sha256').update(encode(m)).digest());
}

/** The thumbprint as a URI (RFC 9679 §5). */
export function thumbprintUri(key: CoseKey): string {
  return `urn:ietf:params:oauth:ckt:sha-256:${b64u(thumbprint(key))}`;
}

/** A key argument that is not even a COSE key object: typed, not a TypeError on its first field. */
export function assertCoseKey(key: unknown): void {
  if (typeof key !== 'object' || key === null || typeof (key as CoseKey).kty !== 'string' || !Object.hasOwn(COORD, (key as CoseKey).crv) || !((key as CoseKey).x instanceof Uint8Array)) {
    throw new KeyError('ERR_KEY_INVALID', 'not a COSE key (an object with kty and crv, as loadKey and generateKey return)');
  }
}

export function generateKey(crv: Curve = 'P-256'): CoseKey {
  if (typeof crv !== 'string' || !Object.hasOwn(COORD, crv)) throw new KeyError('ERR_KEY_UNSUPPORTED', `curve ${JSON.stringify(String(crv)).slice(0, 40)} is not one of ${Object.keys(COORD).join(', ')}`);
  const { privateKey } =
    crv === 'Ed25519'
      ? generateKeyPairSync('ed25519')
      : crv === 'Ed448'
        ? generateKeyPairSync('ed448')
        : generateKeyPairSync('ec', { namedCurve: crv });
  return fromKeyObject(privateKey);
}

/** Refuses an algorithm that does not fit the key (wire-format.md §11.7): never let the message pick. */
export function assertAlgorithmFitsKey(alg: Algorithm, key: CoseKey): void {
  if (alg.kty !== key.kty || !alg.curves.includes(key.crv)) {
    throw new SignatureError('ERR_COSE_ALG_KEY_MISMATCH', `algorithm ${alg.name} does not fit a ${key.kty} ${key.crv} key; expected ${defaultAlgorithmFor(key.crv).name}`);
  }
  if (key.alg !== undefined && key.alg !== alg.id) {
    throw new SignatureError('ERR_COSE_ALG_KEY_MISMATCH', `key is restricted to algorithm ${key.alg} but the message says ${alg.name} (${alg.id})`);
  }
}

export function signatureLength(key: CoseKey): number {
  return SIGNATURE_LENGTH[key.crv];
}
