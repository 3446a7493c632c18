/**
 * Certification path validation (RFC 5280 §6, profiled for signing certificates): builds the path from
 * a COSE x5chain (RFC 9360, leaf first) to a configured trust anchor and checks it at a given time —
 * the registration time of the statement, not "now": Fulcio leaves live ten minutes.
 */
import { IdentityError } from '../errors.ts';
import {
  type Certificate,
  OID,
  X509_LIMITS,
  basicConstraints,
  certificateDer,
  describeCertificate,
  extendedKeyUsages,
  keyUsage,
  parseCertificate,
  sameBytes,
} from './certificate.ts';
import { type CertificateAuthority, type TrustStore, issuedBy } from './trust.ts';
import { x509 } from './x509.ts';

export interface PathOptions {
  trust: TrustStore;
  /** time the path must be valid at (for a Transparent Statement: the receipt's registration time) */
  at: Date;
  /** require the code-signing EKU on the leaf (default true: Fulcio issues it, and statements are code-signing) */
  requireCodeSigning?: boolean;
}

export interface ValidatedPath {
  /** leaf first, trust anchor last */
  readonly certificates: readonly Certificate[];
  readonly der: readonly Uint8Array[];
  readonly leaf: Certificate;
  readonly authority: CertificateAuthority;
}

/** Extensions a certificate may mark critical here: those this module processes (did:x509 data model + RFC 5280 basics). */
const UNDERSTOOD_CRITICAL = new Set<string>([OID.basicConstraints, OID.keyUsage, OID.extKeyUsage, OID.subjectAltName]);

const ACCEPTED_HASHES = new Set(['SHA-256', 'SHA-384', 'SHA-512']);

/** Accepts a COSE_X509 value (one bstr or an array of bstr) and bounds it before any parsing. */
export function x5chainCertificates(x5chain: Uint8Array | readonly Uint8Array[]): Uint8Array[] {
  const list = x5chain instanceof Uint8Array ? [x5chain] : Array.isArray(x5chain) ? [...x5chain] : undefined;
  if (!list || list.length === 0) throw new IdentityError('ERR_X509_MALFORMED', 'x5chain must be a certificate byte string or a non-empty array of them (RFC 9360)');
  if (list.length > X509_LIMITS.maxChainLength) {
    throw new IdentityError('ERR_X509_LIMIT', `x5chain holds ${list.length} certificates; at most ${X509_LIMITS.maxChainLength} are accepted`);
  }
  list.forEach((c, i) => {
    if (!(c instanceof Uint8Array)) throw new IdentityError('ERR_X509_MALFORMED', `x5chain[${i}] must be a byte string (RFC 9360)`);
    if (c.length > X509_LIMITS.maxCertificateBytes) {
      throw new IdentityError('ERR_X509_LIMIT', `x5chain[${i}] is ${c.length} bytes; at most ${X509_LIMITS.maxCertificateBytes} are accepted per certificate`);
    }
  });
  return list;
}

function checkExtensions(cert: Certificate, what: string): void {
  const seen = new Set<string>();
  for (const ext of cert.extensions) {
    if (seen.has(ext.type)) throw new IdentityError('ERR_X509_MALFORMED', `${what} ${describeCertificate(cert)} repeats extension ${ext.type} (RFC 5280 §4.2)`);
    seen.add(ext.type);
    if (ext.critical && !UNDERSTOOD_CRITICAL.has(ext.type)) {
      throw new IdentityError(
        'ERR_X509_CRITICAL_EXTENSION',
        `${what} ${describeCertificate(cert)} marks extension ${ext.type} critical, which this verifier does not process; the path is refused (RFC 5280 §4.2)`,
      );
    }
  }
}

function checkAlgorithm(cert: Certificate, what: string): void {
  const alg = cert.signatureAlgorithm as { name: string; hash?: { name: string } };
  const ok = alg.name === 'Ed25519' || ((alg.name === 'ECDSA' || alg.name === 'RSASSA-PKCS1-v1_5' || alg.name === 'RSA-PSS') && ACCEPTED_HASHES.has(alg.hash?.name ?? ''));
  if (!ok) {
    throw new IdentityError(
      'ERR_X509_ALGORITHM',
      `${what} ${describeCertificate(cert)} is signed with ${alg.name}${alg.hash ? `/${alg.hash.name}` : ''}; accepted: ECDSA, RSA with SHA-256/384/512, or Ed25519`,
    );
  }
}

function checkValidity(cert: Certificate, at: Date, what: string): void {
  if (at.getTime() < cert.notBefore.getTime() || at.getTime() > cert.notAfter.getTime()) {
    throw new IdentityError(
      'ERR_X509_VALIDITY',
      `${what} ${describeCertificate(cert)} is valid from ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()}, not at ${at.toISOString()}; ` +
        'the certificate must be valid at the registration time of the statement',
    );
  }
}

function checkCa(cert: Certificate, index: number, what: string): void {
  const bc = basicConstraints(cert);
  if (!bc?.ca) throw new IdentityError('ERR_X509_PATH', `${what} ${describeCertificate(cert)} issues a certificate but is not a CA (basicConstraints cA is not set)`);
  const ku = keyUsage(cert);
  if (ku !== undefined && !(ku & x509.KeyUsageFlags.keyCertSign)) {
    throw new IdentityError('ERR_X509_USAGE', `${what} ${describeCertificate(cert)} issues a certificate but its key usage lacks keyCertSign`);
  }
  // intermediates between this CA and the leaf (RFC 5280 §4.2.1.9; self-issued ones are not counted)
  if (bc.pathLength !== undefined && index - 1 > bc.pathLength) {
    throw new IdentityError('ERR_X509_PATH', `${what} ${describeCertificate(cert)} allows ${bc.pathLength} intermediate CAs below it, the path has ${index - 1}`);
  }
}

function checkLeaf(cert: Certificate, requireCodeSigning: boolean): void {
  if (basicConstraints(cert)?.ca) {
    throw new IdentityError('ERR_X509_USAGE', `leaf ${describeCertificate(cert)} is a CA certificate; statements must be signed by an end-entity certificate`);
  }
  const ku = keyUsage(cert);
  if (ku === undefined || !(ku & x509.KeyUsageFlags.digitalSignature)) {
    throw new IdentityError('ERR_X509_USAGE', `leaf ${describeCertificate(cert)} has no digitalSignature key usage; it cannot sign statements`);
  }
  if (requireCodeSigning) {
    const eku = extendedKeyUsages(cert);
    if (!eku?.includes(OID.codeSigning)) {
      throw new IdentityError(
        'ERR_X509_USAGE',
        `leaf ${describeCertificate(cert)} lacks the code-signing extended key usage (${OID.codeSigning}); has ${eku ? eku.join(', ') || 'none' : 'no EKU extension'}`,
      );
    }
  }
}

function activeAt(ca: CertificateAuthority, at: Date): boolean {
  const { start, end } = ca.validFor ?? {};
  return (!start || at.getTime() >= start.getTime()) && (!end || at.getTime() <= end.getTime());
}

/**
 * Completes `chain` (already checked to be an ordered path) with an authority's certificates, ending
 * at its root. Returns undefined if this authority did not issue the chain.
 */
async function completeWith(chain: readonly Certificate[], ca: CertificateAuthority): Promise<Certificate[] | undefined> {
  const caCerts = ca.chain.map((der, i) => parseCertificate(der, `trust anchor "${ca.name}" certificate ${i}`));
  // the chain reaches into the authority: everything from there up must be the authority's own certificates
  for (let k = 0; k < chain.length; k++) {
    const j = caCerts.findIndex((c) => sameBytes(certificateDer(c), certificateDer(chain[k]!)));
    if (j < 0) continue;
    const rest = chain.slice(k + 1);
    const expected = caCerts.slice(j + 1);
    if (rest.length > expected.length || rest.some((c, m) => !sameBytes(certificateDer(c), certificateDer(expected[m]!)))) return undefined;
    return [...chain.slice(0, k + 1), ...caCerts.slice(j + 1)];
  }
  const top = chain[chain.length - 1]!;
  for (let j = 0; j < caCerts.length; j++) {
    if (await issuedBy(top, caCerts[j]!)) return [...chain, ...caCerts.slice(j)];
  }
  return undefined;
}

/** Builds and validates the path from an x5chain (leaf first) to one of the trust store's anchors at `at`. */
export async function validatePath(x5chain: Uint8Array | readonly Uint8Array[], options: PathOptions): Promise<ValidatedPath> {
  const { trust, at } = options;
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new IdentityError('ERR_X509_VALIDITY', 'a verification time is required (the registration time)');
  const chain = x5chainCertificates(x5chain).map((der, i) => parseCertificate(der, `x5chain[${i}]`));

  // RFC 9360: x5chain is ordered, each certificate followed by the one that signed it
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!(await issuedBy(chain[i]!, chain[i + 1]!))) {
      throw new IdentityError(
        'ERR_X509_PATH',
        `x5chain[${i}] ${describeCertificate(chain[i]!)} is not issued by x5chain[${i + 1}] ${describeCertificate(chain[i + 1]!)}; ` +
          'x5chain must be ordered leaf first, each certificate followed by its issuer (RFC 9360)',
      );
    }
  }

  let path: Certificate[] | undefined;
  let authority: CertificateAuthority | undefined;
  let inactive: CertificateAuthority | undefined;
  for (const ca of trust.authorities) {
    const completed = await completeWith(chain, ca);
    if (!completed) continue;
    if (!activeAt(ca, at)) {
      inactive ??= ca;
      continue;
    }
    path = completed;
    authority = ca;
    break;
  }
  if (!path || !authority) {
    if (inactive) {
      const { start, end } = inactive.validFor ?? {};
      throw new IdentityError(
        'ERR_X509_UNTRUSTED',
        `x5chain chains to "${inactive.name}", which is trusted from ${start?.toISOString() ?? 'the beginning'} to ${end?.toISOString() ?? 'now'}, not at ${at.toISOString()}`,
      );
    }
    const top = chain[chain.length - 1]!;
    throw new IdentityError(
      'ERR_X509_UNTRUSTED',
      `x5chain does not chain to any trust anchor: its last certificate ${describeCertificate(top)} is issued by "${top.issuer}", ` +
        `which is not among the ${trust.authorities.length} configured certificate authorities; configure that CA's root to trust it`,
    );
  }
  if (path.length < 2) {
    throw new IdentityError('ERR_X509_PATH', `x5chain[0] ${describeCertificate(path[0]!)} is itself a trust anchor; statements must be signed by an end-entity certificate issued by one`);
  }
  if (path.length > X509_LIMITS.maxChainLength) {
    throw new IdentityError('ERR_X509_LIMIT', `certification path has ${path.length} certificates; at most ${X509_LIMITS.maxChainLength} are accepted`);
  }

  const anchorIndex = path.length - 1;
  for (let i = 0; i < path.length; i++) {
    const what = i === 0 ? 'leaf' : i === anchorIndex ? 'trust anchor' : 'CA certificate';
    checkValidity(path[i]!, at, what);
    if (i === anchorIndex) continue; // a configured trust anchor is trusted as configured (RFC 5280 §6.1.1 d)
    checkExtensions(path[i]!, what);
    checkAlgorithm(path[i]!, what);
    if (i > 0) checkCa(path[i]!, i, what);
    if (!(await issuedBy(path[i]!, path[i + 1]!))) {
      throw new IdentityError('ERR_X509_PATH', `${what} ${describeCertificate(path[i]!)} is not issued by ${describeCertificate(path[i + 1]!)}`);
    }
  }
  checkCa(path[anchorIndex]!, anchorIndex, 'trust anchor');
  checkLeaf(path[0]!, options.requireCodeSigning ?? true);

  return { certificates: path, der: path.map(certificateDer), leaf: path[0]!, authority };
}
