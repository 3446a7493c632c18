/**
 * ECDSA signature encodings: DER `ECDSA-Sig-Value` (RFC 3279 §2.2.3; what Node, KMSs and @sigstore/sign
 * produce) to the fixed-length r‖s that COSE requires (RFC 9053 §2.1).
 */
import { SignatureError } from '../errors.ts';

function readInteger(der: Uint8Array, off: number, size: number): [Uint8Array, number] {
  const bad = (why: string) => new SignatureError('ERR_COSE_SIGNATURE_LENGTH', `DER ECDSA signature is malformed: ${why}`);
  if (der[off] !== 0x02) throw bad('expected an INTEGER');
  const len = der[off + 1];
  if (len === undefined || len === 0 || len > 0x7f || off + 2 + len > der.length) throw bad('bad INTEGER length');
  let v = der.subarray(off + 2, off + 2 + len);
  if (v[0]! & 0x80) throw bad('negative INTEGER');
  if (v.length > 1 && v[0] === 0 && !(v[1]! & 0x80)) throw bad('INTEGER is not minimally encoded');
  if (v[0] === 0 && v.length > 1) v = v.subarray(1);
  if (v.length > size) throw bad(`INTEGER longer than ${size} bytes`);
  const out = new Uint8Array(size);
  out.set(v, size - v.length);
  return [out, off + 2 + len];
}

/** DER ECDSA signature → r‖s, each left-padded to `size` bytes (32 for P-256, 48 for P-384, 66 for P-521). */
export function ecdsaDerToRaw(der: Uint8Array, size: number): Uint8Array {
  if (der[0] !== 0x30) throw new SignatureError('ERR_COSE_SIGNATURE_LENGTH', 'DER ECDSA signature is malformed: expected a SEQUENCE');
  let off = 2;
  let len = der[1] ?? 0;
  if (len === 0x81) {
    len = der[2] ?? 0;
    off = 3;
    if (len < 0x80) throw new SignatureError('ERR_COSE_SIGNATURE_LENGTH', 'DER ECDSA signature is malformed: length is not minimally encoded');
  } else if (len > 0x80) {
    throw new SignatureError('ERR_COSE_SIGNATURE_LENGTH', 'DER ECDSA signature is malformed: bad SEQUENCE length');
  }
  if (off + len !== der.length) throw new SignatureError('ERR_COSE_SIGNATURE_LENGTH', 'DER ECDSA signature is malformed: SEQUENCE length does not match');
  const [r, next] = readInteger(der, off, size);
  const [s, end] = readInteger(der, next, size);
  if (end !== der.length) throw new SignatureError('ERR_COSE_SIGNATURE_LENGTH', 'DER ECDSA signature is malformed: bytes after s');
  const raw = new Uint8Array(2 * size);
  raw.set(r, 0);
  raw.set(s, size);
  return raw;
}
