import { beforeAll, describe, expect, it } from 'vitest';
import { Tag, decode, encode } from '../src/cbor.ts';
import { Claim, Header } from '../src/cose/headers.ts';
import { generateKey, publicKey, thumbprint } from '../src/cose/key.ts';
import { decodeSign1, keySigner, signSign1, verifySign1 } from '../src/cose/sign1.ts';
import { MerkleTree, leafHash } from '../src/merkle/index.ts';
import {
  TrustedKeys,
  assertReceiptPolicy,
  attachReceipts,
  extractReceipts,
  issueReceipt,
  parseStatementParts,
  statementEntry,
  verifyReceipts,
  verifyTransparentStatement,
} from '../src/receipt/index.ts';
import { toHex } from './vectors.ts';
import { code } from './helpers/error-code.ts';

const text = (s: string) => new TextEncoder().encode(s);


const issuerKey = generateKey('P-256');

async function signedStatement(payload: string, extraProtected: [number, unknown][] = []): Promise<Uint8Array> {
  return signSign1({
    protectedHeader: new Map<number, unknown>([
      [Header.contentType, 'application/json'],
      [Header.kid, thumbprint(issuerKey)],
      [Header.cwtClaims, new Map<number, unknown>([[Claim.iss, 'https://issuer.example'], [Claim.sub, 'pkg:npm/demo@1.0.0']])],
      ...extraProtected,
    ]),
    unprotectedHeader: new Map([[99, 'unprotected note']]),
    payload: text(payload),
    signer: keySigner(issuerKey),
  });
}

function makeService(iss: string, crv: 'P-256' | 'Ed25519' = 'P-256') {
  const key = generateKey(crv);
  return { key, signer: keySigner(key), kid: thumbprint(key), iss };
}

/** A log of `n` other entries with `entry` at `at`, and a receipt for it. */
async function register(svc: ReturnType<typeof makeService>, entry: Uint8Array, n: number, at: number, iat = 1700000000): Promise<Uint8Array> {
  const tree = new MerkleTree();
  const leaves = Array.from({ length: n }, (_, i) => (i === at ? leafHash(entry) : leafHash(text(`${svc.iss} other ${i}`))));
  tree.appendLeaves(leaves);
  return issueReceipt({ signer: svc.signer, kid: svc.kid, iss: svc.iss, iat, proof: tree.inclusionProof(at), root: tree.root() });
}

describe('Transparent Statements (RFC 9943 §7)', () => {
  const a = makeService('https://ts-a.example');
  const b = makeService('https://ts-b.example', 'Ed25519');
  const c = makeService('https://ts-c.example');
  const trustAB = new TrustedKeys([{ kid: a.kid, key: publicKey(a.key), service: a.iss }, { kid: b.kid, key: publicKey(b.key), service: b.iss }]);
  let statement: Uint8Array;
  let entry: Uint8Array;
  let ra: Uint8Array;
  let ra2: Uint8Array;
  let rb: Uint8Array;
  let rc: Uint8Array;

  beforeAll(async () => {
    statement = await signedStatement('{"hello":"world"}');
    entry = statementEntry(statement);
    ra = await register(a, entry, 300, 123, 1700000100);
    ra2 = await register(a, entry, 40, 7, 1700000200);
    rb = await register(b, entry, 5, 4, 1700000300);
    rc = await register(c, entry, 9, 0, 1700000400);
  });

  it('the entry is the statement with unprotected = {} (wire-format.md §5.4)', () => {
    const m = decodeSign1(statement);
    expect(toHex(entry)).toBe(toHex(encode(new Tag([m.protectedBytes, new Map(), m.payload, m.signature], 18))));
    expect(decodeSign1(entry).unprotectedHeader.size).toBe(0);
    expect(toHex(statementEntry(m))).toBe(toHex(entry));
    expect(toHex(statementEntry({ sign1: m }))).toBe(toHex(entry));
  });

  it('the entry bytes equal the generic deterministic encoding at every bstr head size, and for a nil payload', () => {
    for (const n of [0, 1, 23, 24, 255, 256, 65535, 65536, 70000]) {
      const parts = { protectedBytes: new Uint8Array(n % 300).fill(7), protectedHeader: new Map(), unprotectedHeader: new Map(), payload: new Uint8Array(n).fill(1), signature: new Uint8Array(n % 97) };
      expect(toHex(statementEntry(parts))).toBe(toHex(encode(new Tag([parts.protectedBytes, new Map(), parts.payload, parts.signature], 18))));
      const detached = { ...parts, payload: null };
      expect(toHex(statementEntry(detached))).toBe(toHex(encode(new Tag([parts.protectedBytes, new Map(), null, parts.signature], 18))));
    }
  });

  it('attaching appends under unprotected 394 as bstr, de-duplicates, keeps other headers and the signature', () => {
    const ts1 = attachReceipts(statement, [ra]);
    const ts2 = attachReceipts(ts1, [ra, rb, rb]);
    expect(extractReceipts(ts2).map(toHex)).toEqual([ra, rb].map(toHex));
    const m = decodeSign1(ts2);
    expect(m.unprotectedHeader.get(99)).toBe('unprotected note');
    expect((m.unprotectedHeader.get(394) as unknown[]).every((r) => r instanceof Uint8Array)).toBe(true);
    expect(toHex(statementEntry(ts2))).toBe(toHex(entry));
    verifySign1(m, publicKey(issuerKey)); // the issuer signature is untouched
    expect(extractReceipts(statement)).toEqual([]);
    expect(toHex(attachReceipts(statement, []))).toBe(toHex(statement));
  });

  it('attaching refuses something that is not a tagged COSE_Sign1', () => {
    expect(code(() => attachReceipts(statement, [text('not a receipt')]))).not.toBe('no error');
    expect(code(() => attachReceipts(statement, [encode([1, 2, 3, 4])]))).toBe('ERR_COSE_TAG');
  });

  it('verification reports every receipt and applies the default policy (≥ 1 trusted service)', () => {
    const ts = attachReceipts(statement, [ra, rb, rc]);
    const result = verifyTransparentStatement(ts, { trustedKeys: trustAB });
    expect(result.ok).toBe(true);
    expect(result.error).toBeUndefined();
    expect(toHex(result.entry)).toBe(toHex(entry));
    expect(result.verifiedServices).toEqual([a.iss, b.iss]);
    expect(result.receipts[0]).toEqual({
      index: 0,
      status: 'verified',
      ok: true,
      vds: 1,
      kid: toHex(a.kid),
      serviceIss: a.iss,
      registrationTime: 1700000100,
      service: a.iss,
      treeSize: 300,
      leafIndex: 123,
      root: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/), // the signed root, base64 (for trust-state checks)
      // issued without sub (RFC 9943 §6 requires it): verified, and the deviation reported
      profileDeviations: ['receipt CWT claims lack sub (2), which RFC 9943 §6 requires; accepted, as the inclusion proof and signature verify'],
    });
    expect(result.receipts[1]).toMatchObject({ index: 1, status: 'verified', vds: 1, serviceIss: b.iss, treeSize: 5, leafIndex: 4, registrationTime: 1700000300 });
    expect(result.receipts[2]).toMatchObject({ index: 2, status: 'failed', ok: false, serviceIss: c.iss, kid: toHex(c.kid), error: { code: 'ERR_RECEIPT_KEY_UNKNOWN' } });
  });

  it('policies: N distinct services, or all of a set of service kids', () => {
    const ts = attachReceipts(statement, [ra, ra2, rb, rc]);
    const v = (policy: Parameters<typeof verifyTransparentStatement>[1]['policy']) => verifyTransparentStatement(ts, { trustedKeys: trustAB, ...(policy ? { policy } : {}) });
    expect(v({ minServices: 2 }).ok).toBe(true);
    const three = v({ minServices: 3 });
    expect(three.ok).toBe(false);
    expect(three.error).toEqual({ code: 'ERR_RECEIPT_POLICY', message: expect.stringMatching(/2 trusted services verified of 3 required \(4 receipts present\)/) });
    expect(v({ requireKids: [a.kid, b.kid] }).ok).toBe(true);
    const needC = v({ requireKids: [a.kid, c.kid] });
    expect(needC.ok).toBe(false);
    expect(needC.error!.message).toContain(toHex(c.kid));
    expect(() => assertReceiptPolicy(needC)).toThrow(expect.objectContaining({ code: 'ERR_RECEIPT_POLICY' }));
    expect(() => assertReceiptPolicy(v({}))).not.toThrow();
    // Two receipts from service A count once.
    const onlyA = verifyTransparentStatement(attachReceipts(statement, [ra, ra2]), { trustedKeys: trustAB, policy: { minServices: 2 } });
    expect(onlyA.receipts.filter((r) => r.ok)).toHaveLength(2);
    expect(onlyA.ok).toBe(false);
    expect(code(() => v({ minServices: 0 }))).toBe('ERR_USAGE');
  });

  it('a statement without receipts, or with receipts only from untrusted services, fails the policy', () => {
    expect(verifyTransparentStatement(statement, { trustedKeys: trustAB })).toMatchObject({ ok: false, receipts: [], error: { code: 'ERR_RECEIPT_POLICY' } });
    expect(verifyTransparentStatement(attachReceipts(statement, [rc]), { trustedKeys: trustAB }).ok).toBe(false);
  });

  it('a receipt for another statement fails; bad elements are reported without hiding good ones', async () => {
    const other = statementEntry(await signedStatement('{"other":true}'));
    const forOther = await register(a, other, 10, 3);
    const m = decodeSign1(statement);
    const listed = encode(new Tag([m.protectedBytes, new Map<number, unknown>([[394, [forOther, text('garbage'), 42, rb]]]), m.payload, m.signature], 18));
    const result = verifyTransparentStatement(listed, { trustedKeys: trustAB });
    expect(result.receipts.map((r) => [r.status, r.error?.code])).toEqual([
      ['failed', 'ERR_RECEIPT_SIGNATURE'],
      ['failed', 'ERR_CBOR_TRUNCATED'], // 'g' = text of 7 bytes, 6 follow
      ['failed', 'ERR_RECEIPT_MALFORMED'],
      ['verified', undefined],
    ]);
    expect(result.ok).toBe(true);
    expect(code(() => extractReceipts(listed))).toBe('ERR_RECEIPT_MALFORMED');
  });

  it('receipts of an unsupported vds are reported as unsupported and skipped', async () => {
    const protectedBytes = encode(new Map<number, unknown>([[1, -7], [4, a.kid], [15, new Map([[1, a.iss]])], [395, 99]]));
    const unknown = encode(new Tag([protectedBytes, new Map([[396, new Map([[-1, [text('x')]]])]]), null, new Uint8Array(64)], 18));
    const result = verifyTransparentStatement(attachReceipts(statement, [unknown, ra]), { trustedKeys: trustAB });
    expect(result.receipts[0]).toMatchObject({ status: 'unsupported', ok: false, error: { code: 'ERR_RECEIPT_UNSUPPORTED' } });
    expect(result.ok).toBe(true);
    expect(verifyTransparentStatement(attachReceipts(statement, [unknown]), { trustedKeys: trustAB }).ok).toBe(false);
  });

  it('receipts placed in the statement’s protected header are refused', async () => {
    const bad = await signedStatement('{"x":1}', [[Header.receipts, [ra]]]);
    expect(code(() => verifyTransparentStatement(bad, { trustedKeys: trustAB }))).toBe('ERR_STATEMENT_RECEIPTS_PROTECTED');
    expect(code(() => statementEntry(bad))).toBe('ERR_STATEMENT_RECEIPTS_PROTECTED');
    expect(code(() => statementEntry(decodeSign1(bad)))).toBe('ERR_STATEMENT_RECEIPTS_PROTECTED');
  });

  it('394 that is not an array, untagged statements and non-Sign1 input are refused', () => {
    const m = decodeSign1(statement);
    const notArray = encode(new Tag([m.protectedBytes, new Map<number, unknown>([[394, ra]]), m.payload, m.signature], 18));
    expect(code(() => verifyTransparentStatement(notArray, { trustedKeys: trustAB }))).toBe('ERR_RECEIPT_MALFORMED');
    const untagged = encode(decode(statement) instanceof Tag ? ((decode(statement) as Tag).value as unknown[]) : []);
    expect(code(() => parseStatementParts(untagged))).toBe('ERR_COSE_TAG');
    expect(code(() => parseStatementParts(encode(new Tag([1, 2], 18))))).toBe('ERR_COSE_MALFORMED');
  });

  it('verifyReceipts works on an entry and receipt list the caller already has', () => {
    const result = verifyReceipts(entry, [rb], { trustedKeys: trustAB, policy: { requireKids: [b.kid] } });
    expect(result.ok).toBe(true);
    expect(result.receipts[0]!.kid).toBe(toHex(b.kid));
  });
});
