/** tlog-tiles paths, bundles and a tiles-only reader against the service's own Merkle tree. */
import { describe, expect, it } from 'vitest';
import { MerkleTree, leafHash } from '@scitt-actions/core/merkle';
import { CompactRange, TILE_WIDTH, TileReader, decodeEntryBundle, encodeEntryBundle, encodeTileIndex, entryBundlePath, parseTilePath, tilePath, tilesForSize } from '@scitt-actions/core/tiles';

describe('tile paths', () => {
  it('encodes indices as the spec does', () => {
    expect(encodeTileIndex(1234067)).toBe('x001/x234/067');
    expect(encodeTileIndex(0)).toBe('000');
    expect(encodeTileIndex(999)).toBe('999');
    expect(encodeTileIndex(1000)).toBe('x001/000');
    expect(tilePath(0, 1234067)).toBe('tile/0/x001/x234/067');
    expect(tilePath(1, 5, 17)).toBe('tile/1/005.p/17');
    expect(entryBundlePath(273, 112)).toBe('tile/entries/273.p/112');
  });

  it('parses exactly what it writes and nothing else', () => {
    expect(parseTilePath('tile/0/x001/x234/067')).toEqual({ kind: 'hashes', level: 0, index: 1234067, width: 256 });
    expect(parseTilePath('tile/entries/273.p/112')).toEqual({ kind: 'entries', index: 273, width: 112 });
    for (const bad of ['tile/0/1', 'tile/00/000', 'tile/0/x000/001', 'tile/0/000.p/0', 'tile/0/000.p/256', 'tile/0/000.p/012', 'tile/64/000', 'tile/0/001/002', 'tile/0/x01/002']) {
      expect(parseTilePath(bad)).toBeUndefined();
    }
  });

  it('lists the tiles of the spec examples (70,000 and 256 leaves)', () => {
    const t = [...tilesForSize(70_000)];
    expect(t.filter((x) => x.level === 0 && x.width === 256)).toHaveLength(273);
    expect(t.filter((x) => x.level === 0 && x.width !== 256)).toEqual([{ level: 0, index: 273, width: 112 }]);
    expect(t.filter((x) => x.level === 1)).toEqual([{ level: 1, index: 0, width: 256 }, { level: 1, index: 1, width: 17 }]);
    expect(t.filter((x) => x.level === 2)).toEqual([{ level: 2, index: 0, width: 1 }]);
    expect([...tilesForSize(256)]).toEqual([{ level: 0, index: 0, width: 256 }, { level: 1, index: 0, width: 1 }]);
  });

  it('bundles entries behind big-endian uint16 lengths', () => {
    const entries = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(300).fill(7)];
    const b = encodeEntryBundle(entries);
    expect([...b.subarray(0, 5)]).toEqual([0, 3, 1, 2, 3]);
    expect([...b.subarray(5, 9)]).toEqual([0, 0, 1, 44]);
    expect(decodeEntryBundle(b, 3)).toEqual(entries);
    expect(() => decodeEntryBundle(b.subarray(0, b.length - 1), 3)).toThrow(/ends inside/);
    expect(() => encodeEntryBundle([new Uint8Array(65536)])).toThrow(/does not fit/);
  });
});

/** Tiles built from a tree's stored nodes, exactly as the service builds them. */
function tilesOf(tree: MerkleTree, size: number): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const t of tilesForSize(size)) {
    const bytes = new Uint8Array(t.width * 32);
    for (let i = 0; i < t.width; i++) bytes.set(tree.store.getNode(8 * t.level, t.index * TILE_WIDTH + i)!, i * 32);
    files.set(tilePath(t.level, t.index, t.width), bytes);
  }
  return files;
}

describe('a reader of tiles only', () => {
  it('reconstructs every root, inclusion and consistency proof of a 70,000-leaf tree at sampled sizes', async () => {
    const tree = new MerkleTree();
    const leaves = Array.from({ length: 70_000 }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));
    tree.appendLeaves(leaves);
    for (const size of [1, 2, 255, 256, 257, 65_535, 65_536, 65_537, 70_000]) {
      const files = tilesOf(tree, size);
      const reader = new TileReader(async (p) => files.get(p));
      expect(await reader.root(size)).toEqual(tree.root(size));
      for (const i of [0, size - 1, Math.floor(size / 2)]) expect(await reader.inclusionProof(i, size)).toEqual(tree.inclusionProof(i, size));
      for (const m of [1, Math.ceil(size / 3), size]) expect(await reader.consistencyProof(m, size)).toEqual(tree.consistencyProof(m, size));
    }
  });

  it('a compact range recomputes the root from the entries alone', () => {
    const tree = new MerkleTree();
    const range = new CompactRange();
    for (let i = 0; i < 1000; i++) {
      const e = Buffer.from(`e${i}`);
      tree.appendLeaf(leafHash(e));
      range.appendEntry(e);
      expect(range.root()).toEqual(tree.root());
    }
    expect(CompactRange.fromJSON(JSON.parse(JSON.stringify(range.toJSON()))).root()).toEqual(tree.root());
  });
});
