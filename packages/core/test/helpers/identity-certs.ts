/** Synthetic X.509 certificates for negative path and extension tests (the real ones cannot be varied). */
import { webcrypto } from 'node:crypto';
import { x509 } from '../../src/identity/x509.ts';

type Keys = webcrypto.CryptoKeyPair;
const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const HOUR = 3_600_000;
export const FULCIO_ARC = '1.3.6.1.4.1.57264.1';

function newKeys(): Promise<Keys> {
  return webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']) as Promise<Keys>;
}

/** DER UTF8String (tag 12), as Fulcio encodes .8 onward. */
export function utf8String(s: string): Uint8Array {
  const b = Buffer.from(s, 'utf8');
  const len = b.length < 128 ? [b.length] : b.length < 256 ? [0x81, b.length] : [0x82, b.length >> 8, b.length & 0xff];
  return new Uint8Array([0x0c, ...len, ...b]);
}

export const raw = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

export interface CaOptions {
  name?: string;
  issuer?: { name: string; keys: Keys };
  ca?: boolean;
  pathLength?: number;
  notBefore?: Date;
  notAfter?: Date;
}

export interface Issued {
  der: Uint8Array;
  keys: Keys;
  name: string;
}

let serial = 1;
const nextSerial = () => (serial++).toString(16).padStart(4, '0');

export async function makeCa(opts: CaOptions = {}): Promise<Issued> {
  const keys = await newKeys();
  const name = opts.name ?? `CN=Test CA ${serial}, O=scitt-actions tests`;
  const extensions = [
    new x509.BasicConstraintsExtension(opts.ca ?? true, opts.pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ];
  const validity = { notBefore: opts.notBefore ?? new Date(Date.now() - HOUR), notAfter: opts.notAfter ?? new Date(Date.now() + 24 * HOUR) };
  const cert = opts.issuer
    ? await x509.X509CertificateGenerator.create({
        serialNumber: nextSerial(),
        subject: name,
        issuer: opts.issuer.name,
        ...validity,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
        publicKey: keys.publicKey,
        signingKey: opts.issuer.keys.privateKey,
        extensions,
      })
    : await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: nextSerial(),
        name,
        ...validity,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
        keys,
        extensions,
      });
  return { der: new Uint8Array(cert.rawData), keys, name };
}

export interface LeafOptions {
  subject?: string;
  san?: string;
  /** Fulcio-arc extensions by suffix (e.g. '8' → 1.3.6.1.4.1.57264.1.8) and raw extnValue bytes */
  fulcio?: Record<string, Uint8Array>;
  keyUsage?: number | null;
  eku?: string[] | null;
  extra?: { oid: string; critical: boolean; value: Uint8Array }[];
  hash?: 'SHA-1' | 'SHA-256';
  ca?: boolean;
  notBefore?: Date;
  notAfter?: Date;
  keys?: Keys;
}

export async function makeLeaf(issuer: Issued, opts: LeafOptions = {}): Promise<Issued> {
  const keys = opts.keys ?? (await newKeys());
  const extensions: InstanceType<typeof x509.Extension>[] = [];
  if (opts.ca) extensions.push(new x509.BasicConstraintsExtension(true, undefined, true));
  if (opts.keyUsage !== null) extensions.push(new x509.KeyUsagesExtension(opts.keyUsage ?? x509.KeyUsageFlags.digitalSignature, true));
  if (opts.eku !== null) extensions.push(new x509.ExtendedKeyUsageExtension(opts.eku ?? ['1.3.6.1.5.5.7.3.3'], false));
  if (opts.san !== undefined) extensions.push(new x509.SubjectAlternativeNameExtension([{ type: 'url', value: opts.san }], true));
  for (const [suffix, value] of Object.entries(opts.fulcio ?? {})) extensions.push(new x509.Extension(`${FULCIO_ARC}.${suffix}`, false, value));
  for (const e of opts.extra ?? []) extensions.push(new x509.Extension(e.oid, e.critical, e.value));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: opts.subject ?? '',
    issuer: issuer.name,
    notBefore: opts.notBefore ?? new Date(Date.now() - HOUR),
    notAfter: opts.notAfter ?? new Date(Date.now() + HOUR),
    signingAlgorithm: { name: 'ECDSA', hash: opts.hash ?? 'SHA-256' },
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    extensions,
  });
  return { der: new Uint8Array(cert.rawData), keys, name: opts.subject ?? '' };
}
