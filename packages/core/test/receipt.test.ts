import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Tag, decode, encode } from '../src/cbor.ts';
import { ScittError } from '../src/errors.ts';
import type { Curve } from '../src/cose/algorithms.ts';
import { Claim, Header } from '../src/cose/headers.ts';
import { type CoseKey, encodeKeySet, generateKey, publicKey, thumbprint, toJwk, toPem } from '../src/cose/key.ts';
import { type Signer, decodeSign1, keySigner, sigStructure } from '../src/cose/sign1.ts';
import { MerkleTree, leafHash, sha256 } from '../src/merkle/index.ts';
import {
  TrustedKeys,
  encodeInclusionProof,
  issueReceipt,
  issueReceipts,
  loadTrustedKeys,
  readReceiptHeaders,
  trustedKey,
  verifyReceipt,
} from '../src/receipt/index.ts';
import { toHex } from './vectors.ts';
import { code } from './helpers/error-code.ts';

const text = (s: string) => new TextEncoder().encode(s);


function service(crv: Curve = 'P-256', iss = 'https://ts.example') {
  const key = generateKey(crv);
  return { key, signer: keySigner(key), kid: thumbprint(key), iss, trusted: new TrustedKeys([publicKey(key)]) };
}

function treeOf(n: number, tag = 'e'): { tree: MerkleTree; entries: Uint8Array[] } {
  const entries = Array.from({ length: n }, (_, i) => text(`${tag} entry ${i}`));
  const tree = new MerkleTree();
  tree.appendLeaves(entries.map(leafHash));
  return { tree, entries };
}

/** Signs an arbitrary protected header over `root` and assembles a receipt: for hostile-input tests. */
async function rawReceipt(o: { signer: Signer; protectedHeader: Map<unknown, unknown>; unprotected: Map<unknown, unknown>; root: Uint8Array; payload?: Uint8Array | null; tag?: boolean }) {
  const protectedBytes = encode(o.protectedHeader);
  const signature = await o.signer.sign(sigStructure(protectedBytes, o.root));
  const arr = [protectedBytes, o.unprotected, o.payload ?? null, signature];
  return encode(o.tag === false ? arr : new Tag(arr, 18));
}

/** Decodes a receipt, lets `edit` change the unprotected header, re-encodes (protected and signature untouched). */
function editUnprotected(receipt: Uint8Array, edit: (u: Map<unknown, unknown>, arr: unknown[]) => void): Uint8Array {
  const tag = decode(receipt) as Tag;
  const arr = tag.value as unknown[];
  edit(arr[1] as Map<unknown, unknown>, arr);
  return encode(new Tag(arr, 18));
}

function withProof(receipt: Uint8Array, proofBytes: Uint8Array | Uint8Array[]): Uint8Array {
  return editUnprotected(receipt, (u) => u.set(Header.vdp, new Map([[-1, Array.isArray(proofBytes) ? proofBytes : [proofBytes]]])));
}

describe('RFC9162_SHA256 receipts: issue → verify', () => {
  it('round trips at many tree sizes and positions (ES256)', async () => {
    const s = service();
    const { tree, entries } = treeOf(1100);
    for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 100, 255, 256, 257, 1000, 1023, 1024, 1025, 1100]) {
      const root = tree.root(n);
      for (const i of new Set([0, Math.floor(n / 2), n - 1])) {
        const receipt = await issueReceipt({ signer: s.signer, kid: s.kid, iss: s.iss, iat: 1700000000 + n, proof: tree.inclusionProof(i, n), root });
        const v = verifyReceipt(receipt, entries[i]!, s.trusted);
        expect(v).toMatchObject({ vds: 1, treeSize: n, leafIndex: i, iss: s.iss, iat: 1700000000 + n, algorithm: 'ES256' });
        expect(toHex(v.root)).toBe(toHex(root));
        expect(toHex(v.kid)).toBe(toHex(s.kid));
      }
    }
  });

  it.each(['P-384', 'P-521', 'Ed25519'] as const)('round trips with %s service keys', async (crv) => {
    const s = service(crv);
    const { tree, entries } = treeOf(21);
    const receipt = await issueReceipt({ signer: s.signer, kid: s.kid, iss: s.iss, proof: tree.inclusionProof(13), root: tree.root(), leafHash: leafHash(entries[13]!) });
    expect(verifyReceipt(receipt, entries[13]!, s.trusted).leafIndex).toBe(13);
  });

  it('the receipt has the RFC 9942 shape: tagged, detached, protected {1, 4, 15, 395}, unprotected {396: {-1: [bstr]}}', async () => {
    const s = service();
    const { tree } = treeOf(6);
    const receipt = await issueReceipt({ signer: s.signer, kid: s.kid, iss: s.iss, sub: 'log', iat: 1700000001, proof: tree.inclusionProof(4), root: tree.root() });
    expect(receipt[0]).toBe(0xd2);
    const m = decodeSign1(receipt);
    expect(m.payload).toBeNull();
    expect([...m.protectedHeader.keys()]).toEqual([1, 4, 15, 395]);
    expect(m.protectedHeader.get(395)).toBe(1);
    expect(m.protectedHeader.get(15)).toEqual(new Map<number, unknown>([[1, s.iss], [2, 'log'], [6, 1700000001]]));
    const vdp = m.unprotectedHeader.get(396) as Map<number, Uint8Array[]>;
    expect([...vdp.keys()]).toEqual([-1]);
    expect(decode(vdp.get(-1)![0]!)).toEqual([6, 4, tree.inclusionProof(4).path]);
  });

  it('a batch shares one signature and protected header; each receipt differs only in vdp and verifies only its own entry', async () => {
    const s = service();
    const { tree, entries } = treeOf(100);
    let signatures = 0;
    const counting: Signer = { algorithm: s.signer.algorithm, sign: (tbs) => (signatures++, s.signer.sign(tbs)) };
    const indices = Array.from({ length: 50 }, (_, k) => 50 + k);
    const receipts = await issueReceipts({
      signer: counting,
      kid: s.kid,
      iss: s.iss,
      iat: 1700000002,
      treeSize: 100,
      root: tree.root(),
      proofs: indices.map((i) => ({ ...tree.inclusionProof(i), leafHash: leafHash(entries[i]!) })),
    });
    expect(signatures).toBe(1);
    expect(receipts).toHaveLength(50);
    const first = decodeSign1(receipts[0]!);
    receipts.forEach((r, k) => {
      const m = decodeSign1(r);
      expect(toHex(m.protectedBytes)).toBe(toHex(first.protectedBytes));
      expect(toHex(m.signature)).toBe(toHex(first.signature));
      expect(verifyReceipt(r, entries[indices[k]!]!, s.trusted).leafIndex).toBe(indices[k]);
      expect(code(() => verifyReceipt(r, entries[indices[(k + 1) % 50]!]!, s.trusted))).toBe('ERR_RECEIPT_SIGNATURE');
    });
    expect(new Set(receipts.map(toHex)).size).toBe(50);
  });

  it('issuing refuses proofs that do not fit the root or the size', async () => {
    const s = service();
    const { tree, entries } = treeOf(10);
    const p = tree.inclusionProof(3);
    const base = { signer: s.signer, kid: s.kid, iss: s.iss, treeSize: 10, root: tree.root() };
    await expect(issueReceipts({ ...base, proofs: [{ ...p, leafHash: leafHash(entries[4]!) }] })).rejects.toMatchObject({ code: 'ERR_RECEIPT_PROOF' });
    await expect(issueReceipts({ ...base, proofs: [{ leafIndex: 3, path: p.path.slice(1) }] })).rejects.toMatchObject({ code: 'ERR_RECEIPT_PROOF' });
    await expect(issueReceipts({ ...base, proofs: [{ leafIndex: 10, path: p.path }] })).rejects.toMatchObject({ code: 'ERR_MERKLE_RANGE' });
    await expect(issueReceipts({ ...base, iss: '', proofs: [p] })).rejects.toMatchObject({ code: 'ERR_RECEIPT_MALFORMED' });
    await expect(issueReceipts({ ...base, root: new Uint8Array(31), proofs: [p] })).rejects.toMatchObject({ code: 'ERR_RECEIPT_MALFORMED' });
  });
});

describe('hostile receipts are refused with precise typed errors', () => {
  const s = service();
  const { tree, entries } = treeOf(13);
  const root = tree.root();
  const proof = tree.inclusionProof(6);
  const entry = entries[6]!;
  let good: Uint8Array;
  beforeAll(async () => {
    good = await issueReceipt({ signer: s.signer, kid: s.kid, iss: s.iss, iat: 1700000003, proof, root });
  });
  const claims = new Map<number, unknown>([[Claim.iss, s.iss], [Claim.iat, 1700000003]]);
  const header = (extra: [unknown, unknown][] = [], drop: number[] = []) => {
    const h = new Map<unknown, unknown>([[Header.alg, -7], [Header.kid, s.kid], [Header.cwtClaims, claims], [Header.vds, 1], ...extra]);
    for (const d of drop) h.delete(d);
    return h;
  };
  const vdp = (p: Uint8Array = encodeInclusionProof(proof)) => new Map([[Header.vdp, new Map([[-1, [p]]])]]);
  const raw = (protectedHeader: Map<unknown, unknown>, unprotected: Map<unknown, unknown> = vdp(), more: { payload?: Uint8Array; tag?: boolean; signer?: Signer } = {}) =>
    rawReceipt({ signer: more.signer ?? s.signer, protectedHeader, unprotected, root, ...more });
  const other = service();

  const cases: [string, () => Promise<Uint8Array> | Uint8Array, string, RegExp?][] = [
    ['the well-formed receipt (control)', () => good, 'no error'],
    ['a hand-built receipt with the same headers (control for raw)', () => raw(header()), 'no error'],
    ['truncated proof (one hash short)', () => withProof(good, encodeInclusionProof({ ...proof, path: proof.path.slice(0, -1) })), 'ERR_MERKLE_PROOF', /has 3 hashes.*exactly 4/],
    ['padded proof (one hash extra)', () => withProof(good, encodeInclusionProof({ ...proof, path: [...proof.path, proof.path[0]!] })), 'ERR_MERKLE_PROOF', /has 5 hashes/],
    ['proof bstr with trailing bytes', () => withProof(good, new Uint8Array([...encodeInclusionProof(proof), 0x00])), 'ERR_RECEIPT_PROOF', /unexpected bytes/],
    ['proof bstr cut short', () => withProof(good, encodeInclusionProof(proof).subarray(0, 40)), 'ERR_RECEIPT_PROOF', /not a valid CBOR/],
    ['leaf index = tree size', () => withProof(good, encodeInclusionProof({ ...proof, leafIndex: 13 })), 'ERR_MERKLE_RANGE', /not below tree size 13/],
    ['leaf index > tree size', () => withProof(good, encodeInclusionProof({ ...proof, leafIndex: 99 })), 'ERR_MERKLE_RANGE'],
    ['tree size 0', () => withProof(good, encodeInclusionProof({ treeSize: 0, leafIndex: 0, path: [] })), 'ERR_MERKLE_RANGE', /empty tree/],
    ['tree size 2^64 - 1', () => withProof(good, encode([2n ** 64n - 1n, 6, [...proof.path]])), 'ERR_MERKLE_RANGE', /2\^53/],
    ['negative leaf index', () => withProof(good, encode([13, -1, [...proof.path]])), 'ERR_MERKLE_RANGE'],
    ['path of 65 hashes', () => withProof(good, encode([13, 6, Array.from({ length: 65 }, () => proof.path[0]!)])), 'ERR_RECEIPT_PROOF', /longer than the limit of 64/],
    ['path element of 31 bytes', () => withProof(good, encode([13, 6, [proof.path[0]!.subarray(1), ...proof.path.slice(1)]])), 'ERR_RECEIPT_PROOF', /element 0/],
    ['proof is not [size, index, path]', () => withProof(good, encode([13, 6])), 'ERR_RECEIPT_PROOF'],
    ['tree size as text', () => withProof(good, encode(['13', 6, [...proof.path]])), 'ERR_RECEIPT_PROOF', /unsigned integer/],
    ['proof is not a bstr', () => editUnprotected(good, (u) => u.set(Header.vdp, new Map([[-1, [[13, 6, [...proof.path]]]]]))), 'ERR_RECEIPT_PROOF', /byte string/],
    ['two inclusion proofs', () => withProof(good, [encodeInclusionProof(proof), encodeInclusionProof(proof)]), 'ERR_RECEIPT_PROOF', /exactly one/],
    ['empty inclusion proof array', () => withProof(good, []), 'ERR_RECEIPT_PROOF'],
    ['missing vdp', () => editUnprotected(good, (u) => u.delete(Header.vdp)), 'ERR_RECEIPT_PROOF', /no verifiable data proofs/],
    ['vdp without inclusion proofs', () => editUnprotected(good, (u) => u.set(Header.vdp, new Map([[-2, [encodeInclusionProof(proof)]]]))), 'ERR_RECEIPT_PROOF', /no inclusion proofs/],
    ['vdp not a map', () => editUnprotected(good, (u) => u.set(Header.vdp, [encodeInclusionProof(proof)])), 'ERR_RECEIPT_PROOF'],
    ['vdp in the protected header', () => raw(header([[Header.vdp, new Map([[-1, [encodeInclusionProof(proof)]]])]]), new Map()), 'ERR_RECEIPT_MALFORMED', /protected/],
    ['vds missing', () => raw(header([], [Header.vds])), 'ERR_RECEIPT_VDS', /no vds/],
    ['vds only unprotected', () => raw(header([], [Header.vds]), new Map<unknown, unknown>([...vdp(), [Header.vds, 1]])), 'ERR_RECEIPT_VDS', /must be protected/],
    ['vds under the draft label -111', () => raw(header([[-111, 1]], [Header.vds])), 'ERR_RECEIPT_VDS', /-111/],
    ['vds as text', () => raw(header([[Header.vds, '1']])), 'ERR_RECEIPT_VDS'],
    ['wrong vds (2, CCF) for an RFC 9162 proof', () => raw(header([[Header.vds, 2]])), 'ERR_RECEIPT_PROOF', /CCF/],
    ['unknown vds 7', () => raw(header([[Header.vds, 7]])), 'ERR_RECEIPT_UNSUPPORTED'],
    ['alg missing', () => raw(header([], [Header.alg])), 'ERR_COSE_ALG_MISSING'],
    ['alg does not fit the key (ES384 with a P-256 key)', () => raw(header([[Header.alg, -35]])), 'ERR_COSE_ALG_KEY_MISMATCH'],
    ['kid missing', () => raw(header([], [Header.kid])), 'ERR_RECEIPT_MALFORMED', /no protected kid/],
    ['kid only in the unprotected header', () => raw(header([], [Header.kid]), new Map<unknown, unknown>([...vdp(), [Header.kid, s.kid]])), 'ERR_RECEIPT_MALFORMED', /unprotected/],
    ['CWT claims missing', () => raw(header([], [Header.cwtClaims])), 'ERR_RECEIPT_MALFORMED', /CWT/],
    ['untrusted service key', () => raw(header([[Header.kid, other.kid]]), vdp(), { signer: other.signer }), 'ERR_RECEIPT_KEY_UNKNOWN', /no trusted service key/],
    ['trusted kid, signed by another key', () => raw(header(), vdp(), { signer: other.signer }), 'ERR_RECEIPT_SIGNATURE'],
    ['signature changed', () => editUnprotected(good, (_, arr) => {
        const sig = (arr[3] as Uint8Array).slice(); // decoded byte strings are views into `good`
        sig[5]! ^= 1;
        arr[3] = sig;
      }), 'ERR_RECEIPT_SIGNATURE'],
    ['signature in DER length', () => editUnprotected(good, (_, arr) => (arr[3] = new Uint8Array(70))), 'ERR_COSE_SIGNATURE_LENGTH'],
    ['path hash changed', () => withProof(good, encodeInclusionProof({ ...proof, path: [sha256(text('x')), ...proof.path.slice(1)] })), 'ERR_RECEIPT_SIGNATURE'],
    ['attached payload that is not the root', () => editUnprotected(good, (_, arr) => (arr[2] = sha256(text('not the root')))), 'ERR_RECEIPT_MALFORMED', /payload/],
    ['attached payload equal to the root (accepted, recomputed)', () => editUnprotected(good, (_, arr) => (arr[2] = root)), 'no error'],
    ['untagged receipt', () => raw(header(), vdp(), { tag: false }), 'ERR_COSE_TAG'],
    ['COSE_Sign (tag 98)', () => encode(new Tag((decode(good) as Tag).value, 98)), 'ERR_CBOR_UNEXPECTED_TAG'],
    ['three-element array', () => encode(new Tag(((decode(good) as Tag).value as unknown[]).slice(0, 3), 18)), 'ERR_COSE_MALFORMED'],
    ['crit naming an unknown label', () => raw(header([[Header.crit, [99]], [99, 1]])), 'ERR_COSE_CRIT'],
    ['label in both buckets', () => raw(header(), new Map<unknown, unknown>([...vdp(), [Header.alg, -7]])), 'ERR_COSE_HEADER'],
    ['trailing byte after the receipt', () => new Uint8Array([...good, 0x00]), 'ERR_CBOR_TRAILING'],
    ['indefinite-length array', () => new Uint8Array([0xd2, 0x9f, ...good.subarray(2), 0xff]), 'ERR_CBOR_INDEFINITE'],
    ['empty input', () => new Uint8Array(0), 'ERR_CBOR_TRUNCATED'],
  ];

  for (const [name, make, expected, message] of cases) {
    it(`${name} → ${expected}`, async () => {
      const bytes = await make();
      let err: unknown;
      try {
        verifyReceipt(bytes, entry, s.trusted);
      } catch (e) {
        err = e;
      }
      if (expected === 'no error') return expect(err).toBeUndefined();
      expect(err).toBeInstanceOf(ScittError);
      expect((err as ScittError).code).toBe(expected);
      if (message) expect((err as ScittError).message).toMatch(message);
    });
  }

  it('a receipt for another statement → ERR_RECEIPT_SIGNATURE naming that cause', () => {
    expect(() => verifyReceipt(good, entries[7]!, s.trusted)).toThrow(/for another statement/);
  });

  it('random bytes given as a receipt only ever raise ScittError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expect(code(() => verifyReceipt(bytes, entry, s.trusted))).not.toBe('no error');
      }),
      { numRuns: 2000 },
    );
  });

  it('random CBOR-shaped receipts (tag 18 + random tail) only ever raise ScittError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (tail) => {
        expect(code(() => verifyReceipt(new Uint8Array([0xd2, 0x84, ...tail]), entry, s.trusted))).not.toBe('no error');
      }),
      { numRuns: 2000 },
    );
  });

  it('mutated receipts either raise ScittError or still prove this entry under the same signed root', () => {
    fc.assert(
      fc.property(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const m = good.slice();
        m[at]! ^= x;
        try {
          const v = verifyReceipt(m, entry, s.trusted);
          // Only unsigned, non-semantic changes can survive (e.g. a tree size whose proof shape is the same).
          expect(toHex(v.root)).toBe(toHex(root));
        } catch (e) {
          expect(e).toBeInstanceOf(ScittError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('trusted service keys', () => {
  const a = generateKey('P-256');
  const b = generateKey('P-384');

  it('COSE_KeySet: a kid on the key is used, otherwise the RFC 9679 thumbprint', () => {
    const withKid: CoseKey = { ...publicKey(a), kid: text('service-a') };
    const keys = loadTrustedKeys(encodeKeySet([withKid, b]));
    expect(keys.map((k) => toHex(k.kid))).toEqual([toHex(text('service-a')), toHex(thumbprint(b))]);
    expect(keys.every((k) => k.key.d === undefined)).toBe(true);
  });

  it('JWK Set: the kid string as UTF-8; without kid, the thumbprint; unsupported key types are skipped', () => {
    const jwks = JSON.stringify({ keys: [{ ...toJwk(a), kid: 'abc' }, toJwk(b), { kty: 'RSA', n: 'AQAB', e: 'AQAB', kid: 'rsa' }] });
    const keys = loadTrustedKeys(jwks, { service: 'https://ts.example' });
    expect(keys.map((k) => toHex(k.kid))).toEqual([toHex(text('abc')), toHex(thumbprint(b))]);
    expect(keys.every((k) => k.service === 'https://ts.example')).toBe(true);
    expect(code(() => loadTrustedKeys(JSON.stringify({ keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB' }] })))).toBe('ERR_KEY_UNSUPPORTED');
  });

  it('a JWK "alg" restricts the key: a receipt with another alg is refused', async () => {
    const s = service('P-256');
    const { tree, entries } = treeOf(3);
    const receipt = await issueReceipt({ signer: s.signer, kid: s.kid, iss: s.iss, proof: tree.inclusionProof(1), root: tree.root() });
    const ok = new TrustedKeys(loadTrustedKeys(JSON.stringify({ ...toJwk(s.key), alg: 'ES256' }), { kid: s.kid }));
    expect(verifyReceipt(receipt, entries[1]!, ok).leafIndex).toBe(1);
    const restricted = new TrustedKeys([{ ...trustedKey(s.key), key: { ...publicKey(s.key), alg: -36 } }]);
    expect(code(() => verifyReceipt(receipt, entries[1]!, restricted))).toBe('ERR_COSE_ALG_KEY_MISMATCH');
  });

  it('single PEM and JWK files; an explicit kid', () => {
    expect(toHex(loadTrustedKeys(toPem(a))[0]!.kid)).toBe(toHex(thumbprint(a)));
    expect(toHex(loadTrustedKeys(toPem(a, { includePrivate: true }))[0]!.kid)).toBe(toHex(thumbprint(a)));
    expect(loadTrustedKeys(toPem(a, { includePrivate: true }))[0]!.key.d).toBeUndefined();
    expect(toHex(loadTrustedKeys(JSON.stringify({ ...toJwk(a), kid: 'k1' }))[0]!.kid)).toBe(toHex(text('k1')));
    expect(toHex(loadTrustedKeys(toPem(a), { kid: text('explicit') })[0]!.kid)).toBe(toHex(text('explicit')));
    expect(code(() => loadTrustedKeys(encodeKeySet([a, b]), { kid: text('x') }))).toBe('ERR_KEY_INVALID');
    expect(code(() => loadTrustedKeys('not a key'))).toBe('ERR_KEY_INVALID');
  });

  it('one kid for two different keys is refused; the same key twice is kept once', () => {
    const set = new TrustedKeys([{ kid: text('k'), key: publicKey(a) }]);
    set.add({ kid: text('k'), key: a });
    expect(set.size).toBe(1);
    expect(code(() => set.add({ kid: text('k'), key: publicKey(b) }))).toBe('ERR_KEY_INVALID');
  });

  it('selection is by exact protected kid: a receipt naming a kid the set lacks fails even if its key is in the set', async () => {
    const s = service();
    const { tree, entries } = treeOf(4);
    const receipt = await issueReceipt({ signer: s.signer, kid: text('kid-on-receipt'), iss: s.iss, proof: tree.inclusionProof(2), root: tree.root() });
    expect(code(() => verifyReceipt(receipt, entries[2]!, s.trusted))).toBe('ERR_RECEIPT_KEY_UNKNOWN');
    expect(readReceiptHeaders(receipt).kid).toEqual(text('kid-on-receipt'));
  });

  it('random key ids never select a key', () => {
    const set = new TrustedKeys([a, b]);
    for (let i = 0; i < 100; i++) expect(set.get(new Uint8Array(randomBytes(32)))).toBeUndefined();
  });
});
