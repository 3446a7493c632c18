/**
 * Transparency Service keys a verifier trusts, indexed by key id. A receipt names its key only by
 * its protected kid (wire-format.md §11.3); there is no "try every key".
 *
 * Key ids:
 * - COSE_Key / COSE_KeySet (/.well-known/scitt-keys, RFC 9052 §7): the key's kid (2); without one,
 *   the RFC 9679 thumbprint (the kid SCRAPI recommends).
 * - JWK Set (CCF services publish one): the JWK's "kid" string as UTF-8 bytes. CCF receipts carry
 *   their kid as the ASCII text of a hex digest inside the bstr, so that is a byte-for-byte match
 *   (ccf/README.md step 7). A JWK without "kid" falls back to the thumbprint.
 * - CCF / Microsoft Signing Transparency trust stores ({"parameters":[{"serviceCertificate"}]}) and
 *   `kidStyle: 'ccf'`: the ASCII lowercase hex of SHA-256(DER SubjectPublicKeyInfo), which is how
 *   CCF derives the kid it signs with.
 * - single PEM (public key, private key or certificate) or JWK: as above, or `kid` to set one.
 */
import { X509Certificate, createHash, type JsonWebKey } from 'node:crypto';
import { decode } from '../cbor.ts';
import { KeyError, ScittError } from '../errors.ts';
import { algorithmByName } from '../cose/algorithms.ts';
import { type CoseKey, coseKeyFromMap, fromJwk, fromKeyObject, loadKey, publicKey, publicKeyObject, thumbprint } from '../cose/key.ts';

export interface TrustedKey {
  readonly kid: Uint8Array;
  /** public key; the receipt's protected alg must fit it */
  readonly key: CoseKey;
  /** which service this key belongs to; receipts are counted per service by the policy (defaults to the kid) */
  readonly service?: string;
}

export interface LoadKeysOptions {
  /** label recorded as `service` on every loaded key */
  service?: string;
  /** how to derive a kid for keys that do not carry one: 'cose' = RFC 9679 thumbprint (default), 'ccf' = ASCII hex SHA-256(SPKI) */
  kidStyle?: 'cose' | 'ccf';
  /** explicit kid, for an input holding exactly one key */
  kid?: Uint8Array;
}

const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** CCF's key id: the lowercase hex of SHA-256 over the DER SubjectPublicKeyInfo, as ASCII bytes. */
export function ccfKeyId(key: CoseKey): Uint8Array {
  const spki = publicKeyObject(key).export({ type: 'spki', format: 'der' });
  return new TextEncoder().encode(createHash('sha256').update(spki).digest('hex'));
}

/** A trusted key with its id: the explicit one, else the key's own kid, else by `kidStyle`. */
export function trustedKey(key: CoseKey, opts: LoadKeysOptions = {}): TrustedKey {
  const pub = publicKey(key);
  const kid = opts.kid ?? key.kid ?? (opts.kidStyle === 'ccf' ? ccfKeyId(pub) : thumbprint(pub));
  if (kid.length === 0) throw new KeyError('ERR_KEY_INVALID', 'a trusted key needs a non-empty kid');
  return { kid, key: pub, ...(opts.service !== undefined ? { service: opts.service } : {}) };
}

/** The set of trusted service keys, looked up by exact kid bytes. */
export class TrustedKeys implements Iterable<TrustedKey> {
  readonly #byKid = new Map<string, TrustedKey>();
  /** key thumbprint (hex) → the service it belongs to (its label, or the kid it was first added under) */
  readonly #serviceOfKey = new Map<string, { service: string; named: boolean }>();

  constructor(keys: Iterable<TrustedKey | CoseKey> = []) {
    for (const k of keys) this.add(k);
  }

  /**
   * Adds a key; the same kid twice must be the same key (two keys behind one kid would make selection
   * ambiguous). One key is one service: the same key under another kid joins the service it already
   * belongs to, so it never counts twice towards a policy's minimum, and a key named as two
   * different services is refused (they would not be independent).
   */
  add(k: TrustedKey | CoseKey): this {
    let entry: TrustedKey = 'key' in k ? { ...k, key: publicKey(k.key) } : trustedKey(k);
    const id = hexOf(entry.kid);
    const print = hexOf(thumbprint(entry.key));
    const existing = this.#byKid.get(id);
    if (existing && hexOf(thumbprint(existing.key)) !== print) {
      throw new KeyError('ERR_KEY_INVALID', `two different keys claim kid ${id}; refusing an ambiguous trust set`);
    }
    const owner = this.#serviceOfKey.get(print);
    if (owner !== undefined) {
      if (entry.service !== undefined && owner.named && entry.service !== owner.service) {
        throw new KeyError('ERR_KEY_INVALID', `one key (thumbprint ${print.slice(0, 16)}…) is trusted as two services, ${JSON.stringify(owner.service)} and ${JSON.stringify(entry.service)}: services sharing a key are not independent; name it under one service`);
      }
      entry = { ...entry, service: owner.service };
    } else {
      this.#serviceOfKey.set(print, { service: entry.service ?? id, named: entry.service !== undefined });
    }
    if (existing) return this;
    this.#byKid.set(id, entry);
    return this;
  }

  get(kid: Uint8Array): TrustedKey | undefined {
    return this.#byKid.get(hexOf(kid));
  }

  get size(): number {
    return this.#byKid.size;
  }

  [Symbol.iterator](): Iterator<TrustedKey> {
    return this.#byKid.values();
  }
}

/**
 * Loads trusted service keys from a COSE_KeySet or COSE_Key (CBOR), a JWK Set or single JWK (JSON),
 * a CCF trust store (JSON), or PEM (public keys, private keys or certificates). Keys of types this
 * project cannot verify with (e.g. RSA in a JWKS) are skipped; an input with no usable key is refused.
 */
export function loadTrustedKeys(input: Uint8Array | string, opts: LoadKeysOptions = {}): TrustedKey[] {
  const text = typeof input === 'string' ? input : isText(input) ? Buffer.from(input).toString('utf8') : undefined;
  let keys: TrustedKey[];
  if (text === undefined) keys = fromCbor(input as Uint8Array, opts);
  else if (text.includes('-----BEGIN CERTIFICATE-----')) keys = fromCertificates(pemBlocks(text, 'CERTIFICATE'), opts);
  else if (text.includes('-----BEGIN')) keys = [trustedKey(loadKey(text), opts)];
  else if (text.trimStart().startsWith('{')) keys = fromJson(text, opts);
  else throw new KeyError('ERR_KEY_INVALID', 'trusted keys must be a COSE_KeySet/COSE_Key (CBOR), a JWK Set/JWK or CCF trust store (JSON), or PEM');
  if (opts.kid && keys.length !== 1) throw new KeyError('ERR_KEY_INVALID', `an explicit kid needs exactly one key; the input has ${keys.length}`);
  return keys;
}

function fromCbor(bytes: Uint8Array, opts: LoadKeysOptions): TrustedKey[] {
  const v = decode(bytes, { allowedTags: [] });
  if (v instanceof Map) return [trustedKey(coseKeyFromMap(v), opts)];
  if (!Array.isArray(v)) throw new KeyError('ERR_KEY_INVALID', 'COSE_KeySet must be a CBOR array of COSE_Key (RFC 9052 §7)');
  return usable(v.map((m) => () => trustedKey(coseKeyFromMap(m), opts)), 'COSE_KeySet');
}

function fromJson(text: string, opts: LoadKeysOptions): TrustedKey[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new KeyError('ERR_KEY_INVALID', 'key file looks like JSON but does not parse', { cause: e });
  }
  const obj = json as { keys?: unknown; parameters?: unknown; kty?: unknown };
  if (Array.isArray(obj.keys)) return usable(obj.keys.map((jwk) => () => fromJwkMember(jwk, opts)), 'JWK Set');
  if (Array.isArray(obj.parameters)) {
    const certs = obj.parameters.map((p: { serviceCertificate?: unknown }) => {
      if (typeof p?.serviceCertificate !== 'string') throw new KeyError('ERR_KEY_INVALID', 'CCF trust store entry has no serviceCertificate');
      return new Uint8Array(Buffer.from(p.serviceCertificate, 'base64'));
    });
    return fromCertificates(certs, { ...opts, kidStyle: opts.kidStyle ?? 'ccf' });
  }
  if (typeof obj.kty === 'string') return [fromJwkMember(obj, opts)];
  throw new KeyError('ERR_KEY_INVALID', 'JSON keys must be a JWK Set {"keys": [...]}, a JWK, or a CCF trust store {"parameters": [...]}');
}

function fromJwkMember(jwk: unknown, opts: LoadKeysOptions): TrustedKey {
  if (typeof jwk !== 'object' || jwk === null) throw new KeyError('ERR_KEY_INVALID', 'JWK must be a JSON object');
  const j = jwk as JsonWebKey & { kid?: unknown; alg?: unknown };
  if (j.kid !== undefined && (typeof j.kid !== 'string' || j.kid.length === 0)) throw new KeyError('ERR_KEY_INVALID', 'JWK "kid" must be a non-empty string');
  let key: CoseKey = fromJwk(j as JsonWebKey);
  // A JWK "alg" restricts the key (RFC 7517 §4.4); the receipt's alg must then equal it.
  if (typeof j.alg === 'string') key = { ...key, alg: algorithmByName(j.alg).id };
  const kid = opts.kid ?? (typeof j.kid === 'string' ? new TextEncoder().encode(j.kid) : undefined);
  return trustedKey(key, { ...opts, ...(kid ? { kid } : {}) });
}

function fromCertificates(ders: (string | Uint8Array)[], opts: LoadKeysOptions): TrustedKey[] {
  const seen = new Map<string, TrustedKey>();
  const loaders = ders.map((der) => () => {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(typeof der === 'string' ? der : Buffer.from(der));
    } catch (e) {
      throw new KeyError('ERR_KEY_INVALID', `certificate could not be read: ${(e as Error).message}`, { cause: e });
    }
    let key: CoseKey;
    try {
      key = fromKeyObject(cert.publicKey);
    } catch (e) {
      // node:crypto parses the SubjectPublicKeyInfo only when asked: a malformed one throws here
      if (e instanceof ScittError) throw e;
      throw new KeyError('ERR_KEY_INVALID', `certificate public key could not be read: ${(e as Error).message}`, { cause: e });
    }
    return trustedKey(key, opts);
  });
  // Trust stores list one certificate per validity period, often for the same key: keep each key once.
  for (const k of usable(loaders, 'certificates')) {
    const id = hexOf(k.kid) + '/' + hexOf(thumbprint(k.key));
    if (!seen.has(id)) seen.set(id, k);
  }
  return [...seen.values()];
}

/** Runs each loader; skips keys of unsupported types, rethrows anything else. */
function usable(loaders: (() => TrustedKey)[], what: string): TrustedKey[] {
  const out: TrustedKey[] = [];
  let skipped = 0;
  for (const load of loaders) {
    try {
      out.push(load());
    } catch (e) {
      if (e instanceof ScittError && (e.code === 'ERR_KEY_UNSUPPORTED' || e.code === 'ERR_COSE_ALG_UNSUPPORTED')) skipped++;
      else throw e;
    }
  }
  if (out.length === 0) throw new KeyError('ERR_KEY_UNSUPPORTED', `${what} has no usable key (${skipped} of an unsupported type); supported: EC P-256/P-384/P-521, Ed25519/Ed448`);
  return out;
}

function pemBlocks(text: string, label: string): string[] {
  const re = new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----`, 'g');
  return text.match(re) ?? [];
}

function isText(b: Uint8Array): boolean {
  const first = b.subarray(0, 64);
  return first.length > 0 && first.every((c) => c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127));
}
