/** Constants of the SCITT Signed Statement profile (RFC 9943 §6, §10) and the Hash Envelope (RFC 9995). */

export const STATEMENT_MEDIA_TYPE = 'application/scitt-statement+cose';
export const RECEIPT_MEDIA_TYPE = 'application/scitt-receipt+cose';

/** COSE hash algorithm ids allowed for payload-hash-alg (258), RFC 9054. */
export const HASH_ALGORITHMS = {
  '-16': { name: 'SHA-256', node: 'sha256', length: 32 },
  '-43': { name: 'SHA-384', node: 'sha384', length: 48 },
  '-44': { name: 'SHA-512', node: 'sha512', length: 64 },
} as const;
export type HashAlgorithmId = -16 | -43 | -44;

export function hashAlgorithm(id: unknown): (typeof HASH_ALGORITHMS)[keyof typeof HASH_ALGORITHMS] | undefined {
  return typeof id === 'number' ? HASH_ALGORITHMS[String(id) as keyof typeof HASH_ALGORITHMS] : undefined;
}

/** RFC 9943 §6: with x5t or x5chain, iss MUST be a URI of 1..8192 characters. */
export const MAX_ISS_LENGTH = 8192;
/** bounded to keep hostile x5chains from driving allocation and path building */
export const MAX_X5CHAIN_CERTS = 8;
export const MAX_CERT_BYTES = 16 * 1024;

const URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s\u0000-\u001f\u007f]+$/;
export function isUri(s: string): boolean {
  return s.length >= 1 && s.length <= MAX_ISS_LENGTH && URI.test(s);
}
