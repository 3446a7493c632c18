import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MerkleError, ScittError } from '../src/errors.ts';
import {
  CountingNodeStore,
  EMPTY_ROOT,
  MemoryNodeStore,
  MerkleTree,
  consistencyPathLength,
  inclusionPathLength,
  leafHash,
  nodeHash,
  rootFromConsistencyProof,
  rootFromInclusionProof,
  sha256,
  verifyConsistency,
  verifyInclusion,
  type ConsistencyProof,
  type InclusionProof,
} from '../src/merkle/index.ts';
import { bitSet, isPowerOfTwo, splitLevel } from '../src/merkle/sizes.ts';
import { hex, listJson, readJson, toHex } from './vectors.ts';

const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

/** The recursive definition of RFC 9162 §2.1.1, over all leaves: the independent oracle for the stored tree. */
function mth(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

function randomLeaves(n: number, seed = 1): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => sha256(new TextEncoder().encode(`leaf ${seed}/${i}`)));
}

function outcome(fn: () => void): true | ScittError {
  try {
    fn();
    return true;
  } catch (e) {
    if (e instanceof ScittError) return e;
    throw e; // anything else is a bug, never a verdict
  }
}

describe('RFC 9162 hashing (§2.1.1)', () => {
  it('empty root, leaf and node hashes', () => {
    expect(toHex(EMPTY_ROOT)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(toHex(leafHash(new Uint8Array(0)))).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
    const ref = readJson<{ leafHashes: string[]; nodeHashes: { levels: string[][] } }>('rfc9162', 'reference-tree-8-leaves.json');
    expect(toHex(nodeHash(hex(ref.leafHashes[0]!), hex(ref.leafHashes[1]!)))).toBe(ref.nodeHashes.levels[1]![0]);
  });

  it('nodeHash refuses children that are not 32 bytes', () => {
    expect(() => nodeHash(new Uint8Array(31), new Uint8Array(32))).toThrow(MerkleError);
  });
});

describe('uint64 size arithmetic without 32-bit operators', () => {
  const naiveSplit = (n: number) => {
    let l = 0;
    while (2 ** (l + 1) < n) l++;
    return l;
  };

  it('splitLevel is the largest power of two below n, exactly, up to 2^53', () => {
    for (let n = 2; n < 5000; n++) expect(splitLevel(n)).toBe(naiveSplit(n));
    for (let e = 2; e <= 53; e++) {
      for (const d of [-2, -1, 0, 1, 2]) {
        const n = 2 ** e + d;
        if (n <= Number.MAX_SAFE_INTEGER) expect(splitLevel(n)).toBe(naiveSplit(n));
      }
    }
  });

  it('bits and powers of two above 2^32', () => {
    expect(bitSet(2 ** 40 + 1, 40)).toBe(true);
    expect(bitSet(2 ** 40 + 1, 0)).toBe(true);
    expect(bitSet(2 ** 40 + 1, 32)).toBe(false);
    expect(isPowerOfTwo(2 ** 52)).toBe(true);
    expect(isPowerOfTwo(2 ** 52 + 2)).toBe(false);
  });
});

describe('transparency-dev/merkle testdata (RFC 9162 §2.1.3.2, §2.1.4.2)', () => {
  interface InclusionVector { leafIdx: number; treeSize: number; root: string; leafHash: string; proof: string[] | null; desc: string; wantErr: boolean }
  interface ConsistencyVector { size1: number; size2: number; root1: string; root2: string; proof: string[] | null; desc: string; wantErr: boolean }
  const base = 'rfc9162/transparency-dev-merkle-testdata';
  const inclusion = listJson(base, 'inclusion');
  const consistency = listJson(base, 'consistency');

  it('finds every vector file', () => {
    expect(inclusion.length).toBe(98);
    expect(consistency.length).toBe(98);
  });

  for (const file of inclusion) {
    const v = readJson<InclusionVector>(base, 'inclusion', file);
    it(`inclusion/${file}: ${v.desc} → ${v.wantErr ? 'fails' : 'verifies'}`, () => {
      const proof: InclusionProof = { leafIndex: v.leafIdx, treeSize: v.treeSize, path: (v.proof ?? []).map(b64) };
      const r = outcome(() => verifyInclusion(b64(v.leafHash), proof, b64(v.root)));
      expect(r === true).toBe(!v.wantErr);
      if (r !== true) expect(r).toBeInstanceOf(MerkleError);
    });
  }

  for (const file of consistency) {
    const v = readJson<ConsistencyVector>(base, 'consistency', file);
    it(`consistency/${file}: ${v.desc} → ${v.wantErr ? 'fails' : 'verifies'}`, () => {
      const proof: ConsistencyProof = { treeSize1: v.size1, treeSize2: v.size2, path: (v.proof ?? []).map(b64) };
      const r = outcome(() => verifyConsistency(proof, b64(v.root1), b64(v.root2)));
      expect(r === true).toBe(!v.wantErr);
      if (r !== true) expect(r).toBeInstanceOf(MerkleError);
    });
  }
});

describe('reference tree of 8 leaves (transparency-dev/merkle constants)', () => {
  interface Incl { leafIndex: number; treeSize: number; leafHash: string; root: string; proof: string[] }
  interface Cons { size1: number; size2: number; root1: string; root2: string; proof: string[] }
  const ref = readJson<{
    leaves: string[];
    leafHashes: string[];
    nodeHashes: { levels: string[][] };
    roots: { values: string[] };
    goldenInclusionProofs: Incl[];
    goldenConsistencyProofs: Cons[];
    allInclusionProofs: { vectors: Incl[] };
    allConsistencyProofs: { vectors: Cons[] };
  }>('rfc9162', 'reference-tree-8-leaves.json');

  function build(): MerkleTree {
    const tree = new MerkleTree();
    for (const leaf of ref.leaves) tree.appendLeaf(leafHash(hex(leaf)));
    return tree;
  }

  it('leaf hashes and every stored complete subtree', () => {
    const tree = build();
    expect(ref.leaves.map((l) => toHex(leafHash(hex(l))))).toEqual(ref.leafHashes);
    ref.nodeHashes.levels.forEach((level, l) => level.forEach((h, i) => expect(toHex(tree.store.getNode(l, i)!)).toBe(h)));
  });

  it('roots of every prefix, both from the full tree and while growing', () => {
    const tree = build();
    ref.roots.values.forEach((r, n) => expect(toHex(tree.root(n))).toBe(r));
    const growing = new MerkleTree();
    expect(toHex(growing.root())).toBe(ref.roots.values[0]);
    ref.leaves.forEach((l, i) => {
      growing.appendLeaf(leafHash(hex(l)));
      expect(toHex(growing.root())).toBe(ref.roots.values[i + 1]);
    });
  });

  it('every inclusion proof (golden and all index/size pairs) is generated exactly and verifies', () => {
    const tree = build();
    const all = [...ref.goldenInclusionProofs, ...ref.allInclusionProofs.vectors];
    expect(ref.allInclusionProofs.vectors).toHaveLength(36);
    for (const v of all) {
      const proof = tree.inclusionProof(v.leafIndex, v.treeSize);
      expect(proof.path.map(toHex)).toEqual(v.proof);
      expect(toHex(rootFromInclusionProof(hex(v.leafHash), proof))).toBe(v.root);
      verifyInclusion(hex(v.leafHash), proof, hex(v.root));
    }
  });

  it('every consistency proof (golden and all size pairs) is generated exactly and verifies', () => {
    const tree = build();
    const all = [...ref.goldenConsistencyProofs, ...ref.allConsistencyProofs.vectors];
    expect(ref.allConsistencyProofs.vectors).toHaveLength(36);
    for (const v of all) {
      const proof = tree.consistencyProof(v.size1, v.size2);
      expect(proof.path.map(toHex)).toEqual(v.proof);
      verifyConsistency(proof, hex(v.root1), hex(v.root2));
    }
  });
});

describe('MerkleTree over a NodeStore', () => {
  it('batch appends store the same nodes as single appends and match the recursive definition', () => {
    const leaves = randomLeaves(1000);
    const single = new MerkleTree();
    for (const l of leaves) single.appendLeaf(l);
    const batched = new MerkleTree();
    let i = 0;
    for (const n of [1, 2, 3, 7, 64, 100, 255, 256, 312]) {
      expect(batched.appendLeaves(leaves.slice(i, i + n))).toBe(i);
      i += n;
    }
    expect(i).toBe(1000);
    for (const size of [1, 2, 3, 5, 8, 100, 511, 512, 513, 999, 1000]) {
      const expected = toHex(mth(leaves.slice(0, size)));
      expect(toHex(single.root(size))).toBe(expected);
      expect(toHex(batched.root(size))).toBe(expected);
    }
    for (let l = 0; l <= 9; l++) {
      for (let idx = 0; idx < Math.floor(1000 / 2 ** l); idx++) expect(batched.store.getNode(l, idx)).toEqual(single.store.getNode(l, idx));
    }
    expect(batched.store.getNode(10, 0)).toBeUndefined();
  });

  it('a batch is handed to the store in one call; an invalid leaf stores nothing', () => {
    const inner = new MemoryNodeStore();
    let calls = 0;
    const store = { getSize: () => inner.getSize(), getNode: (l: number, i: number) => inner.getNode(l, i), appendNodes: (...a: Parameters<MemoryNodeStore['appendNodes']>) => (calls++, inner.appendNodes(...a)) };
    const tree = new MerkleTree(store);
    tree.appendLeaves(randomLeaves(10));
    expect(calls).toBe(1);
    expect(inner.getNode(1, 4)).toBeDefined(); // leaves 8 and 9
    expect(() => tree.appendLeaves([...randomLeaves(3, 2), new Uint8Array(31)])).toThrow(MerkleError);
    expect(calls).toBe(1);
    expect(tree.size).toBe(10);
  });

  it('refuses sizes and indices outside the tree with ERR_MERKLE_RANGE', () => {
    const tree = new MerkleTree();
    tree.appendLeaves(randomLeaves(5));
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as ScittError).code;
      }
      return 'no error';
    };
    expect(code(() => tree.root(6))).toBe('ERR_MERKLE_RANGE');
    expect(code(() => tree.inclusionProof(5, 5))).toBe('ERR_MERKLE_RANGE');
    expect(code(() => tree.inclusionProof(0, 0))).toBe('ERR_MERKLE_RANGE');
    expect(code(() => tree.inclusionProof(-1, 5))).toBe('ERR_MERKLE_RANGE');
    expect(code(() => tree.inclusionProof(0.5, 5))).toBe('ERR_MERKLE_RANGE');
    expect(code(() => tree.consistencyProof(0, 5))).toBe('ERR_MERKLE_RANGE');
    expect(code(() => tree.consistencyProof(4, 3))).toBe('ERR_MERKLE_RANGE');
    expect(code(() => tree.consistencyProof(3, 6))).toBe('ERR_MERKLE_RANGE');
    expect(tree.consistencyProof(5, 5).path).toEqual([]);
  });

  it('inclusionProofs for a batch equals one inclusionProof per leaf, reading fewer nodes', () => {
    const counting = new CountingNodeStore(new MemoryNodeStore());
    const tree = new MerkleTree(counting);
    tree.appendLeaves(randomLeaves(1000));
    for (const n of [1, 2, 3, 7, 8, 13, 100, 999, 1000]) {
      const indices = Array.from({ length: n }, (_, i) => i);
      counting.reads = 0;
      const one = indices.map((i) => tree.inclusionProof(i, n));
      const single = counting.reads;
      counting.reads = 0;
      const batch = tree.inclusionProofs(indices, n);
      expect(batch.map((p) => p.path.map(toHex))).toEqual(one.map((p) => p.path.map(toHex)));
      expect(counting.reads).toBeLessThanOrEqual(single);
    }
    expect(() => tree.inclusionProofs([0, 1000], 1000)).toThrow(MerkleError);
  });

  it('one proof reads at most 2·log2(n) stored nodes', () => {
    const counting = new CountingNodeStore(new MemoryNodeStore());
    const tree = new MerkleTree(counting);
    const N = 5000;
    tree.appendLeaves(randomLeaves(N));
    const sizes = [...Array.from({ length: 300 }, (_, i) => i + 1), 511, 512, 513, 1023, 1025, 2047, 2049, 3071, 4095, 4096, 4097, 4999, 5000];
    let worst = 0;
    for (const n of sizes) {
      const bound = 2 * Math.log2(n);
      const indices = n <= 64 ? Array.from({ length: n }, (_, i) => i) : [0, 1, Math.floor(n / 2), Math.floor(n / 3), n - 2, n - 1];
      for (const i of indices) {
        counting.reads = 0;
        tree.inclusionProof(i, n);
        expect(counting.reads).toBeLessThanOrEqual(bound);
        worst = Math.max(worst, counting.reads / Math.max(1, Math.log2(n)));
      }
      for (const m of n <= 64 ? Array.from({ length: n }, (_, i) => i + 1) : [1, 2, Math.floor(n / 2), n - 1, n]) {
        counting.reads = 0;
        tree.consistencyProof(m, n);
        expect(counting.reads).toBeLessThanOrEqual(bound);
      }
    }
    expect(worst).toBeLessThanOrEqual(2);
  });
});

describe('verification refuses malformed proofs precisely', () => {
  const leaves = randomLeaves(13);
  const tree = new MerkleTree();
  tree.appendLeaves(leaves);
  const root = tree.root();
  const good = tree.inclusionProof(6, 13);

  it.each([
    ['index = size', { ...good, leafIndex: 13 }, 'ERR_MERKLE_RANGE', /not below tree size 13/],
    ['size 0', { ...good, treeSize: 0 }, 'ERR_MERKLE_RANGE', /empty tree/],
    ['size above 2^53', { ...good, treeSize: 2 ** 53 }, 'ERR_MERKLE_RANGE', /2\^53/],
    ['one hash missing', { ...good, path: good.path.slice(1) }, 'ERR_MERKLE_PROOF', /has 3 hashes.*exactly 4/],
    ['one hash extra', { ...good, path: [...good.path, good.path[0]!] }, 'ERR_MERKLE_PROOF', /has 5 hashes.*exactly 4/],
    ['65 hashes', { ...good, path: Array.from({ length: 65 }, () => new Uint8Array(32)) }, 'ERR_MERKLE_PROOF', /more than 64/],
    ['a short hash', { ...good, path: [good.path[0]!.subarray(1), ...good.path.slice(1)] }, 'ERR_MERKLE_PROOF', /element 0 is not a 32-byte hash/],
  ] as const)('%s', (_, proof, code, message) => {
    const r = outcome(() => verifyInclusion(leaves[6]!, proof as InclusionProof, root));
    expect(r).not.toBe(true);
    expect((r as ScittError).code).toBe(code);
    expect((r as ScittError).message).toMatch(message);
  });

  it('path lengths implied by the sizes', () => {
    expect(inclusionPathLength(0, 1)).toBe(0);
    expect(inclusionPathLength(6, 13)).toBe(4);
    expect(inclusionPathLength(12, 13)).toBe(2);
    expect(inclusionPathLength(2 ** 52, 2 ** 53 - 1)).toBe(53);
    expect(consistencyPathLength(4, 8)).toBe(1);
    expect(consistencyPathLength(3, 7)).toBe(4);
    expect(consistencyPathLength(5, 5)).toBe(0);
    expect(rootFromConsistencyProof({ treeSize1: 5, treeSize2: 5, path: [] }, tree.root(5))).toEqual(tree.root(5));
  });
});

describe('properties (fast-check)', () => {
  const N = 3000;
  const leaves = randomLeaves(N, 7);
  const tree = new MerkleTree();
  tree.appendLeaves(leaves);
  const roots = new Map<number, Uint8Array>();
  const rootAt = (n: number) => roots.get(n) ?? (roots.set(n, tree.root(n)), roots.get(n)!);
  const flip = (path: readonly Uint8Array[], at: number, bit: number) =>
    path.map((h, i) => {
      if (i !== at) return h;
      const c = h.slice();
      c[Math.floor(bit / 8)]! ^= 1 << bit % 8;
      return c;
    });
  const fails = (fn: () => void) => outcome(fn) !== true;

  it('every generated inclusion proof verifies; any change to a hash, the index or the size fails', () => {
    const arb = fc
      .integer({ min: 1, max: N })
      .chain((n) => fc.record({ n: fc.constant(n), i: fc.integer({ min: 0, max: n - 1 }), other: fc.integer({ min: 1, max: N }), at: fc.nat(), bit: fc.integer({ min: 0, max: 255 }) }));
    fc.assert(
      fc.property(arb, ({ n, i, other, at, bit }) => {
        const proof = tree.inclusionProof(i, n);
        verifyInclusion(leaves[i]!, proof, rootAt(n));
        if (proof.path.length > 0) {
          expect(fails(() => verifyInclusion(leaves[i]!, { ...proof, path: flip(proof.path, at % proof.path.length, bit) }, rootAt(n)))).toBe(true);
        }
        expect(fails(() => verifyInclusion(flip([leaves[i]!], 0, bit)[0]!, proof, rootAt(n)))).toBe(true);
        const j = (i + 1 + (other % n)) % n;
        if (j !== i) expect(fails(() => verifyInclusion(leaves[i]!, { ...proof, leafIndex: j }, rootAt(n)))).toBe(true);
        // The proof may fit another size's shape, but never that tree's root.
        if (other !== n && i < other) expect(fails(() => verifyInclusion(leaves[i]!, { ...proof, treeSize: other }, rootAt(other)))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('every generated consistency proof verifies; any change to a hash, a size or a root fails', () => {
    const arb = fc
      .integer({ min: 1, max: N })
      .chain((n) =>
        fc.record({ n: fc.constant(n), m: fc.integer({ min: 1, max: n }), m2: fc.integer({ min: 1, max: N }), n2: fc.integer({ min: 1, max: N }), at: fc.nat(), bit: fc.integer({ min: 0, max: 255 }) }),
      );
    fc.assert(
      fc.property(arb, ({ n, m, m2, n2, at, bit }) => {
        const proof = tree.consistencyProof(m, n);
        verifyConsistency(proof, rootAt(m), rootAt(n));
        expect(rootFromConsistencyProof(proof, rootAt(m))).toEqual(rootAt(n));
        if (proof.path.length > 0) {
          expect(fails(() => verifyConsistency({ ...proof, path: flip(proof.path, at % proof.path.length, bit) }, rootAt(m), rootAt(n)))).toBe(true);
        }
        if (m !== n) expect(fails(() => verifyConsistency(proof, flip([rootAt(m)], 0, bit)[0]!, rootAt(n)))).toBe(true);
        expect(fails(() => verifyConsistency(proof, rootAt(m), flip([rootAt(n)], 0, bit)[0]!))).toBe(true);
        if (m2 !== m && m2 <= n) expect(fails(() => verifyConsistency({ ...proof, treeSize1: m2 }, rootAt(m2), rootAt(n)))).toBe(true);
        if (n2 !== n && m <= n2) expect(fails(() => verifyConsistency({ ...proof, treeSize2: n2 }, rootAt(m), rootAt(n2)))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('random appends in random batches always give the recursive definition’s root', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 12 }), (batches) => {
        const t = new MerkleTree();
        const all: Uint8Array[] = [];
        batches.forEach((size, b) => {
          const add = randomLeaves(size, 100 + b);
          t.appendLeaves(add);
          all.push(...add);
        });
        expect(toHex(t.root())).toBe(toHex(mth(all)));
        const i = all.length - 1;
        verifyInclusion(all[i]!, t.inclusionProof(i), t.root());
      }),
      { numRuns: 40 },
    );
  });
});
