/**
 * Parsing X.509 certificates (RFC 5280) from DER and PEM with size bounds, and reading the fields
 * the identity checks use: SAN, EKU, key usage, digests and the subject public key as a COSE_Key.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { IdentityError, KeyError } from '../errors.ts';
import { type CoseKey, fromKeyObject } from '../cose/key.ts';
import { x509 } from './x509.ts';

export type Certificate = InstanceType<typeof x509.X509Certificate>;

/** Bounds on input-driven work: a Fulcio leaf is about 2 KiB, its CA certificates about 0.5 KiB. */
export const X509_LIMITS = {
  /** bytes per certificate */
  maxCertificateBytes: 16 * 1024,
  /** certificates in a path, leaf and trust anchor included */
  maxChainLength: 8,
} as const;

export const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  codeSigning: '1.3.6.1.5.5.7.3.3',
} as const;

/** Parses one DER certificate; refuses oversized input, trailing bytes and anything that is not a certificate. */
export function parseCertificate(der: Uint8Array, what = 'certificate'): Certificate {
  if (!(der instanceof Uint8Array)) throw new IdentityError('ERR_X509_MALFORMED', `${what} must be a byte string holding a DER certificate`);
  if (der.length > X509_LIMITS.maxCertificateBytes) {
    throw new IdentityError('ERR_X509_LIMIT', `${what} is ${der.length} bytes; at most ${X509_LIMITS.maxCertificateBytes} are accepted`);
  }
  let cert: Certificate;
  try {
    cert = new x509.X509Certificate(new Uint8Array(der));
    // @peculiar/x509 decodes these fields lazily, on first read, and throws untyped errors there (a
    // failed extensions decode even leaves the certificate reporting none on the next read). Decode
    // every field this project reads now, once, so a malformed one is refused as a malformed certificate.
    void [cert.extensions, cert.publicKey.algorithm, cert.subject, cert.issuer, cert.notBefore, cert.notAfter, cert.signatureAlgorithm, cert.serialNumber];
  } catch (e) {
    throw new IdentityError('ERR_X509_MALFORMED', `${what} is not a DER X.509 certificate: ${(e as Error).message}`, { cause: e });
  }
  const length = outerDerLength(der);
  if (length !== der.length) {
    throw new IdentityError('ERR_X509_MALFORMED', `${what} is ${der.length} bytes but its DER SEQUENCE spans ${length ?? 'an invalid length'}; nothing may follow the certificate`);
  }
  return cert;
}

/** Length of the outermost DER SEQUENCE (header included), or undefined if the header is not DER. */
function outerDerLength(der: Uint8Array): number | undefined {
  if (der[0] !== 0x30 || der.length < 2) return undefined;
  const first = der[1]!;
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n === 0 || n > 3 || der.length < 2 + n || der[2] === 0) return undefined;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + der[2 + i]!;
  return len < 0x80 ? undefined : 2 + n + len;
}

/** DER bytes of a parsed certificate. */
export function certificateDer(cert: Certificate): Uint8Array {
  return new Uint8Array(cert.rawData);
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/g;

/** Every CERTIFICATE block of a PEM text, as DER, in order. */
export function certificatesFromPem(pem: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of pem.matchAll(PEM_BLOCK)) out.push(new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
  if (out.length === 0) throw new IdentityError('ERR_X509_MALFORMED', 'no "-----BEGIN CERTIFICATE-----" block found in the PEM text');
  return out;
}

export function certificateToPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${b64.replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512';

export function certificateDigest(der: Uint8Array, alg: DigestAlgorithm = 'sha256'): Uint8Array {
  return new Uint8Array(createHash(alg).update(der).digest());
}

/** The certificate's subject public key (SPKI) as a COSE_Key, for verifying what the certificate's key signed. */
export function certificateKey(cert: Certificate | Uint8Array): CoseKey {
  const c = cert instanceof Uint8Array ? parseCertificate(cert) : cert;
  try {
    return fromKeyObject(createPublicKey({ key: Buffer.from(c.publicKey.rawData), format: 'der', type: 'spki' }));
  } catch (e) {
    if (e instanceof KeyError) throw e;
    throw new KeyError('ERR_KEY_UNSUPPORTED', `certificate public key (${c.publicKey.algorithm.name}) cannot be used as a COSE key: ${(e as Error).message}`, { cause: e });
  }
}

/** DER SubjectPublicKeyInfo of the certificate. */
export function certificateSpki(cert: Certificate): Uint8Array {
  return new Uint8Array(cert.publicKey.rawData);
}

export interface SubjectAltName {
  readonly type: 'uri' | 'email' | 'dns' | 'ip' | 'other';
  readonly value: string;
}

const SAN_TYPES: Record<string, SubjectAltName['type']> = { url: 'uri', email: 'email', dns: 'dns', ip: 'ip' };

export function subjectAltNames(cert: Certificate): SubjectAltName[] {
  const ext = cert.getExtension(x509.SubjectAlternativeNameExtension);
  if (!ext) return [];
  return ext.names.items.map((n) => ({ type: SAN_TYPES[n.type] ?? 'other', value: n.value }));
}

export function extendedKeyUsages(cert: Certificate): string[] | undefined {
  const ext = cert.getExtension(x509.ExtendedKeyUsageExtension);
  return ext ? ext.usages.map(String) : undefined;
}

export function keyUsage(cert: Certificate): number | undefined {
  return cert.getExtension(x509.KeyUsagesExtension)?.usages;
}

export function basicConstraints(cert: Certificate): { ca: boolean; pathLength?: number } | undefined {
  const ext = cert.getExtension(x509.BasicConstraintsExtension);
  return ext ? { ca: ext.ca, ...(ext.pathLength !== undefined ? { pathLength: ext.pathLength } : {}) } : undefined;
}

/** DER of the issuer and subject Names, for exact name chaining. */
export function nameDer(name: InstanceType<typeof x509.Name>): Uint8Array {
  return new Uint8Array(name.toArrayBuffer());
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

/** A short human description for error messages: subject or SAN, serial, validity. */
export function describeCertificate(cert: Certificate): string {
  const san = subjectAltNames(cert)[0];
  const who = cert.subject !== '' ? `"${cert.subject}"` : san ? `SAN ${san.type}:${san.value}` : '(no subject)';
  return `${who} (serial ${cert.serialNumber})`;
}
