import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tag, encode } from '../src/cbor.ts';
import { Claim, Header } from '../src/cose/headers.ts';
import { generateKey, publicKey } from '../src/cose/key.ts';
import { keySigner, sigStructure } from '../src/cose/sign1.ts';
import {
  TrustedKeys,
  ccfKeyId,
  ccfRoot,
  decodeCcfInclusionProof,
  extractReceipts,
  loadTrustedKeys,
  readReceiptHeaders,
  statementEntry,
  verifyReceipt,
  verifyTransparentStatement,
} from '../src/receipt/index.ts';
import { VECTORS, readJson, toHex } from './vectors.ts';
import { code } from './helpers/error-code.ts';

const file = (...p: string[]) => new Uint8Array(readFileSync(join(VECTORS, 'ccf', ...p)));
const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const text = (s: string) => new TextEncoder().encode(s);


interface Expected {
  signed_statement_sha256: string;
  receipts: { kid_ascii: string; cwt_iss: string; cwt_iat: number; inclusion_proofs: { data_hash: string; leaf: string; root: string; internal_evidence: string }[] }[];
}

describe('CCF receipts (vds 2): azure-sdk test ledger', () => {
  const dir = 'azure-sdk-test-ledger';
  const statement = file(dir, 'transparent_statement.cose');
  const signedClaims = file(dir, 'input_signed_claims');
  const expected = readJson<Expected>('ccf', dir, 'expected-transparent_statement.json');
  const expectedReceipt = readJson<Expected['receipts'][0] & { inclusion_proofs: Expected['receipts'][0]['inclusion_proofs'] }>('ccf', dir, 'expected-receipt.json');
  const keysForStatement = new TrustedKeys(loadTrustedKeys(file(dir, 'jwks_kid_mismatch.json')));
  const keysForReceipt = new TrustedKeys(loadTrustedKeys(file(dir, 'jwks_claim_digest_mismatch.json')));

  it('the entry is the statement with unprotected = {}, tag kept (byte-identical to input_signed_claims)', () => {
    const entry = statementEntry(statement);
    expect(toHex(entry)).toBe(toHex(signedClaims));
    expect(toHex(sha256(entry))).toBe(expected.signed_statement_sha256);
  });

  it('the transparent statement’s receipt verifies with the JWKS key (kid matched as the UTF-8 of the JWK kid)', () => {
    const result = verifyTransparentStatement(statement, { trustedKeys: keysForStatement });
    expect(result.ok).toBe(true);
    const r = expected.receipts[0]!;
    expect(result.receipts).toEqual([
      {
        index: 0,
        status: 'verified',
        ok: true,
        vds: 2,
        kid: toHex(text(r.kid_ascii)),
        kidText: r.kid_ascii,
        serviceIss: 'foo.bar.com',
        registrationTime: r.cwt_iat,
        service: toHex(text(r.kid_ascii)),
        ccfTxid: '2.12',
      },
    ]);
    const v = verifyReceipt(extractReceipts(statement)[0]!, signedClaims, keysForStatement);
    expect(toHex(v.root)).toBe(r.inclusion_proofs[0]!.root);
    expect(v.algorithm).toBe('ES384');
    expect(v.ccf?.internalEvidence).toBe(r.inclusion_proofs[0]!.internal_evidence);
  });

  it('leaf and root are computed as in ccf/README.md step 4', () => {
    const h = readReceiptHeaders(extractReceipts(statement)[0]!);
    const proof = decodeCcfInclusionProof((h.vdp.get(-1) as Uint8Array[])[0]!);
    const p = expected.receipts[0]!.inclusion_proofs[0]!;
    expect(toHex(proof.leaf.dataHash)).toBe(p.data_hash);
    expect(toHex(ccfRoot(proof))).toBe(p.root);
  });

  it('receipt.cose: genuine signature, but for another statement → ERR_RECEIPT_ENTRY_MISMATCH (claim digest mismatch)', () => {
    const receipt = file(dir, 'receipt.cose');
    const h = readReceiptHeaders(receipt);
    expect(toHex(ccfRoot(decodeCcfInclusionProof((h.vdp.get(-1) as Uint8Array[])[0]!)))).toBe(expectedReceipt.inclusion_proofs[0]!.root);
    expect(code(() => verifyReceipt(receipt, signedClaims, keysForReceipt))).toBe('ERR_RECEIPT_ENTRY_MISMATCH');
  });

  it('receipt.cose with the other service’s JWKS → ERR_RECEIPT_KEY_UNKNOWN (kid mismatch), not a signature failure', () => {
    expect(code(() => verifyReceipt(file(dir, 'receipt.cose'), signedClaims, keysForStatement))).toBe('ERR_RECEIPT_KEY_UNKNOWN');
  });

  it('a flipped bit in the signed data_hash breaks the signature', () => {
    const receipt = extractReceipts(statement)[0]!;
    const p = expected.receipts[0]!.inclusion_proofs[0]!;
    const at = Buffer.from(receipt).indexOf(Buffer.from(p.data_hash, 'hex'));
    expect(at).toBeGreaterThan(0);
    const tampered = receipt.slice();
    tampered[at]! ^= 0x01;
    expect(code(() => verifyReceipt(tampered, signedClaims, keysForStatement))).toBe('ERR_RECEIPT_SIGNATURE');
  });

  it('CCF derives kids as hex SHA-256(SPKI): ccfKeyId reproduces the JWKS kid', () => {
    for (const k of keysForStatement) expect(new TextDecoder().decode(ccfKeyId(k.key))).toBe(new TextDecoder().decode(k.kid));
  });
});

describe('CCF receipts (vds 2): production Microsoft Signing Transparency statement', () => {
  const dir = 'mst-esrp-cts-db';
  const statement = file(dir, 'uvm_0.2.10.cose');
  const expected = readJson<Expected>('ccf', dir, 'expected.json');

  it('loads the trust store (8 certificates, 2 distinct keys, CCF kids) and verifies the receipt', () => {
    const keys = loadTrustedKeys(file(dir, 'esrp-cts-db.json'));
    expect(keys).toHaveLength(2);
    const trusted = new TrustedKeys(keys);
    const r = expected.receipts[0]!;
    expect(trusted.get(text(r.kid_ascii))).toBeDefined();
    expect(toHex(sha256(statementEntry(statement)))).toBe(expected.signed_statement_sha256);
    const result = verifyTransparentStatement(statement, { trustedKeys: trusted });
    expect(result.ok).toBe(true);
    expect(result.receipts[0]).toMatchObject({ status: 'verified', vds: 2, kidText: r.kid_ascii, serviceIss: r.cwt_iss, registrationTime: 1766437888, ccfTxid: '458.12440' });
    const v = verifyReceipt(extractReceipts(statement)[0]!, statementEntry(statement), trusted);
    expect(toHex(v.root)).toBe(r.inclusion_proofs[0]!.root);
  });

  it('a PEM certificate of the store, loaded with kidStyle "ccf", gives the same kid', () => {
    const store = readJson<{ parameters: { serviceCertificate: string; serviceId: string }[] }>('ccf', dir, 'esrp-cts-db.json');
    const cert = store.parameters.find((p) => p.serviceId.startsWith('a920d81b'))!;
    const pem = `-----BEGIN CERTIFICATE-----\n${cert.serviceCertificate.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
    const [k] = loadTrustedKeys(pem, { kidStyle: 'ccf' });
    expect(new TextDecoder().decode(k!.kid)).toBe(expected.receipts[0]!.kid_ascii);
    expect(loadTrustedKeys(pem)[0]!.kid).toHaveLength(32); // default: RFC 9679 thumbprint
  });

  it('without the right key the receipt fails and the policy is not met', () => {
    const result = verifyTransparentStatement(statement, { trustedKeys: new TrustedKeys(loadTrustedKeys(file('azure-sdk-test-ledger', 'jwks_kid_mismatch.json'))) });
    expect(result.ok).toBe(false);
    expect(result.receipts[0]).toMatchObject({ status: 'failed', error: { code: 'ERR_RECEIPT_KEY_UNKNOWN' } });
    expect(result.error?.code).toBe('ERR_RECEIPT_POLICY');
  });
});

describe('legacy pre-RFC CCF receipt', () => {
  it('is reported as unsupported, and alone does not satisfy the policy', () => {
    const statement = file('legacy-pre-rfc', 'cts-hashv-cwtclaims-b64url.cose');
    const result = verifyTransparentStatement(statement, { trustedKeys: new TrustedKeys() });
    expect(result.receipts).toHaveLength(1);
    expect(result.receipts[0]).toMatchObject({ index: 0, status: 'unsupported', ok: false, error: { code: 'ERR_RECEIPT_UNSUPPORTED' } });
    expect(result.receipts[0]!.error!.message).toMatch(/legacy/);
    expect(result.ok).toBe(false);
  });
});

describe('synthetic CCF receipts (both fold directions)', () => {
  const key = generateKey('P-384');
  const signer = keySigner(key);
  const kid = ccfKeyId(key);
  const keys = new TrustedKeys([{ kid, key: publicKey(key) }]);
  const entry = encode(new Tag([new Uint8Array([0xa0]), new Map(), text('payload'), new Uint8Array(64)], 18));
  const ith = sha256(text('ith'));
  const evidence = 'ce:3.14:' + '0'.repeat(64);
  const siblings = [sha256(text('a')), sha256(text('b')), sha256(text('c'))];

  async function receipt(lefts: boolean[], dataHash = sha256(entry)): Promise<{ bytes: Uint8Array; root: Uint8Array }> {
    // Independent fold, written out from ccf/README.md step 4.
    let h = sha256(new Uint8Array([...ith, ...sha256(text(evidence)), ...dataHash]));
    lefts.forEach((left, i) => {
      h = sha256(new Uint8Array(left ? [...siblings[i]!, ...h] : [...h, ...siblings[i]!]));
    });
    const protectedBytes = encode(
      new Map<number | string, unknown>([
        [Header.alg, -35],
        [Header.kid, kid],
        [Header.cwtClaims, new Map<number, unknown>([[Claim.iss, 'ccf.example'], [Claim.sub, 'scitt.ccf.signature.v1'], [Claim.iat, 1700000000]])],
        [Header.vds, 2],
        ['ccf.v1', new Map([['txid', '3.15']])],
      ]),
    );
    const proof = encode(new Map<number, unknown>([[1, [ith, evidence, dataHash]], [2, lefts.map((l, i) => [l, siblings[i]!])]]));
    const signature = await signer.sign(sigStructure(protectedBytes, h));
    return { bytes: encode(new Tag([protectedBytes, new Map([[Header.vdp, new Map([[-1, [proof]]])]]), null, signature], 18)), root: h };
  }

  it('verifies with left = false and left = true steps, and fails when a direction is flipped', async () => {
    const { bytes, root } = await receipt([false, true, false]);
    const v = verifyReceipt(bytes, entry, keys);
    expect(toHex(v.root)).toBe(toHex(root));
    expect(v.ccf?.txid).toBe('3.14');
    const flipped = Buffer.from(bytes);
    const at = flipped.indexOf(Buffer.from([0x82, 0xf4, 0x58, 0x20])); // [false, h'…']
    flipped[at + 1] = 0xf5;
    expect(code(() => verifyReceipt(new Uint8Array(flipped), entry, keys))).toBe('ERR_RECEIPT_SIGNATURE');
  });

  it('refuses malformed CCF proofs precisely', async () => {
    const good = await receipt([true]);
    const h = readReceiptHeaders(good.bytes);
    const bad = (proof: unknown) => {
      const u = new Map([[Header.vdp, new Map([[-1, [encode(proof)]]])]]);
      return encode(new Tag([h.sign1.protectedBytes, u, null, h.sign1.signature], 18));
    };
    expect(code(() => verifyReceipt(bad([1, 2, 3]), entry, keys))).toBe('ERR_RECEIPT_PROOF');
    expect(code(() => verifyReceipt(bad(new Map<number, unknown>([[1, [ith, evidence, new Uint8Array(31)]], [2, []]])), entry, keys))).toBe('ERR_RECEIPT_PROOF');
    expect(code(() => verifyReceipt(bad(new Map<number, unknown>([[1, [ith, '', sha256(entry)]], [2, []]])), entry, keys))).toBe('ERR_RECEIPT_PROOF');
    expect(code(() => verifyReceipt(bad(new Map<number, unknown>([[1, [ith, evidence, sha256(entry)]], [2, [[1, siblings[0]!]]]])), entry, keys))).toBe('ERR_RECEIPT_PROOF');
    expect(code(() => verifyReceipt(bad(new Map<number, unknown>([[1, [ith, evidence, sha256(entry)]], [2, []], [3, 0]])), entry, keys))).toBe('ERR_RECEIPT_PROOF');
    const long = Array.from({ length: 65 }, () => [true, siblings[0]!]);
    expect(code(() => verifyReceipt(bad(new Map<number, unknown>([[1, [ith, evidence, sha256(entry)]], [2, long]])), entry, keys))).toBe('ERR_RECEIPT_PROOF');
  });

  it('a receipt whose data_hash names another statement is refused after its signature checks out', async () => {
    const other = await receipt([true, false], sha256(text('another statement')));
    expect(code(() => verifyReceipt(other.bytes, entry, keys))).toBe('ERR_RECEIPT_ENTRY_MISMATCH');
  });
});
