import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Tag, decode, encode } from '../src/cbor.ts';
import { ScittError, generateKey, publicKey } from '../src/index.ts';
import { Header, encodeSign1, keySigner, sigStructure, thumbprint, type HeaderMap } from '../src/cose/index.ts';
import { createSignedStatement, digestPreimage, parseSignedStatement, verifyPreimage, verifySignedStatement } from '../src/statement/index.ts';

const key = generateKey('P-256');
const pub = publicKey(key);
const kid = thumbprint(key);
const signer = keySigner(key);
const SBOM = new TextEncoder().encode('{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}');

/** Signs arbitrary header buckets, so a hostile case fails for its own reason and not a bad signature. */
async function rawSign1(protectedHeader: HeaderMap, unprotected: HeaderMap = new Map(), payload: Uint8Array | null = SBOM): Promise<Uint8Array> {
  const protectedBytes = encode(protectedHeader);
  const signature = await signer.sign(sigStructure(protectedBytes, payload ?? SBOM));
  return encodeSign1({ protectedBytes, unprotectedHeader: unprotected, payload, signature });
}
const claims = (iss = 'https://example.com', sub = 'pkg:generic/app@1.0') => new Map<number, unknown>([[1, iss], [2, sub], [6, 1_700_000_000]]);

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ScittError);
    return (e as ScittError).code;
  }
  throw new Error('expected a ScittError, nothing was thrown');
}

describe('Signed Statement (RFC 9943 §6)', () => {
  it('creates a statement with the profile headers and verifies it', async () => {
    const bytes = await createSignedStatement({ payload: SBOM, signer, iss: 'https://example.com', sub: 'pkg:generic/app@1.0', kid, contentType: 'application/vnd.cyclonedx+json', iat: 1_700_000_000 });
    expect(bytes[0]).toBe(0xd2); // tag 18
    const s = verifySignedStatement(bytes, pub);
    expect(s).toMatchObject({ iss: 'https://example.com', sub: 'pkg:generic/app@1.0', iat: 1_700_000_000, contentType: 'application/vnd.cyclonedx+json', typ: 'application/scitt-statement+cose' });
    expect(s.algorithm.name).toBe('ES256');
    expect(Buffer.from(s.kid!).equals(Buffer.from(kid))).toBe(true);
    // the protected header is deterministically encoded: keys in bytewise order 1, 3, 4, 15, 16
    const keys = [...s.sign1.protectedHeader.keys()];
    expect(keys).toEqual([1, 3, 4, 15, 16]);
  });

  it('signs and verifies with every supported algorithm', async () => {
    for (const crv of ['P-256', 'P-384', 'P-521', 'Ed25519', 'Ed448'] as const) {
      const k = generateKey(crv);
      const bytes = await createSignedStatement({ payload: SBOM, signer: keySigner(k), iss: 'https://e.x', sub: 's', kid: thumbprint(k) });
      expect(verifySignedStatement(bytes, publicKey(k)).iss).toBe('https://e.x');
    }
  });

  it('detached payloads verify only with the payload supplied', async () => {
    const bytes = await createSignedStatement({ payload: SBOM, signer, iss: 'https://e.x', sub: 's', kid, detached: true });
    expect(codeOf(() => verifySignedStatement(bytes, pub))).toBe('ERR_COSE_PAYLOAD');
    expect(verifySignedStatement(bytes, pub, { detachedPayload: SBOM }).sub).toBe('s');
    expect(codeOf(() => verifySignedStatement(bytes, pub, { detachedPayload: new Uint8Array([1]) }))).toBe('ERR_COSE_SIGNATURE_INVALID');
  });

  it('hash envelopes carry 258/259/260 protected, no content type, and check the preimage', async () => {
    const digest = await digestPreimage(SBOM);
    const bytes = await createSignedStatement({
      payload: digest,
      signer,
      iss: 'https://e.x',
      sub: 's',
      kid,
      hashEnvelope: { hashAlg: -16, preimageContentType: 'application/vnd.cyclonedx+json', location: 'https://e.x/sbom.json' },
    });
    const s = verifySignedStatement(bytes, pub);
    expect(s.hashEnvelope).toMatchObject({ hashAlg: -16, preimageContentType: 'application/vnd.cyclonedx+json', location: 'https://e.x/sbom.json' });
    expect(s.sign1.protectedHeader.has(Header.contentType)).toBe(false);
    await verifyPreimage(s, SBOM);
    await expect(verifyPreimage(s, new TextEncoder().encode('{"tampered":true}'))).rejects.toMatchObject({ code: 'ERR_STATEMENT_PREIMAGE_MISMATCH' });
    await expect(createSignedStatement({ payload: digest, signer, iss: 'x', sub: 's', kid, contentType: 'a/b', hashEnvelope: { hashAlg: -16 } })).rejects.toMatchObject({ code: 'ERR_STATEMENT_HASH_ENVELOPE' });
  });
});

describe('hostile Signed Statements: each a typed error with a precise code', () => {
  const good = () => new Map<number, unknown>([[1, -7], [4, kid], [15, claims()]]);
  const cases: [string, () => Promise<Uint8Array> | Uint8Array, string, RegExp?][] = [
    ['empty input', () => new Uint8Array(0), 'ERR_CBOR_TRUNCATED'],
    ['truncated statement', async () => (await rawSign1(good())).subarray(0, 40), 'ERR_CBOR_TRUNCATED'],
    ['trailing bytes', async () => new Uint8Array([...(await rawSign1(good())), 0]), 'ERR_CBOR_TRAILING'],
    ['oversized: declared byte string far beyond the input', () => new Uint8Array([0xd2, 0x84, 0x5b, 0, 0, 0, 1, 0, 0, 0, 0]), 'ERR_CBOR_LIMIT'],
    ['oversized: array declaring 2^32 entries', () => new Uint8Array([0xd2, 0x9a, 0xff, 0xff, 0xff, 0xff]), 'ERR_CBOR_LIMIT'],
    ['deeply nested arrays', () => new Uint8Array([0xd2, ...new Array(100).fill(0x81), 0x00]), 'ERR_CBOR_LIMIT'],
    ['indefinite-length array', () => new Uint8Array([0xd2, 0x9f, 0xff]), 'ERR_CBOR_INDEFINITE'],
    ['wrong tag (98, COSE_Sign)', async () => new Uint8Array([0xd8, 0x62, ...(await rawSign1(good())).subarray(1)]), 'ERR_CBOR_UNEXPECTED_TAG'],
    ['untagged COSE_Sign1', async () => (await rawSign1(good())).subarray(1), 'ERR_COSE_TAG'],
    ['three-element array', () => encode(new Tag([new Uint8Array(0), new Map(), null], 18)), 'ERR_COSE_MALFORMED'],
    ['duplicate key in the protected header', async () => {
      // {1: -7, 1: -7} built by hand: a conforming encoder cannot produce it
      const protectedBytes = new Uint8Array([0xa2, 0x01, 0x26, 0x01, 0x26]);
      return encodeSign1({ protectedBytes, unprotectedHeader: new Map(), payload: SBOM, signature: new Uint8Array(64) });
    }, 'ERR_COSE_HEADER', /twice/],
    ['alg only in the unprotected header', () => rawSign1(new Map<number, unknown>([[4, kid], [15, claims()]]), new Map([[1, -7]])), 'ERR_COSE_ALG_UNPROTECTED'],
    ['no alg at all', () => rawSign1(new Map<number, unknown>([[4, kid], [15, claims()]])), 'ERR_COSE_ALG_MISSING'],
    ['alg none-like value (0)', () => rawSign1(new Map<number, unknown>([[1, 0], [4, kid], [15, claims()]])), 'ERR_COSE_ALG_UNSUPPORTED'],
    ['unknown critical header', () => rawSign1(new Map<number, unknown>([[1, -7], [2, [99]], [4, kid], [15, claims()], [99, 1]])), 'ERR_COSE_CRIT', /99/],
    ['crit in the unprotected header', () => rawSign1(good(), new Map([[2, [4]]])), 'ERR_COSE_CRIT'],
    ['kid missing and no x5chain', () => rawSign1(new Map<number, unknown>([[1, -7], [15, claims()]])), 'ERR_STATEMENT_KEY_ID'],
    ['iss not a URI with x5chain', () => rawSign1(new Map<number, unknown>([[1, -7], [15, claims('my issuer')], [33, new Uint8Array([0x30, 0x00])]])), 'ERR_STATEMENT_ISSUER'],
    ['x5chain only unprotected, no x5t', () => rawSign1(new Map<number, unknown>([[1, -7], [15, claims()]]), new Map([[33, new Uint8Array([0x30, 0])]])), 'ERR_STATEMENT_KEY_ID'],
    ['no CWT claims', () => rawSign1(new Map<number, unknown>([[1, -7], [4, kid]])), 'ERR_STATEMENT_CLAIMS'],
    ['CWT claims without sub', () => rawSign1(new Map<number, unknown>([[1, -7], [4, kid], [15, new Map([[1, 'https://e.x']])]])), 'ERR_STATEMENT_CLAIMS', /sub/],
    ['receipts in the protected header', () => rawSign1(new Map<number, unknown>([...good(), [394, [new Uint8Array(3)]]])), 'ERR_STATEMENT_RECEIPTS_PROTECTED'],
    ['hash envelope with content type', () => rawSign1(new Map<number, unknown>([...good(), [3, 'application/json'], [258, -16]]), new Map(), new Uint8Array(32)), 'ERR_STATEMENT_HASH_ENVELOPE'],
    ['payload-hash-alg unprotected', () => rawSign1(good(), new Map([[258, -16]])), 'ERR_STATEMENT_HASH_ENVELOPE'],
    ['hash envelope digest of the wrong length', () => rawSign1(new Map<number, unknown>([...good(), [258, -16]]), new Map(), new Uint8Array(20)), 'ERR_STATEMENT_HASH_ENVELOPE'],
    ['alg encoded as a float (-7.0, float16)', async () => {
      // {1: -7.0, 4: kid, 15: claims}: cbor-x would read -7.0 as -7; the header must still be refused
      const protectedBytes = new Uint8Array([0xa3, 0x01, 0xf9, 0xc7, 0x00, ...encode(4), ...encode(kid), ...encode(15), ...encode(claims())]);
      const signature = await signer.sign(sigStructure(protectedBytes, SBOM));
      return encodeSign1({ protectedBytes, unprotectedHeader: new Map(), payload: SBOM, signature });
    }, 'ERR_COSE_HEADER', /floating-point/],
    ['unexpected tag inside the protected header', () => rawSign1(new Map<number, unknown>([...good(), [99, new Tag(new Uint8Array([1]), 2)]])), 'ERR_COSE_HEADER', /tag 2/],
    ['iat wrapped in a tag other than 1', () => rawSign1(new Map<number, unknown>([[1, -7], [4, kid], [15, new Map<number, unknown>([[1, 'https://e.x'], [2, 's'], [6, new Tag(1_700_000_000, 1)]])]])).then(() => rawSign1(new Map<number, unknown>([[1, -7], [4, kid], [15, new Map<number, unknown>([[1, 'https://e.x'], [2, 's'], [6, new Tag('2026-01-01', 0)]])]]))), 'ERR_COSE_HEADER', /tag 0/],
  ];
  for (const [name, make, code, message] of cases) {
    it(name, async () => {
      const bytes = await make();
      let err: unknown;
      try {
        parseSignedStatement(bytes);
      } catch (e) {
        err = e;
      }
      expect(err, 'parse must refuse').toBeInstanceOf(ScittError);
      expect((err as ScittError).code).toBe(code);
      if (message) expect((err as Error).message).toMatch(message);
    });
  }

  it('alg/key mismatch: an ES256 statement checked with a P-384 key', async () => {
    const bytes = await rawSign1(new Map<number, unknown>([[1, -7], [4, kid], [15, claims()]]));
    expect(codeOf(() => verifySignedStatement(bytes, publicKey(generateKey('P-384'))))).toBe('ERR_COSE_ALG_KEY_MISMATCH');
  });

  it('DER-encoded ECDSA signature is refused for its length', async () => {
    const bytes = await rawSign1(new Map<number, unknown>([[1, -7], [4, kid], [15, claims()]]));
    const s = parseSignedStatement(bytes);
    const der = encodeSign1({ ...s.sign1, signature: new Uint8Array(71) });
    expect(codeOf(() => verifySignedStatement(der, pub))).toBe('ERR_COSE_SIGNATURE_LENGTH');
  });
});

describe('properties (fast-check)', () => {
  it('deterministic CBOR round-trips', () => {
    const value = fc.letrec((tie) => ({
      item: fc.oneof(
        { depthSize: 'small' },
        fc.integer(),
        fc.string(),
        fc.uint8Array({ maxLength: 40 }),
        fc.constant(null),
        fc.boolean(),
        fc.array(tie('item'), { maxLength: 4 }),
        fc.uniqueArray(fc.tuple(fc.oneof(fc.integer({ min: -500, max: 500 }), fc.string({ maxLength: 6 })), tie('item')), { maxLength: 4, selector: (t) => t[0] }).map((e) => new Map(e)),
      ),
    })).item;
    fc.assert(
      fc.property(value, (v) => {
        const once = encode(v);
        const twice = encode(decode(once));
        expect(Buffer.from(twice).equals(Buffer.from(once))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('any single-bit change in a signed statement makes verification fail', async () => {
    const bytes = await createSignedStatement({ payload: SBOM, signer, iss: 'https://example.com', sub: 'pkg:generic/app@1.0', kid, contentType: 'application/json' });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length * 8 - 1 }), (bit) => {
        const copy = bytes.slice();
        copy[bit >> 3]! ^= 1 << (bit & 7);
        expect(() => verifySignedStatement(copy, pub)).toThrow(ScittError);
      }),
      { numRuns: Math.min(600, bytes.length * 8) },
    );
  });

  it('random bytes never crash the decoder: only typed errors, in bounded time', () => {
    const start = Date.now();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (b) => {
        try {
          parseSignedStatement(b);
        } catch (e) {
          expect(e).toBeInstanceOf(ScittError);
        }
      }),
      { numRuns: 3000 },
    );
    expect(Date.now() - start).toBeLessThan(20_000);
  });

  it('random mutations of a valid statement never crash the parser', async () => {
    const bytes = await createSignedStatement({ payload: SBOM, signer, iss: 'https://example.com', sub: 'pkg:generic/app@1.0', kid });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
        const copy = bytes.slice();
        for (const [i, v] of edits) copy[i] = v;
        try {
          verifySignedStatement(copy, pub);
        } catch (e) {
          expect(e).toBeInstanceOf(ScittError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
