import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ecdsaDer } from '../src/cose/sign1.ts';

/** DER ECDSA-Sig-Value → r‖s of `n` bytes each: the test's own reading, to compare ecdsaDer against what OpenSSL writes. */
function p1363(der: Buffer, n: number): Buffer {
  let o = der[1]! & 0x80 ? 3 : 2;
  const int = () => {
    const len = der[o + 1]!;
    const v = der.subarray(o + 2, o + 2 + len);
    o += 2 + len;
    return Buffer.concat([Buffer.alloc(n), v]).subarray(-n);
  };
  return Buffer.concat([int(), int()]);
}

describe('ECDSA r‖s → DER (verifySign1 hands OpenSSL DER)', () => {
  for (const [curve, hash, n] of [['P-256', 'sha256', 32], ['P-384', 'sha384', 48], ['P-521', 'sha512', 66]] as const) {
    it(`gives back exactly OpenSSL's DER on ${curve}, high bits and leading zeros included`, () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      const seen = { highBit: false, leadingZero: false };
      // a leading zero byte in r or s comes once in about 128 signatures: 400 tries missed it one run in 23
      for (let i = 0; i < 5000 && !(seen.leadingZero && (seen.highBit || curve === 'P-521')); i++) {
        const data = Buffer.from(`message ${i}`);
        const der = sign(hash, data, privateKey);
        const raw = p1363(der, n);
        seen.highBit ||= (raw[0]! & 0x80) !== 0 || (raw[n]! & 0x80) !== 0;
        seen.leadingZero ||= raw[0] === 0 || raw[n] === 0;
        expect(Buffer.from(ecdsaDer(raw))).toEqual(der);
        expect(verify(hash, data, publicKey, ecdsaDer(raw))).toBe(true);
      }
      expect(seen.leadingZero).toBe(true);
      if (curve !== 'P-521') expect(seen.highBit).toBe(true);
    });
  }

  it('encodes r = s = 0 as two one-byte INTEGERs, which no key verifies', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const der = ecdsaDer(new Uint8Array(64));
    expect(Buffer.from(der).toString('hex')).toBe('3006020100020100');
    expect(verify('sha256', Buffer.from('x'), publicKey, der)).toBe(false);
  });
});
