/**
 * Trust anchors for X.509 issuers (RFC 9943 §5.1.1.1: the TS and verifiers keep a list of trust
 * anchors and build a complete path to one of them). Sources: the Sigstore public-good trusted root
 * via TUF (@sigstore/tuf), an offline trusted_root.json for air-gapped verifiers, or configured PEM sets.
 */
import { type KeyObject, createHash, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { IdentityError } from '../errors.ts';
import { type SigstoreTufOptions, fetchTrustedRootText } from './tuf.ts';
import { type Certificate, X509_LIMITS, certificatesFromPem, nameDer, parseCertificate, sameBytes } from './certificate.ts';

/**
 * One certificate authority: its CA certificates from the issuing CA up to the self-signed root (the
 * trust anchor, last). `validFor` is the window in which the authority is trusted to have issued
 * (Sigstore trusted root `validFor`); a path is accepted only when the verification time is inside it.
 */
export interface CertificateAuthority {
  readonly name: string;
  readonly uri?: string;
  readonly chain: readonly Uint8Array[];
  readonly validFor?: { readonly start?: Date; readonly end?: Date };
}

/** A Certificate Transparency log (Sigstore trusted root `ctlogs`): a leaf's SCT must verify with one valid at the SCT's time. */
export interface CtLog {
  /** RFC 6962 log id: SHA-256 of the log's DER SubjectPublicKeyInfo */
  readonly logId: Uint8Array;
  readonly publicKey: KeyObject;
  readonly validFor?: { readonly start?: Date; readonly end?: Date };
  readonly baseUrl?: string;
}

export interface TrustStore {
  readonly authorities: readonly CertificateAuthority[];
  /** CT logs whose SCT a leaf must carry (identity/sct.ts); a store without any refuses every leaf unless `insecureIgnoreSct` */
  readonly ctLogs?: readonly CtLog[];
  /** explicit, never a default: these CAs (a private Fulcio) have no CT log, so leaves are accepted without an SCT */
  readonly insecureIgnoreSct?: boolean;
}

/** The same trust, saying explicitly that its Fulcio has no CT log (leaves are accepted without an SCT). */
export function withoutCtLog(trust: TrustStore): TrustStore {
  return { ...trust, insecureIgnoreSct: true };
}

/** A CT log from its PEM or DER SubjectPublicKeyInfo, its log id computed from the key (RFC 6962 §3.2). */
export function ctLogFromPublicKey(key: string | Uint8Array, validFor?: CtLog['validFor'], baseUrl?: string): CtLog {
  let publicKey: KeyObject;
  try {
    publicKey = typeof key === 'string' ? createPublicKey(key) : createPublicKey({ key: Buffer.from(key), format: 'der', type: 'spki' });
  } catch (e) {
    throw new IdentityError('ERR_TRUST_ROOT', `CT log key is not a public key (PEM or DER SubjectPublicKeyInfo): ${(e as Error).message}`, { cause: e });
  }
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return { logId: new Uint8Array(createHash('sha256').update(spki).digest()), publicKey, ...(validFor ? { validFor } : {}), ...(baseUrl ? { baseUrl } : {}) };
}

const MAX_AUTHORITIES = 64;
const MAX_TRUSTED_ROOT_BYTES = 4 * 1024 * 1024;
export const SIGSTORE_TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json';

function authorityName(der: Uint8Array): string {
  return parseCertificate(der, 'trust anchor').subject || '(empty subject)';
}

/** Whether `issuer`'s key signed `cert` and the names chain (exact DER match of issuer and subject Names). */
export async function issuedBy(cert: Certificate, issuer: Certificate): Promise<boolean> {
  if (!sameBytes(nameDer(cert.issuerName), nameDer(issuer.subjectName))) return false;
  try {
    return await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

export interface PemTrustInput {
  /** self-signed root certificates (trust anchors); PUBLIC KEY blocks among them are CT log keys */
  roots: string | readonly string[];
  /** intermediate CA certificates; each must chain to one of the roots */
  intermediates?: string | readonly string[];
  /** PEM public keys of the CT logs this CA submits to (log id = SHA-256 of the key) */
  ctLogKeys?: string | readonly string[];
  /** explicit: this CA has no CT log; leaves are accepted without an SCT */
  insecureIgnoreSct?: boolean;
}

/**
 * A trust store from configured PEM sets: every root is an authority on its own, and every
 * intermediate becomes an authority whose chain runs up to its root (so leaves that carry only
 * themselves in x5chain still complete).
 */
export async function trustFromPem(input: PemTrustInput): Promise<TrustStore> {
  const list = (v: string | readonly string[] | undefined) => (v === undefined ? [] : typeof v === 'string' ? [v] : v).flatMap(certificatesFromPem);
  const roots = list(input.roots);
  const intermediates = list(input.intermediates);
  if (roots.length === 0) throw new IdentityError('ERR_TRUST_ROOT', 'no root certificate given; a trust store needs at least one trust anchor');
  if (roots.length + intermediates.length > MAX_AUTHORITIES) {
    throw new IdentityError('ERR_X509_LIMIT', `${roots.length + intermediates.length} CA certificates given; at most ${MAX_AUTHORITIES} are accepted`);
  }
  const authorities: CertificateAuthority[] = roots.map((der) => ({ name: authorityName(der), chain: [der] }));
  const parsed = [...intermediates, ...roots].map((der) => ({ der, cert: parseCertificate(der, 'CA certificate') }));
  for (const der of intermediates) {
    const chain = [der];
    let cert = parseCertificate(der, 'intermediate certificate');
    while (!roots.some((r) => sameBytes(r, chain[chain.length - 1]!))) {
      if (chain.length >= X509_LIMITS.maxChainLength) {
        throw new IdentityError('ERR_X509_LIMIT', `intermediate "${authorityName(der)}" is more than ${X509_LIMITS.maxChainLength} certificates from a root`);
      }
      let next: (typeof parsed)[number] | undefined;
      for (const p of parsed) if (!chain.some((c) => sameBytes(c, p.der)) && (await issuedBy(cert, p.cert))) next = p;
      if (!next) {
        throw new IdentityError('ERR_TRUST_ROOT', `intermediate "${authorityName(der)}" does not chain to any configured root (its issuer is "${cert.issuer}"); add that root`);
      }
      chain.push(next.der);
      cert = next.cert;
    }
    authorities.push({ name: authorityName(der), chain });
  }
  // PUBLIC KEY blocks beside the root certificates are the CA's CT log keys: one PEM file holds a private Fulcio's whole trust
  const pemTexts = [input.roots, input.ctLogKeys ?? []].flatMap((v) => (typeof v === 'string' ? [v] : v));
  const ctLogs = pemTexts.flatMap((pem) => (pem.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? []).map((k) => ctLogFromPublicKey(k)));
  if (ctLogs.length > MAX_AUTHORITIES) throw new IdentityError('ERR_X509_LIMIT', `${ctLogs.length} CT log keys given; at most ${MAX_AUTHORITIES} are accepted`);
  return { authorities, ctLogs, ...(input.insecureIgnoreSct === true ? { insecureIgnoreSct: true } : {}) };
}

interface TrustedRootCa {
  subject?: { organization?: string; commonName?: string };
  uri?: string;
  certChain?: { certificates?: { rawBytes?: string }[] };
  validFor?: { start?: string; end?: string };
}

function parseDate(v: unknown, what: string): Date | undefined {
  if (v === undefined) return undefined;
  const d = typeof v === 'string' ? new Date(v) : undefined;
  if (!d || Number.isNaN(d.getTime())) throw new IdentityError('ERR_TRUST_ROOT', `trusted root ${what} is not an RFC 3339 time`);
  return d;
}

/**
 * The Fulcio certificate authorities of a Sigstore trusted root
 * (`application/vnd.dev.sigstore.trustedroot+json`, JSON form as served by TUF or `gh attestation trusted-root`).
 */
export function trustFromSigstoreTrustedRoot(input: string | Uint8Array | object): TrustStore {
  let root: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    if (input.length > MAX_TRUSTED_ROOT_BYTES) throw new IdentityError('ERR_X509_LIMIT', `trusted root is larger than ${MAX_TRUSTED_ROOT_BYTES} bytes`);
    try {
      root = JSON.parse(typeof input === 'string' ? input : Buffer.from(input).toString('utf8'));
    } catch (e) {
      throw new IdentityError('ERR_TRUST_ROOT', `trusted root is not JSON: ${(e as Error).message}`, { cause: e });
    }
  }
  const r = root as { mediaType?: unknown; certificateAuthorities?: unknown };
  if (typeof r !== 'object' || r === null || typeof r.mediaType !== 'string' || !r.mediaType.startsWith(SIGSTORE_TRUSTED_ROOT_MEDIA_TYPE)) {
    throw new IdentityError('ERR_TRUST_ROOT', `trusted root must have mediaType "${SIGSTORE_TRUSTED_ROOT_MEDIA_TYPE};version=…"`);
  }
  if (!Array.isArray(r.certificateAuthorities) || r.certificateAuthorities.length === 0) {
    throw new IdentityError('ERR_TRUST_ROOT', 'trusted root lists no certificateAuthorities; it cannot anchor Fulcio certificates');
  }
  if (r.certificateAuthorities.length > MAX_AUTHORITIES) {
    throw new IdentityError('ERR_X509_LIMIT', `trusted root lists ${r.certificateAuthorities.length} certificate authorities; at most ${MAX_AUTHORITIES} are accepted`);
  }
  const authorities = (r.certificateAuthorities as (TrustedRootCa | null)[]).map((ca, i): CertificateAuthority => {
    if (typeof ca !== 'object' || ca === null) throw new IdentityError('ERR_TRUST_ROOT', `trusted root certificateAuthorities[${i}] must be an object`);
    const certs = ca.certChain?.certificates;
    if (!Array.isArray(certs) || certs.length === 0 || certs.length > X509_LIMITS.maxChainLength) {
      throw new IdentityError('ERR_TRUST_ROOT', `trusted root certificateAuthorities[${i}].certChain must hold 1..${X509_LIMITS.maxChainLength} certificates`);
    }
    const chain = certs.map((c, j) => {
      if (typeof c?.rawBytes !== 'string') throw new IdentityError('ERR_TRUST_ROOT', `trusted root certificateAuthorities[${i}].certChain.certificates[${j}].rawBytes is missing`);
      const der = new Uint8Array(Buffer.from(c.rawBytes, 'base64'));
      parseCertificate(der, `trusted root certificateAuthorities[${i}] certificate ${j}`);
      return der;
    });
    const start = parseDate(ca.validFor?.start, `certificateAuthorities[${i}].validFor.start`);
    const end = parseDate(ca.validFor?.end, `certificateAuthorities[${i}].validFor.end`);
    const name = [ca.subject?.organization, ca.subject?.commonName].filter(Boolean).join('/') || authorityName(chain[chain.length - 1]!);
    return {
      name,
      ...(ca.uri ? { uri: ca.uri } : {}),
      chain,
      ...(start || end ? { validFor: { ...(start ? { start } : {}), ...(end ? { end } : {}) } } : {}),
    };
  });
  return { authorities, ctLogs: parseCtLogs((r as { ctlogs?: unknown }).ctlogs) };
}

interface TrustedRootCtLog {
  baseUrl?: unknown;
  publicKey?: { rawBytes?: unknown; keyDetails?: unknown; validFor?: { start?: unknown; end?: unknown } };
  logId?: { keyId?: unknown };
}

/** The trusted root's `ctlogs`; absent means none (and every leaf is refused unless `insecureIgnoreSct`). */
function parseCtLogs(v: unknown): CtLog[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new IdentityError('ERR_TRUST_ROOT', 'trusted root ctlogs must be an array');
  if (v.length > MAX_AUTHORITIES) throw new IdentityError('ERR_X509_LIMIT', `trusted root lists ${v.length} CT logs; at most ${MAX_AUTHORITIES} are accepted`);
  return (v as (TrustedRootCtLog | null)[]).map((log, i): CtLog => {
    const raw = log?.publicKey?.rawBytes;
    const keyId = log?.logId?.keyId;
    if (typeof raw !== 'string' || typeof keyId !== 'string') throw new IdentityError('ERR_TRUST_ROOT', `trusted root ctlogs[${i}] needs publicKey.rawBytes and logId.keyId (base64)`);
    const details = typeof log?.publicKey?.keyDetails === 'string' ? log.publicKey.keyDetails : '';
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey({ key: Buffer.from(raw, 'base64'), format: 'der', type: details.startsWith('PKCS1_') ? 'pkcs1' : 'spki' });
    } catch (e) {
      throw new IdentityError('ERR_TRUST_ROOT', `trusted root ctlogs[${i}].publicKey is not a public key: ${(e as Error).message}`, { cause: e });
    }
    const start = parseDate(log?.publicKey?.validFor?.start, `ctlogs[${i}].publicKey.validFor.start`);
    const end = parseDate(log?.publicKey?.validFor?.end, `ctlogs[${i}].publicKey.validFor.end`);
    return {
      logId: new Uint8Array(Buffer.from(keyId, 'base64')),
      publicKey,
      ...(start || end ? { validFor: { ...(start ? { start } : {}), ...(end ? { end } : {}) } } : {}),
      ...(typeof log?.baseUrl === 'string' ? { baseUrl: log.baseUrl } : {}),
    };
  });
}

/** An offline trusted_root.json (air-gapped verifiers; `gh attestation trusted-root` writes one). */
export async function trustFromTrustedRootFile(path: string): Promise<TrustStore> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new IdentityError('ERR_TRUST_ROOT', `cannot read trusted root file ${path}: ${(e as Error).message}`, { cause: e });
  }
  return trustFromSigstoreTrustedRoot(bytes);
}

export type { SigstoreTufOptions } from './tuf.ts';

const tufCache = new Map<string, Promise<TrustStore>>();

/**
 * The Sigstore public-good Fulcio trust (or a private Sigstore's, through `mirrorURL`/`rootPath`),
 * fetched and verified by TUF, parsed once per process and option set. With `trustedRootPath` no
 * network is used at all.
 */
export function sigstoreTrust(options: SigstoreTufOptions & { trustedRootPath?: string } = {}): Promise<TrustStore> {
  if (options.trustedRootPath !== undefined) return trustFromTrustedRootFile(options.trustedRootPath);
  const key = JSON.stringify([options.mirrorURL, options.cachePath, options.rootPath, options.forceCache]);
  let p = tufCache.get(key);
  if (!p) {
    p = fetchTrustedRootText(options).then(trustFromSigstoreTrustedRoot);
    p.catch(() => tufCache.delete(key));
    tufCache.set(key, p);
  }
  return p;
}
