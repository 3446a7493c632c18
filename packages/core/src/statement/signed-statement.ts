/**
 * Signed Statements (RFC 9943 §6): the builder and the parser that enforces the profile.
 * Parsing returns a typed SignedStatement or throws a typed error with a stable code.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { CoseError, StatementError } from '../errors.ts';
import { Claim, Header, type HeaderMap } from '../cose/headers.ts';
import { type Algorithm } from '../cose/algorithms.ts';
import { type Sign1, type Signer, checkHeaders, decodeSign1, signSign1, verifySign1 } from '../cose/sign1.ts';
import { type CoseKey } from '../cose/key.ts';
import { type DecodeLimits, Tag } from '../cbor.ts';
import { assertSubjectUnambiguous } from '../payload/purl.ts';
import { type HashAlgorithmId, MAX_CERT_BYTES, MAX_X5CHAIN_CERTS, STATEMENT_MEDIA_TYPE, hashAlgorithm, isUri } from './profile.ts';

export interface HashEnvelopeInfo {
  /** payload-hash-alg (258) */
  readonly hashAlg: HashAlgorithmId;
  /** preimage-content-type (259) */
  readonly preimageContentType?: string | number;
  /** payload-location (260) */
  readonly location?: string;
  /** the payload: the digest of the preimage */
  readonly digest: Uint8Array;
}

export interface SignedStatement {
  readonly bytes: Uint8Array;
  readonly sign1: Sign1;
  readonly algorithm: Algorithm;
  readonly iss: string;
  readonly sub: string;
  /** issued-at, seconds since the epoch, when present */
  readonly iat?: number;
  readonly claims: ReadonlyMap<number | string, unknown>;
  readonly contentType?: string | number;
  readonly typ?: string | number;
  readonly kid?: Uint8Array;
  /** DER certificates, leaf first, from the protected header (or unprotected, pinned by protected x5t) */
  readonly x5chain?: readonly Uint8Array[];
  readonly hashEnvelope?: HashEnvelopeInfo;
  /** encoded receipts found under unprotected 394 (a Transparent Statement) */
  readonly receipts: readonly Uint8Array[];
}

export interface CreateStatementOptions {
  payload: Uint8Array;
  signer: Signer;
  iss: string;
  sub: string;
  /** seconds since the epoch; defaults to now; false leaves it out */
  iat?: number | false;
  /** media type of an embedded payload (label 3); not allowed with a hash envelope */
  contentType?: string;
  /** key identifier (label 4); required unless x5chain is given */
  kid?: Uint8Array;
  /** DER certificates, leaf first (label 33, protected) */
  x5chain?: readonly Uint8Array[];
  /** typ (16); defaults to application/scitt-statement+cose, null leaves it out */
  typ?: string | null;
  /** leave the payload out of the message (nil) */
  detached?: boolean;
  /** make this a Hash Envelope (RFC 9995): `payload` must then be the digest */
  hashEnvelope?: { hashAlg: HashAlgorithmId; preimageContentType?: string; location?: string };
  /** additional CWT claims (label 15) */
  extraClaims?: ReadonlyMap<number | string, unknown>;
}

export async function createSignedStatement(o: CreateStatementOptions): Promise<Uint8Array> {
  if (!o.kid && !o.x5chain?.length) throw new StatementError('ERR_STATEMENT_KEY_ID', 'a Signed Statement needs a kid or an x5chain (RFC 9943 §6)');
  if (o.x5chain?.length && !isUri(o.iss)) {
    throw new StatementError('ERR_STATEMENT_ISSUER', `iss "${o.iss.slice(0, 80)}" is not a URI; with x5chain, iss must be a URI (e.g. did:x509:…) (RFC 9943 §6)`);
  }
  if (!o.iss) throw new StatementError('ERR_STATEMENT_CLAIMS', 'iss must not be empty (RFC 9943 §6)');
  if (!o.sub) throw new StatementError('ERR_STATEMENT_CLAIMS', 'sub must not be empty (RFC 9943 §6)');
  assertSubjectUnambiguous(o.sub); // a package URL sub must pin one digest, as verifiers and discovery read it
  const claims = new Map<number | string, unknown>([
    [Claim.iss, o.iss],
    [Claim.sub, o.sub],
  ]);
  if (o.iat !== false) claims.set(Claim.iat, o.iat ?? Math.floor(Date.now() / 1000));
  for (const [k, v] of o.extraClaims ?? []) claims.set(k, v);

  const header: HeaderMap = new Map();
  if (o.hashEnvelope) {
    if (o.contentType) throw new StatementError('ERR_STATEMENT_HASH_ENVELOPE', 'a Hash Envelope must not carry content type (3); use preimageContentType (RFC 9995)');
    const h = hashAlgorithm(o.hashEnvelope.hashAlg);
    if (!h) throw new StatementError('ERR_STATEMENT_HASH_ENVELOPE', `payload hash algorithm ${o.hashEnvelope.hashAlg} is not SHA-256 (-16), SHA-384 (-43) or SHA-512 (-44)`);
    if (o.payload.length !== h.length) throw new StatementError('ERR_STATEMENT_HASH_ENVELOPE', `${h.name} digest must be ${h.length} bytes, got ${o.payload.length}`);
    header.set(Header.payloadHashAlg, o.hashEnvelope.hashAlg);
    if (o.hashEnvelope.preimageContentType) header.set(Header.preimageContentType, o.hashEnvelope.preimageContentType);
    if (o.hashEnvelope.location) header.set(Header.payloadLocation, o.hashEnvelope.location);
  } else if (o.contentType) {
    header.set(Header.contentType, o.contentType);
  }
  if (o.kid) header.set(Header.kid, o.kid);
  if (o.x5chain?.length) header.set(Header.x5chain, o.x5chain.length === 1 ? o.x5chain[0] : [...o.x5chain]);
  header.set(Header.cwtClaims, claims);
  if (o.typ !== null) header.set(Header.typ, o.typ ?? STATEMENT_MEDIA_TYPE);
  return signSign1({ protectedHeader: header, payload: o.payload, detached: o.detached ?? false, signer: o.signer });
}

export interface ParseOptions {
  limits?: Partial<DecodeLimits>;
}

/** Decodes a Signed (or Transparent) Statement and checks the RFC 9943 §6 profile; no signature check. */
export function parseSignedStatement(bytes: Uint8Array, opts: ParseOptions = {}): SignedStatement {
  const sign1 = decodeSign1(bytes, { requireTag: true, ...(opts.limits ? { limits: opts.limits } : {}) });
  const algorithm = checkHeaders(sign1);
  const p = sign1.protectedHeader;
  const u = sign1.unprotectedHeader;

  if (p.has(Header.receipts)) {
    throw new StatementError('ERR_STATEMENT_RECEIPTS_PROTECTED', 'receipts (394) are in the protected header; they belong in the unprotected header (RFC 9943 §7)');
  }
  const claims = p.get(Header.cwtClaims);
  if (!(claims instanceof Map)) {
    throw new StatementError('ERR_STATEMENT_CLAIMS', u.has(Header.cwtClaims) ? 'CWT claims (15) are only in the unprotected header; they must be protected (RFC 9943 §6)' : 'protected header has no CWT claims (15) (RFC 9943 §6)');
  }
  const iss = claims.get(Claim.iss);
  const sub = claims.get(Claim.sub);
  const iat = numericDate(claims.get(Claim.iat));
  if (typeof iss !== 'string' || iss.length === 0) throw new StatementError('ERR_STATEMENT_CLAIMS', 'CWT claims have no iss (1) text string (RFC 9943 §6)');
  if (typeof sub !== 'string' || sub.length === 0) throw new StatementError('ERR_STATEMENT_CLAIMS', 'CWT claims have no sub (2) text string (RFC 9943 §6)');
  if (iat !== undefined && (typeof iat !== 'number' || Number.isNaN(iat))) throw new StatementError('ERR_STATEMENT_CLAIMS', 'CWT claim iat (6) must be a NumericDate (RFC 8392)');

  const kid = p.get(Header.kid);
  if (kid !== undefined && !(kid instanceof Uint8Array)) throw new CoseError('ERR_COSE_HEADER', 'kid (4) must be a byte string (RFC 9052 §3.1)');
  const x5chain = readX5chain(p, u);
  if (!kid && !x5chain && !p.has(Header.x5t)) {
    throw new StatementError('ERR_STATEMENT_KEY_ID', 'protected header has neither kid (4) nor x5chain (33) / x5t (34): the issuer key cannot be identified (RFC 9943 §6)');
  }
  if ((x5chain || p.has(Header.x5t)) && !isUri(iss)) {
    throw new StatementError('ERR_STATEMENT_ISSUER', `iss "${iss.slice(0, 80)}" is not a URI of 1..8192 characters, as RFC 9943 §6 requires with x5t/x5chain`);
  }
  const contentType = p.get(Header.contentType);
  const typ = p.get(Header.typ);
  if (u.has(Header.contentType) || u.has(Header.typ)) {
    throw new StatementError('ERR_STATEMENT_CLAIMS', 'content type (3) and typ (16) must be protected in a Signed Statement');
  }
  const hashEnvelope = readHashEnvelope(sign1);
  const receipts = readReceipts(u);
  return {
    bytes,
    sign1,
    algorithm,
    iss,
    sub,
    ...(iat !== undefined ? { iat } : {}),
    claims,
    ...(contentType !== undefined ? { contentType: contentType as string | number } : {}),
    ...(typ !== undefined ? { typ: typ as string | number } : {}),
    ...(kid ? { kid } : {}),
    ...(x5chain ? { x5chain } : {}),
    ...(hashEnvelope ? { hashEnvelope } : {}),
    receipts,
  };
}

/** A NumericDate, also when wrapped in tag 1 as deployed CCF services send it; any other tag is refused. */
function numericDate(v: unknown): unknown {
  // cbor-x decodes tag 1 to a Date; any other tag stays a Tag and is refused
  if (v instanceof Date) return v.getTime() / 1000;
  if (v instanceof Tag) return Number.NaN;
  return v;
}

function certList(v: unknown, where: string): Uint8Array[] {
  const list = v instanceof Uint8Array ? [v] : Array.isArray(v) ? v : undefined;
  if (!list || list.length === 0 || !list.every((c) => c instanceof Uint8Array && c.length > 0)) {
    throw new CoseError('ERR_COSE_HEADER', `${where} x5chain (33) must be a certificate byte string or a non-empty array of them (RFC 9360)`);
  }
  if (list.length > MAX_X5CHAIN_CERTS) throw new CoseError('ERR_COSE_HEADER', `x5chain has ${list.length} certificates; at most ${MAX_X5CHAIN_CERTS} are accepted`);
  for (const c of list as Uint8Array[]) {
    if (c.length > MAX_CERT_BYTES) throw new CoseError('ERR_COSE_HEADER', `x5chain certificate of ${c.length} bytes exceeds ${MAX_CERT_BYTES}`);
  }
  return list as Uint8Array[];
}

/** x5chain is trusted only from the protected header, or unprotected when its leaf matches a protected x5t (RFC 9943 §6). */
function readX5chain(p: HeaderMap, u: HeaderMap): Uint8Array[] | undefined {
  if (p.has(Header.x5chain)) return certList(p.get(Header.x5chain), 'protected');
  if (!u.has(Header.x5chain)) return undefined;
  const x5t = p.get(Header.x5t);
  if (x5t === undefined) {
    throw new StatementError('ERR_STATEMENT_KEY_ID', 'x5chain (33) is only in the unprotected header and no protected x5t (34) pins it: it cannot be trusted (RFC 9943 §6)');
  }
  const chain = certList(u.get(Header.x5chain), 'unprotected');
  if (!Array.isArray(x5t) || x5t[0] !== -16 || !(x5t[1] instanceof Uint8Array) || x5t[1].length !== 32) {
    throw new CoseError('ERR_COSE_HEADER', 'x5t (34) must be [-16, SHA-256 of the leaf certificate] (RFC 9360)');
  }
  const leafHash = createHash('sha256').update(chain[0]!).digest();
  if (!timingSafeEqual(leafHash, x5t[1])) {
    throw new StatementError('ERR_STATEMENT_KEY_ID', 'unprotected x5chain leaf does not match the protected x5t thumbprint');
  }
  return chain;
}

function readHashEnvelope(m: Sign1): HashEnvelopeInfo | undefined {
  const p = m.protectedHeader;
  const u = m.unprotectedHeader;
  for (const label of [Header.payloadHashAlg, Header.preimageContentType, Header.payloadLocation]) {
    if (u.has(label)) throw new StatementError('ERR_STATEMENT_HASH_ENVELOPE', `hash envelope header ${label} must not be in the unprotected header (RFC 9995)`);
  }
  if (!p.has(Header.payloadHashAlg)) {
    if (p.has(Header.preimageContentType) || p.has(Header.payloadLocation)) {
      throw new StatementError('ERR_STATEMENT_HASH_ENVELOPE', 'preimage-content-type (259) or payload-location (260) without payload-hash-alg (258)');
    }
    return undefined;
  }
  const hashAlg = p.get(Header.payloadHashAlg);
  const h = hashAlgorithm(hashAlg);
  if (!h) throw new StatementError('ERR_STATEMENT_HASH_ENVELOPE', `payload-hash-alg ${String(hashAlg)} is not SHA-256 (-16), SHA-384 (-43) or SHA-512 (-44)`);
  if (p.has(Header.contentType)) {
    throw new StatementError('ERR_STATEMENT_HASH_ENVELOPE', 'a Hash Envelope must not carry content type (3); the preimage type goes in 259 (RFC 9995)');
  }
  if (m.payload !== null && m.payload.length !== h.length) {
    throw new StatementError('ERR_STATEMENT_HASH_ENVELOPE', `payload is ${m.payload.length} bytes but a ${h.name} digest is ${h.length}`);
  }
  const pct = p.get(Header.preimageContentType);
  if (pct !== undefined && typeof pct !== 'string' && typeof pct !== 'number') {
    throw new StatementError('ERR_STATEMENT_HASH_ENVELOPE', 'preimage-content-type (259) must be a text string or an unsigned integer');
  }
  const location = p.get(Header.payloadLocation);
  if (location !== undefined && typeof location !== 'string') throw new StatementError('ERR_STATEMENT_HASH_ENVELOPE', 'payload-location (260) must be a text string');
  return {
    hashAlg: hashAlg as HashAlgorithmId,
    ...(pct !== undefined ? { preimageContentType: pct } : {}),
    ...(location !== undefined ? { location } : {}),
    digest: m.payload ?? new Uint8Array(0),
  };
}

function readReceipts(u: HeaderMap): Uint8Array[] {
  const r = u.get(Header.receipts);
  if (r === undefined) return [];
  if (!Array.isArray(r) || r.length === 0) throw new CoseError('ERR_COSE_HEADER', 'receipts (394) must be a non-empty array (RFC 9943 §7)');
  if (!r.every((x) => x instanceof Uint8Array)) {
    throw new CoseError('ERR_COSE_HEADER', 'each receipt under 394 must be a byte string holding an encoded COSE_Sign1 (RFC 9942 §4.3)');
  }
  return r as Uint8Array[];
}

export interface VerifyStatementOptions {
  /** for a detached payload (nil) */
  detachedPayload?: Uint8Array;
}

/** Checks the issuer's signature with `key`; the algorithm is the statement's protected alg and must fit the key. */
export function verifySignedStatement(statement: SignedStatement | Uint8Array, key: CoseKey, opts: VerifyStatementOptions = {}): SignedStatement {
  const s = statement instanceof Uint8Array ? parseSignedStatement(statement) : statement;
  verifySign1(s.sign1, key, opts.detachedPayload ? { detachedPayload: opts.detachedPayload } : {});
  return s;
}
