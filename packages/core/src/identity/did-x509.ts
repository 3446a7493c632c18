/**
 * did:x509 issuer identifiers (wire-format.md §9; did:x509 method specification): build one from a
 * certificate chain, parse it, and resolve it against a chain — the CA digest must be one of the
 * chain's CA certificates and every predicate must hold on the leaf.
 */
import { IdentityError } from '../errors.ts';
import { type CoseKey } from '../cose/key.ts';
import {
  type Certificate,
  type DigestAlgorithm,
  certificateDer,
  certificateDigest,
  certificateKey,
  extendedKeyUsages,
  parseCertificate,
  subjectAltNames,
} from './certificate.ts';
import { fulcioIssuer } from './fulcio.ts';
import { type ValidatedPath, validatePath, x5chainCertificates } from './path.ts';

export type DidX509Predicate =
  | { readonly type: 'subject'; readonly fields: readonly (readonly [string, string])[] }
  | { readonly type: 'san'; readonly sanType: 'email' | 'dns' | 'uri'; readonly value: string }
  | { readonly type: 'eku'; readonly oid: string }
  /** the Fulcio OIDC issuer without its leading `https://` */
  | { readonly type: 'fulcio-issuer'; readonly issuer: string };

export interface DidX509 {
  readonly version: '0';
  readonly digestAlgorithm: DigestAlgorithm;
  /** base64url digest of the DER of a CA certificate (intermediate or root) of the chain */
  readonly caDigest: string;
  readonly predicates: readonly DidX509Predicate[];
}

/** RFC 9943 §6 bounds iss to 8192 characters. */
export const MAX_DID_LENGTH = 8192;
const DIGEST_ALGS: readonly DigestAlgorithm[] = ['sha256', 'sha384', 'sha512'];
const DIGEST_LENGTH: Record<DigestAlgorithm, number> = { sha256: 32, sha384: 48, sha512: 64 };
/** subject labels of the did:x509 data model, as RFC 4514 names them */
const SUBJECT_LABELS: Record<string, string> = { CN: '2.5.4.3', L: '2.5.4.7', ST: '2.5.4.8', O: '2.5.4.10', OU: '2.5.4.11', C: '2.5.4.6', STREET: '2.5.4.9' };
const OID_RE = /^[0-9]+(\.[0-9]+)*$/;

const syntax = (msg: string) => new IdentityError('ERR_DID_X509_SYNTAX', msg);

/** Percent-encodes every byte of the UTF-8 form except A–Z a–z 0–9 - . _ (did:x509 §Percent-encoding; `~` too). */
export function didPercentEncode(value: string): string {
  let out = '';
  for (const b of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9._-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Strict decoding: only unreserved characters and %HH escapes, and the result must be UTF-8. */
export function didPercentDecode(value: string, what: string): string {
  if (!/^(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+$/.test(value)) throw syntax(`${what} "${value}" is not a percent-encoded value (allowed: A–Z a–z 0–9 - . _ and %HH)`);
  const bytes = Buffer.from(value.replace(/%([0-9A-Fa-f]{2})|./g, (m, h: string | undefined) => (h ? String.fromCharCode(parseInt(h, 16)) : m)), 'latin1');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw syntax(`${what} "${value}" does not decode to UTF-8`);
  }
}

export function parseDidX509(did: string): DidX509 {
  if (typeof did !== 'string' || did.length === 0 || did.length > MAX_DID_LENGTH) throw syntax(`a did:x509 is 1..${MAX_DID_LENGTH} characters`);
  if (!did.startsWith('did:x509:')) throw syntax(`"${did.slice(0, 64)}" is not a did:x509 identifier`);
  const parts = did.slice('did:x509:'.length).split('::');
  const head = parts[0]!.split(':');
  if (head.length !== 3) throw syntax('did:x509 must start "did:x509:0:<sha256|sha384|sha512>:<base64url CA digest>"');
  const [version, alg, digest] = head as [string, string, string];
  if (version !== '0') throw syntax(`did:x509 version "${version}" is not supported; only 0 is`);
  if (!DIGEST_ALGS.includes(alg as DigestAlgorithm)) throw syntax(`did:x509 digest algorithm "${alg}" is not sha256, sha384 or sha512`);
  const digestAlgorithm = alg as DigestAlgorithm;
  if (!/^[A-Za-z0-9_-]+$/.test(digest) || Buffer.from(digest, 'base64url').length !== DIGEST_LENGTH[digestAlgorithm]) {
    throw syntax(`did:x509 CA digest "${digest}" is not a base64url ${alg} digest`);
  }
  if (parts.length < 2) throw syntax('did:x509 needs at least one predicate ("::san:…", "::subject:…", "::eku:…" or "::fulcio-issuer:…")');
  const predicates = parts.slice(1).map((p) => parsePredicate(p));
  return { version: '0', digestAlgorithm, caDigest: digest, predicates };
}

function parsePredicate(p: string): DidX509Predicate {
  const i = p.indexOf(':');
  if (i <= 0) throw syntax(`did:x509 predicate "${p}" must be "<name>:<value>"`);
  const name = p.slice(0, i);
  const value = p.slice(i + 1);
  switch (name) {
    case 'subject': {
      const items = value.split(':');
      if (items.length < 2 || items.length % 2 !== 0) throw syntax(`did:x509 subject predicate "${value}" must be key:value pairs`);
      const fields: [string, string][] = [];
      for (let k = 0; k < items.length; k += 2) {
        const key = items[k]!;
        if (!(key in SUBJECT_LABELS) && !OID_RE.test(key)) throw syntax(`did:x509 subject key "${key}" is neither ${Object.keys(SUBJECT_LABELS).join('/')} nor a dotted OID`);
        if (fields.some(([f]) => f === key)) throw syntax(`did:x509 subject predicate repeats key "${key}"`);
        fields.push([key, didPercentDecode(items[k + 1]!, `subject ${key} value`)]);
      }
      return { type: 'subject', fields };
    }
    case 'san': {
      const items = value.split(':');
      if (items.length !== 2) throw syntax(`did:x509 san predicate "${value}" must be "<email|dns|uri>:<percent-encoded value>"`);
      const [sanType, enc] = items as [string, string];
      if (sanType !== 'email' && sanType !== 'dns' && sanType !== 'uri') throw syntax(`did:x509 san type "${sanType}" is not email, dns or uri`);
      return { type: 'san', sanType, value: didPercentDecode(enc, 'san value') };
    }
    case 'eku':
      if (!OID_RE.test(value)) throw syntax(`did:x509 eku "${value}" is not a dotted OID`);
      return { type: 'eku', oid: value };
    case 'fulcio-issuer':
      return { type: 'fulcio-issuer', issuer: didPercentDecode(value, 'fulcio-issuer value') };
    default:
      throw syntax(`did:x509 predicate "${name}" is not supported (subject, san, eku, fulcio-issuer)`);
  }
}

function formatPredicate(p: DidX509Predicate): string {
  switch (p.type) {
    case 'subject':
      return `subject:${p.fields.map(([k, v]) => `${k}:${didPercentEncode(v)}`).join(':')}`;
    case 'san':
      return `san:${p.sanType}:${didPercentEncode(p.value)}`;
    case 'eku':
      return `eku:${p.oid}`;
    case 'fulcio-issuer':
      return `fulcio-issuer:${didPercentEncode(p.issuer)}`;
  }
}

export function formatDidX509(d: DidX509): string {
  if (d.predicates.length === 0) throw syntax('did:x509 needs at least one predicate');
  const did = `did:x509:${d.version}:${d.digestAlgorithm}:${d.caDigest}::${d.predicates.map(formatPredicate).join('::')}`;
  parseDidX509(did); // what we emit must be what we accept
  return did;
}

export type DidX509PredicateChoice = 'san' | 'fulcio-issuer' | 'eku' | 'subject';

export interface BuildDidX509Options {
  /** which CA certificate to pin: `root` (default: survives intermediate rotation), `intermediate` (chain[1]) or an index > 0 */
  ca?: 'root' | 'intermediate' | number;
  digestAlgorithm?: DigestAlgorithm;
  /** predicates read from the leaf, default ['san', 'fulcio-issuer'] (the Fulcio identity: workflow URI + OIDC issuer) */
  predicates?: readonly DidX509PredicateChoice[];
}

/** Builds the did:x509 of a chain (leaf first, ≥ 2 certificates) from predicates read off its leaf. */
export function buildDidX509(chain: readonly Uint8Array[], options: BuildDidX509Options = {}): string {
  const ders = x5chainCertificates(chain);
  if (ders.length < 2) throw syntax('a did:x509 needs a chain of at least two certificates: the leaf and the CA to pin');
  const ca = options.ca ?? 'root';
  const index = ca === 'root' ? ders.length - 1 : ca === 'intermediate' ? 1 : ca;
  if (!Number.isInteger(index) || index < 1 || index >= ders.length) throw syntax(`did:x509 CA index ${String(ca)} is not a CA certificate of a ${ders.length}-certificate chain`);
  const leaf = parseCertificate(ders[0]!, 'leaf');
  const digestAlgorithm = options.digestAlgorithm ?? 'sha256';
  const predicates = (options.predicates ?? ['san', 'fulcio-issuer']).map((choice): DidX509Predicate => {
    switch (choice) {
      case 'san': {
        const san = subjectAltNames(leaf).find((s) => s.type === 'uri' || s.type === 'email' || s.type === 'dns');
        if (!san) throw syntax('leaf has no email, dns or uri Subject Alternative Name for a san predicate');
        return { type: 'san', sanType: san.type as 'uri' | 'email' | 'dns', value: san.value };
      }
      case 'fulcio-issuer': {
        const issuer = fulcioIssuer(leaf);
        if (!issuer.startsWith('https://')) throw syntax(`Fulcio issuer "${issuer}" is not an https URL; a fulcio-issuer predicate cannot express it`);
        return { type: 'fulcio-issuer', issuer: issuer.slice('https://'.length) };
      }
      case 'eku': {
        const eku = extendedKeyUsages(leaf)?.[0];
        if (!eku) throw syntax('leaf has no extended key usage for an eku predicate');
        return { type: 'eku', oid: eku };
      }
      case 'subject': {
        const fields: [string, string][] = [];
        for (const [label, oid] of Object.entries(SUBJECT_LABELS)) {
          const values = leaf.subjectName.getField(oid);
          if (values.length === 1) fields.push([label, values[0]!]);
        }
        if (fields.length === 0) throw syntax('leaf subject has no CN, L, ST, O, OU, C or STREET for a subject predicate');
        return { type: 'subject', fields };
      }
    }
  });
  return formatDidX509({
    version: '0',
    digestAlgorithm,
    caDigest: Buffer.from(certificateDigest(ders[index]!, digestAlgorithm)).toString('base64url'),
    predicates,
  });
}

const mismatch = (msg: string) => new IdentityError('ERR_DID_X509_MISMATCH', msg);

/**
 * Checks a did:x509 against a certificate path (leaf first). Call it only on a path that has been
 * validated: the DID proves nothing about an unvalidated chain.
 */
export function matchDidX509(did: string | DidX509, path: readonly Certificate[]): DidX509 {
  const d = typeof did === 'string' ? parseDidX509(did) : did;
  if (path.length < 2) throw mismatch('did:x509 resolution needs a chain of at least two certificates');
  const pinned = path.slice(1).some((c) => Buffer.from(certificateDigest(certificateDer(c), d.digestAlgorithm)).toString('base64url') === d.caDigest);
  if (!pinned) {
    const have = path.slice(1).map((c) => `"${c.subject}" ${Buffer.from(certificateDigest(certificateDer(c), d.digestAlgorithm)).toString('base64url')}`);
    throw mismatch(`did:x509 pins CA ${d.digestAlgorithm} ${d.caDigest}, which is none of the chain's CA certificates (${have.join(', ')})`);
  }
  const leaf = path[0]!;
  for (const p of d.predicates) {
    switch (p.type) {
      case 'subject':
        for (const [key, value] of p.fields) {
          const values = leaf.subjectName.getField(SUBJECT_LABELS[key] ?? key);
          if (values.length !== 1 || values[0] !== value) {
            throw mismatch(`did:x509 subject ${key} must be "${value}"; the leaf has ${values.length === 0 ? 'none' : values.map((v) => `"${v}"`).join(', ')}`);
          }
        }
        break;
      case 'san': {
        const sans = subjectAltNames(leaf);
        if (!sans.some((s) => s.type === p.sanType && s.value === p.value)) {
          throw mismatch(`did:x509 requires SAN ${p.sanType}:${p.value}; the leaf has ${sans.map((s) => `${s.type}:${s.value}`).join(', ') || 'no SAN'}`);
        }
        break;
      }
      case 'eku': {
        const eku = extendedKeyUsages(leaf) ?? [];
        if (!eku.includes(p.oid)) throw mismatch(`did:x509 requires EKU ${p.oid}; the leaf has ${eku.join(', ') || 'none'}`);
        break;
      }
      case 'fulcio-issuer': {
        let actual: string;
        try {
          actual = fulcioIssuer(leaf);
        } catch (e) {
          throw mismatch(`did:x509 requires Fulcio issuer https://${p.issuer}, but ${(e as Error).message}`);
        }
        if (actual !== `https://${p.issuer}`) throw mismatch(`did:x509 requires Fulcio issuer https://${p.issuer}; the leaf says ${actual}`);
        break;
      }
    }
  }
  return d;
}

export interface ResolvedDidX509 {
  readonly did: DidX509;
  readonly path: ValidatedPath;
  /** the leaf's public key: what the DID document's verification method carries */
  readonly key: CoseKey;
}

/**
 * did:x509 Read: the x5chain (≥ 2 certificates, leaf first) must validate with its last certificate
 * as trust anchor at `at`, and the DID must match it. Trust in the CA comes from the pinned digest;
 * to also require a registered trust anchor use `verifyX509Issuer`.
 */
export async function resolveDidX509(did: string, x5chain: readonly Uint8Array[], options: { at: Date; requireCodeSigning?: boolean }): Promise<ResolvedDidX509> {
  const d = parseDidX509(did);
  const ders = x5chainCertificates(x5chain);
  if (ders.length < 2) throw mismatch('did:x509 resolution needs an x5chain of at least two certificates (leaf and CA)');
  const anchor = ders[ders.length - 1]!;
  const path = await validatePath(ders.slice(0, -1), {
    trust: { authorities: [{ name: 'x5chain anchor', chain: [anchor] }] },
    at: options.at,
    requireCodeSigning: options.requireCodeSigning ?? false,
  });
  matchDidX509(d, path.certificates);
  return { did: d, path, key: certificateKey(path.leaf) };
}
