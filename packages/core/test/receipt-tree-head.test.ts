import { beforeAll, describe, expect, it } from 'vitest';
import { Tag, decode, encode } from '../src/cbor.ts';
import { generateKey, publicKey, thumbprint } from '../src/cose/key.ts';
import { decodeSign1, keySigner } from '../src/cose/sign1.ts';
import { EMPTY_ROOT, MerkleTree, leafHash } from '../src/merkle/index.ts';
import {
  TREE_HEAD_TYPE,
  TrustedKeys,
  encodeConsistencyProof,
  issueConsistencyReceipt,
  issueReceipt,
  signTreeHead,
  verifyConsistencyReceipt,
  verifyReceipt,
  verifyTreeHead,
  verifyTreeHeadConsistency,
} from '../src/receipt/index.ts';
import { toHex } from './vectors.ts';
import { code } from './helpers/error-code.ts';

const text = (s: string) => new TextEncoder().encode(s);


const key = generateKey('P-256');
const svc = { signer: keySigner(key), kid: thumbprint(key), iss: 'https://ts.example' };
const trusted = new TrustedKeys([publicKey(key)]);
const entries = Array.from({ length: 40 }, (_, i) => text(`entry ${i}`));
const tree = new MerkleTree();
tree.appendLeaves(entries.map(leafHash));

describe('signed tree heads', () => {
  let h10: Uint8Array;
  let h25: Uint8Array;
  let h40: Uint8Array;

  beforeAll(async () => {
    h10 = await signTreeHead({ ...svc, iat: 1700000010, treeSize: 10, root: tree.root(10) });
    h25 = await signTreeHead({ ...svc, iat: 1700000025, treeSize: 25, root: tree.root(25) });
    h40 = await signTreeHead({ ...svc, iat: 1700000040, treeSize: 40, root: tree.root(40) });
  });

  it('has the documented format and verifies', () => {
    const m = decodeSign1(h25);
    expect([...m.protectedHeader.keys()]).toEqual([1, 4, 15, 16, 395]);
    expect(m.protectedHeader.get(16)).toBe(TREE_HEAD_TYPE);
    expect(decode(m.payload!)).toEqual([25, tree.root(25)]);
    const head = verifyTreeHead(h25, trusted);
    expect(head).toMatchObject({ treeSize: 25, iss: svc.iss, iat: 1700000025 });
    expect(toHex(head.root)).toBe(toHex(tree.root(25)));
  });

  it('checks consistency between two heads', () => {
    const { older, newer } = verifyTreeHeadConsistency(h10, h25, tree.consistencyProof(10, 25).path, trusted);
    expect([older.treeSize, newer.treeSize]).toEqual([10, 25]);
    expect(verifyTreeHeadConsistency(h25, h40, tree.consistencyProof(25, 40), trusted).newer.treeSize).toBe(40);
    expect(verifyTreeHeadConsistency(h25, h25, [], trusted).older.treeSize).toBe(25);
  });

  it('refuses a wrong proof, swapped heads, a proof for other sizes, untrusted keys and other services', async () => {
    expect(code(() => verifyTreeHeadConsistency(h10, h25, tree.consistencyProof(11, 25).path, trusted))).toBe('ERR_MERKLE_PROOF');
    expect(code(() => verifyTreeHeadConsistency(h10, h25, tree.consistencyProof(10, 24).path, trusted))).toBe('ERR_MERKLE_PROOF');
    expect(code(() => verifyTreeHeadConsistency(h25, h10, tree.consistencyProof(10, 25).path, trusted))).toBe('ERR_TREE_HEAD');
    expect(code(() => verifyTreeHeadConsistency(h10, h25, tree.consistencyProof(10, 40), trusted))).toBe('ERR_TREE_HEAD');
    expect(code(() => verifyTreeHead(h25, new TrustedKeys([generateKey('P-256')])))).toBe('ERR_RECEIPT_KEY_UNKNOWN');
    const elsewhere = await signTreeHead({ ...svc, iss: 'https://other.example', iat: 1, treeSize: 25, root: tree.root(25) });
    expect(code(() => verifyTreeHeadConsistency(h10, elsewhere, tree.consistencyProof(10, 25).path, trusted))).toBe('ERR_TREE_HEAD');
  });

  it('detects equivocation: two heads of one size with different roots', async () => {
    const fork = new MerkleTree();
    fork.appendLeaves([...entries.slice(0, 24), text('forked')].map(leafHash));
    const forked = await signTreeHead({ ...svc, iat: 1700000026, treeSize: 25, root: fork.root() });
    expect(code(() => verifyTreeHeadConsistency(h25, forked, [], trusted))).toBe('ERR_MERKLE_PROOF');
    expect(code(() => verifyTreeHeadConsistency(h10, forked, tree.consistencyProof(10, 25).path, trusted))).toBe('ERR_MERKLE_PROOF');
  });

  it('the empty tree head is consistent with any later head', async () => {
    const empty = await signTreeHead({ ...svc, iat: 1, treeSize: 0, root: EMPTY_ROOT });
    expect(verifyTreeHead(empty, trusted).treeSize).toBe(0);
    expect(verifyTreeHeadConsistency(empty, h10, [], trusted).newer.treeSize).toBe(10);
    expect(code(() => verifyTreeHeadConsistency(empty, h10, [tree.root(1)], trusted))).toBe('ERR_TREE_HEAD');
    const bogus = await signTreeHead({ ...svc, iat: 1, treeSize: 0, root: tree.root(1) });
    expect(code(() => verifyTreeHead(bogus, trusted))).toBe('ERR_TREE_HEAD');
  });

  it('a tree head is not a receipt, and a receipt is not a tree head', async () => {
    expect(code(() => verifyReceipt(h10, entries[0]!, trusted))).toBe('ERR_RECEIPT_PROOF');
    const receipt = await issueReceipt({ ...svc, proof: tree.inclusionProof(3, 10), root: tree.root(10) });
    expect(code(() => verifyTreeHead(receipt, trusted))).toBe('ERR_TREE_HEAD');
  });

  it('a changed payload breaks the signature; malformed payloads are refused', () => {
    const arr = (decode(h25) as Tag).value as unknown[];
    const swap = (payload: unknown) => encode(new Tag([arr[0], arr[1], payload, arr[3]], 18));
    expect(code(() => verifyTreeHead(swap(encode([26, tree.root(25)])), trusted))).toBe('ERR_RECEIPT_SIGNATURE');
    expect(code(() => verifyTreeHead(swap(null), trusted))).toBe('ERR_TREE_HEAD');
  });
});

describe('consistency receipts (RFC 9942 §5.3)', () => {
  let receipt: Uint8Array;

  beforeAll(async () => {
    receipt = await issueConsistencyReceipt({ ...svc, iat: 1700000040, proof: tree.consistencyProof(10, 40), root: tree.root(40), root1: tree.root(10) });
  });

  it('carries vdp -2, signs the newer root, and verifies against a trusted older tree', () => {
    const m = decodeSign1(receipt);
    const vdp = m.unprotectedHeader.get(396) as Map<number, Uint8Array[]>;
    expect([...vdp.keys()]).toEqual([-2]);
    expect(toHex(vdp.get(-2)![0]!)).toBe(toHex(encodeConsistencyProof(tree.consistencyProof(10, 40))));
    const v = verifyConsistencyReceipt(receipt, { treeSize: 10, root: tree.root(10) }, trusted);
    expect(v).toMatchObject({ treeSize1: 10, treeSize2: 40, iss: svc.iss, iat: 1700000040 });
    expect(toHex(v.root)).toBe(toHex(tree.root(40)));
  });

  it('chains from an inclusion receipt: its verified root is the trusted older tree', async () => {
    const inclusion = await issueReceipt({ ...svc, proof: tree.inclusionProof(4, 10), root: tree.root(10) });
    const first = verifyReceipt(inclusion, entries[4]!, trusted);
    expect(toHex(verifyConsistencyReceipt(receipt, { treeSize: first.treeSize!, root: first.root }, trusted).root)).toBe(toHex(tree.root(40)));
  });

  it('refuses a wrong older root or size, a tampered path, and use as an inclusion receipt', () => {
    expect(code(() => verifyConsistencyReceipt(receipt, { treeSize: 10, root: tree.root(11) }, trusted))).toBe('ERR_MERKLE_PROOF');
    expect(code(() => verifyConsistencyReceipt(receipt, { treeSize: 11, root: tree.root(11) }, trusted))).toBe('ERR_RECEIPT_PROOF');
    const arr = (decode(receipt) as Tag).value as unknown[];
    const p = tree.consistencyProof(10, 40);
    const tampered = encode(new Tag([arr[0], new Map([[396, new Map([[-2, [encodeConsistencyProof({ ...p, path: [...p.path.slice(0, -1), tree.root(2)] })]]])]]), null, arr[3]], 18));
    expect(code(() => verifyConsistencyReceipt(tampered, { treeSize: 10, root: tree.root(10) }, trusted))).toBe('ERR_RECEIPT_SIGNATURE');
    expect(code(() => verifyReceipt(receipt, entries[0]!, trusted))).toBe('ERR_RECEIPT_PROOF');
    expect(code(() => verifyConsistencyReceipt(receipt, { treeSize: 10, root: tree.root(10) }, new TrustedKeys()))).toBe('ERR_RECEIPT_KEY_UNKNOWN');
  });

  it('issuing refuses proofs that do not lead from root1 to root, or equal sizes', async () => {
    await expect(issueConsistencyReceipt({ ...svc, proof: tree.consistencyProof(10, 40), root: tree.root(39), root1: tree.root(10) })).rejects.toMatchObject({ code: 'ERR_RECEIPT_PROOF' });
    await expect(issueConsistencyReceipt({ ...svc, proof: tree.consistencyProof(10, 10), root: tree.root(10) })).rejects.toMatchObject({ code: 'ERR_RECEIPT_PROOF' });
  });
});
