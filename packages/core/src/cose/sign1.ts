/**
 * COSE_Sign1 (RFC 9052 §4.2) encode, decode, sign and verify. Sig_structure (§4.4) is built from the
 * protected bytes exactly as received, never from a re-encoding.
 */
import { sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { Tag, bstrHeadLength, decode, encode, floatValuedKeys, writeBstr, type DecodeLimits } from '../cbor.ts';
import { CoseError, SignatureError } from '../errors.ts';
import { type Algorithm, SIGNATURE_LENGTH, algorithmById, defaultAlgorithmFor } from './algorithms.ts';
import { Header, type HeaderMap, type Label, UNDERSTOOD_LABELS } from './headers.ts';
import { type CoseKey, assertAlgorithmFitsKey, privateKeyObject, publicKeyObject } from './key.ts';

export const COSE_SIGN1_TAG = 18;
const EMPTY = new Uint8Array(0);

export interface Sign1 {
  /** the protected header bstr content exactly as received; Sig_structure uses these bytes */
  readonly protectedBytes: Uint8Array;
  readonly protectedHeader: HeaderMap;
  readonly unprotectedHeader: HeaderMap;
  /** null when the payload is detached */
  readonly payload: Uint8Array | null;
  readonly signature: Uint8Array;
  readonly tagged: boolean;
}

export interface DecodeSign1Options {
  /** SCITT statements and receipts are always tagged (RFC 9943 §6.1, RFC 9942 §4.3) */
  requireTag?: boolean;
  limits?: Partial<DecodeLimits>;
}

export function decodeSign1(bytes: Uint8Array, { requireTag = true, limits }: DecodeSign1Options = {}): Sign1 {
  let value = decode(bytes, limits);
  let tagged = false;
  if (value instanceof Tag) {
    if (value.tag !== COSE_SIGN1_TAG) throw new CoseError('ERR_COSE_TAG', `tag ${value.tag} is not COSE_Sign1 (18)`);
    value = value.value;
    tagged = true;
  } else if (requireTag) {
    throw new CoseError('ERR_COSE_TAG', 'COSE_Sign1 must carry tag 18 here (RFC 9943 §6.1)');
  }
  if (!Array.isArray(value) || value.length !== 4) {
    throw new CoseError('ERR_COSE_MALFORMED', 'COSE_Sign1 must be an array of 4 items: protected, unprotected, payload, signature');
  }
  const [protectedBytes, unprotectedHeader, payload, signature] = value as unknown[];
  if (!(protectedBytes instanceof Uint8Array)) throw new CoseError('ERR_COSE_MALFORMED', 'protected header must be a byte string (RFC 9052 §3)');
  if (!(unprotectedHeader instanceof Map)) throw new CoseError('ERR_COSE_MALFORMED', 'unprotected header must be a map (RFC 9052 §3)');
  if (payload !== null && !(payload instanceof Uint8Array)) throw new CoseError('ERR_COSE_MALFORMED', 'payload must be a byte string or nil');
  if (!(signature instanceof Uint8Array)) throw new CoseError('ERR_COSE_MALFORMED', 'signature must be a byte string');
  return {
    protectedBytes,
    protectedHeader: decodeProtected(protectedBytes),
    unprotectedHeader: unprotectedHeader as HeaderMap,
    payload,
    signature,
    tagged,
  };
}

// Tag 1 (epoch time) is allowed for NumericDate claims: RFC 8392 says to omit it, deployed CCF services send it.
const PROTECTED_LIMITS = { allowedTags: [1] };
/** headers whose values are integers (or text) and never floats: alg, vds, payload-hash-alg */
const INTEGER_VALUED = [Header.alg, Header.vds, Header.payloadHashAlg];

/** `h''` and `h'a0'` both mean an empty map (RFC 9052 §3); anything else must be one map. */
export function decodeProtected(bytes: Uint8Array): HeaderMap {
  if (bytes.length === 0) return new Map();
  let m: unknown;
  try {
    m = decode(bytes, PROTECTED_LIMITS);
  } catch (e) {
    throw new CoseError('ERR_COSE_HEADER', `protected header is not valid CBOR: ${(e as Error).message}`, { cause: e });
  }
  if (!(m instanceof Map)) throw new CoseError('ERR_COSE_HEADER', 'protected header must encode a map (RFC 9052 §3)');
  const floats = floatValuedKeys(bytes, PROTECTED_LIMITS);
  for (const label of INTEGER_VALUED) {
    if (floats.has(String(label))) {
      throw new CoseError('ERR_COSE_HEADER', `protected header ${label} is encoded as a floating-point number; algorithm and structure identifiers are integers (RFC 9052 §3.1)`);
    }
  }
  return m as HeaderMap;
}

export function encodeSign1(msg: Omit<Sign1, 'protectedHeader' | 'tagged'>, { tag = true } = {}): Uint8Array {
  const arr = [msg.protectedBytes, msg.unprotectedHeader, msg.payload, msg.signature];
  // Protected bytes are embedded as received; the rest is encoded deterministically.
  return encode(tag ? new Tag(arr, COSE_SIGN1_TAG) : arr);
}

/**
 * The body_protected field of Sig_structure: the received bytes, except that a protected bucket
 * decoding to an empty map is a zero-length bstr (RFC 9052 §4.4; cose-wg sign-pass-01 sends h'a0').
 */
export function bodyProtected(msg: Pick<Sign1, 'protectedBytes' | 'protectedHeader'>): Uint8Array {
  return msg.protectedHeader.size === 0 ? EMPTY : msg.protectedBytes;
}

/**
 * Sig_structure for COSE_Sign1 (RFC 9052 §4.4), deterministically encoded: `["Signature1",
 * protected, external_aad, payload]`. Written out at its exact size, so verifying a statement with a
 * large payload takes one copy of it (the generic encoder took four times the payload).
 */
export function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array, externalAad: Uint8Array = EMPTY): Uint8Array {
  const out = new Uint8Array(1 + SIGNATURE1.length + bstrHeadLength(protectedBytes.length) + protectedBytes.length + bstrHeadLength(externalAad.length) + externalAad.length + bstrHeadLength(payload.length) + payload.length);
  out[0] = 0x84; // array of 4
  out.set(SIGNATURE1, 1);
  writeBstr(out, writeBstr(out, writeBstr(out, 1 + SIGNATURE1.length, protectedBytes), externalAad), payload);
  return out;
}

/** text string "Signature1" with its head (0x6a: major type 3, length 10) */
const SIGNATURE1 = new Uint8Array([0x6a, ...new TextEncoder().encode('Signature1')]);

/**
 * Checks the header rules of RFC 9052 §3–3.1 and returns the algorithm. `allowUnprotectedAlg` exists
 * only for plain-COSE interop (cose-wg sign-pass-01); SCITT objects never use it.
 */
export function checkHeaders(msg: Pick<Sign1, 'protectedHeader' | 'unprotectedHeader'>, { allowUnprotectedAlg = false } = {}): Algorithm {
  const p = msg.protectedHeader;
  const u = msg.unprotectedHeader;
  for (const label of u.keys()) {
    if (p.has(label)) throw new CoseError('ERR_COSE_HEADER', `header ${String(label)} is in both the protected and unprotected buckets`);
  }
  if (u.has(Header.crit)) throw new CoseError('ERR_COSE_CRIT', 'crit must be in the protected header (RFC 9052 §3.1)');
  if (p.has(Header.crit)) {
    const crit = p.get(Header.crit);
    if (!Array.isArray(crit) || crit.length === 0) throw new CoseError('ERR_COSE_CRIT', 'crit must be a non-empty array of labels');
    for (const label of crit as Label[]) {
      if (!UNDERSTOOD_LABELS.has(label)) throw new CoseError('ERR_COSE_CRIT', `crit lists header ${String(label)}, which this verifier does not understand`);
      if (!p.has(label)) throw new CoseError('ERR_COSE_CRIT', `crit lists header ${String(label)}, which is not in the protected header`);
    }
  }
  if (!p.has(Header.alg)) {
    if (u.has(Header.alg) && allowUnprotectedAlg) return algorithmById(u.get(Header.alg));
    if (u.has(Header.alg)) throw new CoseError('ERR_COSE_ALG_UNPROTECTED', 'alg is only in the unprotected header; it must be protected (RFC 9052 §3.1)');
    throw new CoseError('ERR_COSE_ALG_MISSING', 'protected header has no alg (1)');
  }
  return algorithmById(p.get(Header.alg));
}

export interface VerifyOptions {
  /** the payload when the message carries nil (detached, RFC 9052 §2) */
  detachedPayload?: Uint8Array;
  externalAad?: Uint8Array;
  /** plain-COSE interop only: accept alg from the unprotected bucket (RFC 9052 allows it where it cannot be protected) */
  allowUnprotectedAlg?: boolean;
}

/** Verifies the signature with `key`; the algorithm comes from the protected header and must fit the key. */
export function verifySign1(msg: Sign1, key: CoseKey, opts: VerifyOptions = {}): Algorithm {
  const alg = checkHeaders(msg, { allowUnprotectedAlg: opts.allowUnprotectedAlg ?? false });
  assertAlgorithmFitsKey(alg, key);
  const payload = resolvePayload(msg, opts.detachedPayload);
  if (msg.signature.length !== SIGNATURE_LENGTH[key.crv]) {
    throw new SignatureError(
      'ERR_COSE_SIGNATURE_LENGTH',
      `${alg.name} signature is ${msg.signature.length} bytes; ${key.crv} needs ${SIGNATURE_LENGTH[key.crv]} (r‖s, not DER: RFC 9053 §2.1)`,
    );
  }
  const tbs = sigStructure(bodyProtected(msg), payload, opts.externalAad);
  const keyObject = publicKeyObject(key);
  // ECDSA: r‖s re-encoded as DER here; Node's own ieee-p1363 conversion costs about as much as the verification
  const ok = alg.hash ? nodeVerify(alg.hash, tbs, keyObject, ecdsaDer(msg.signature)) : nodeVerify(null, tbs, keyObject, msg.signature);
  if (!ok) throw new SignatureError('ERR_COSE_SIGNATURE_INVALID', `${alg.name} signature does not verify with the given key`);
  return alg;
}

/** An ECDSA signature r‖s (RFC 9053 §2.1; its length already checked against the curve) as the DER ECDSA-Sig-Value OpenSSL takes (RFC 3279 §2.2.3). */
export function ecdsaDer(signature: Uint8Array): Uint8Array {
  const n = signature.length / 2;
  // each INTEGER minimal (leading zeros dropped, one kept for zero) and positive (0x00 before a set high bit)
  const start = (from: number) => {
    let i = from;
    while (i < from + n - 1 && signature[i] === 0) i++;
    return i;
  };
  const r = start(0);
  const s = start(n);
  const rLen = n - r + (signature[r]! & 0x80 ? 1 : 0);
  const sLen = 2 * n - s + (signature[s]! & 0x80 ? 1 : 0);
  const body = 2 + rLen + 2 + sLen; // an INTEGER of at most 67 bytes has a one-byte length
  const head = body < 0x80 ? 2 : 3; // X.690 §8.1.3: long form 0x81 LEN from 128 on (P-521)
  const out = new Uint8Array(head + body);
  out[0] = 0x30;
  if (head === 3) out[1] = 0x81;
  out[head - 1] = body;
  let o = head;
  out[o++] = 0x02;
  out[o++] = rLen;
  if (signature[r]! & 0x80) out[o++] = 0;
  out.set(signature.subarray(r, n), o);
  o += n - r;
  out[o++] = 0x02;
  out[o++] = sLen;
  if (signature[s]! & 0x80) out[o++] = 0;
  out.set(signature.subarray(s), o);
  return out;
}

function resolvePayload(msg: Sign1, detached: Uint8Array | undefined): Uint8Array {
  if (msg.payload !== null) {
    if (detached !== undefined) throw new CoseError('ERR_COSE_PAYLOAD', 'a detached payload was given but the message carries its own payload');
    return msg.payload;
  }
  if (detached === undefined) throw new CoseError('ERR_COSE_PAYLOAD', 'payload is detached (nil); supply the payload bytes to verify');
  return detached;
}

/** Produces COSE signatures over Sig_structure bytes; the key signer and the keyless signer implement it. */
export interface Signer {
  readonly algorithm: Algorithm;
  sign(toBeSigned: Uint8Array): Promise<Uint8Array>;
}

export function keySigner(key: CoseKey, algorithm: Algorithm = defaultAlgorithmFor(key.crv)): Signer {
  assertAlgorithmFitsKey(algorithm, key);
  const keyObject = privateKeyObject(key);
  return {
    algorithm,
    sign: async (tbs) =>
      new Uint8Array(
        algorithm.hash ? nodeSign(algorithm.hash, tbs, { key: keyObject, dsaEncoding: 'ieee-p1363' }) : nodeSign(null, tbs, keyObject),
      ),
  };
}

export interface Sign1Input {
  /** alg is set from the signer; do not put it here */
  protectedHeader: HeaderMap;
  unprotectedHeader?: HeaderMap;
  payload: Uint8Array;
  /** leave the payload out of the message (nil), RFC 9052 §2 */
  detached?: boolean;
  externalAad?: Uint8Array;
  signer: Signer;
}

export async function signSign1(input: Sign1Input): Promise<Uint8Array> {
  const header: HeaderMap = new Map([[Header.alg, input.signer.algorithm.id], ...input.protectedHeader]);
  header.set(Header.alg, input.signer.algorithm.id);
  const protectedBytes = header.size === 0 ? EMPTY : encode(header);
  const signature = await input.signer.sign(sigStructure(protectedBytes, input.payload, input.externalAad));
  return encodeSign1({
    protectedBytes,
    unprotectedHeader: input.unprotectedHeader ?? new Map(),
    payload: input.detached ? null : input.payload,
    signature,
  });
}
