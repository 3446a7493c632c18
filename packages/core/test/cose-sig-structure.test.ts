/** Sig_structure written out by hand (cose/sign1.ts) is byte for byte what the deterministic encoder makes, at every head-length boundary. */
import { describe, expect, it } from 'vitest';
import { encode } from '../src/cbor.ts';
import { sigStructure } from '../src/cose/sign1.ts';

describe('sigStructure', () => {
  it('equals the deterministic encoding of ["Signature1", protected, aad, payload]', () => {
    for (const n of [0, 1, 23, 24, 255, 256, 65535, 65536, 70_001]) {
      for (const m of [0, 3, 24, 300]) {
        const payload = new Uint8Array(n).map((_, i) => i * 7);
        const protectedBytes = new Uint8Array(m).fill(0xa1);
        const aad = new Uint8Array(m % 5).fill(9);
        expect(Buffer.from(sigStructure(protectedBytes, payload, aad)).equals(Buffer.from(encode(['Signature1', protectedBytes, aad, payload]))), `payload ${n}, protected ${m}`).toBe(true);
      }
    }
  });

  it('takes exactly its own size (one copy of a large payload)', () => {
    const tbs = sigStructure(new Uint8Array(10), new Uint8Array(4 * 1024 * 1024));
    expect(tbs.buffer.byteLength).toBe(tbs.byteLength);
    expect(tbs.byteLength).toBe(1 + 11 + 1 + 10 + 1 + 5 + 4 * 1024 * 1024);
  });
});
