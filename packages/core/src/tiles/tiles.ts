/**
 * C2SP tlog-tiles (c2sp.org/tlog-tiles): the log as static resources. A tile at level L, index N
 * holds up to 256 consecutive Merkle Tree Hashes of subtrees of 256^L leaves, i.e. the stored
 * complete nodes at tree level 8·L; entry bundles hold the entries of a level-0 tile, each behind a
 * big-endian uint16 length. Paths: `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`, with N written
 * as zero-padded 3-digit elements, all but the last prefixed `x` (1234067 → x001/x234/067).
 */
import { ScittError } from '../errors.ts';
import { HASH_SIZE } from '../merkle/hash.ts';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;
/** Entry bundles carry a uint16 length per entry. */
export const MAX_BUNDLE_ENTRY = 0xffff;
export const MAX_TILE_LEVEL = 63;

export class TilesError extends ScittError {}

const POW256 = (l: number) => 256 ** l;

/** N as path elements: `x001/x234/067`. */
export function encodeTileIndex(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new TilesError('ERR_TILES', `tile index must be a non-negative integer, got ${n}`);
  const groups: string[] = [];
  let v = n;
  do {
    groups.unshift(String(v % 1000).padStart(3, '0'));
    v = Math.floor(v / 1000);
  } while (v > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

function widthSuffix(width: number | undefined): string {
  if (width === undefined || width === TILE_WIDTH) return '';
  if (!Number.isInteger(width) || width < 1 || width > 255) throw new TilesError('ERR_TILES', `partial tile width must be 1..255, got ${width}`);
  return `.p/${width}`;
}

/** `tile/<L>/<N>[.p/<W>]`; width 256 (or none) names the full tile. */
export function tilePath(level: number, index: number, width?: number): string {
  if (!Number.isInteger(level) || level < 0 || level > MAX_TILE_LEVEL) throw new TilesError('ERR_TILES', `tile level must be 0..63, got ${level}`);
  return `tile/${level}/${encodeTileIndex(index)}${widthSuffix(width)}`;
}

export function entryBundlePath(index: number, width?: number): string {
  return `tile/entries/${encodeTileIndex(index)}${widthSuffix(width)}`;
}

export type TileRef = { kind: 'hashes'; level: number; index: number; width: number } | { kind: 'entries'; index: number; width: number };

/** Reads a path below the prefix (`tile/...`) exactly as tilePath/entryBundlePath write it; undefined if it is not one. */
export function parseTilePath(path: string): TileRef | undefined {
  const m = /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/)*[0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/.exec(path);
  if (!m) return undefined;
  const groups = m[2]!.split('/').map((g) => g.replace('x', ''));
  // No leading zero groups: the encoding of N is unique.
  if (groups.length > 1 && groups[0] === '000') return undefined;
  if (groups.length > 6) return undefined;
  const index = groups.reduce((acc, g) => acc * 1000 + Number(g), 0);
  const width = m[3] === undefined ? TILE_WIDTH : Number(m[3]);
  if (width > 255 && m[3] !== undefined) return undefined;
  if (m[1] === 'entries') return { kind: 'entries', index, width };
  const level = Number(m[1]);
  if (level > MAX_TILE_LEVEL) return undefined;
  return { kind: 'hashes', level, index, width };
}

/** Tiles of level `level` that are full in a tree of `size` leaves. */
export const fullTileCount = (size: number, level: number): number => Math.floor(size / POW256(level + 1));
/** Width of the partial tile at `level` for `size` (0: there is none). */
export const partialTileWidth = (size: number, level: number): number => Math.floor(size / POW256(level)) % TILE_WIDTH;

/** Every tile (level, index, width) that a tree of `size` leaves publishes; full tiles first, per level. */
export function* tilesForSize(size: number, fromSize = 0): Generator<{ level: number; index: number; width: number }> {
  for (let level = 0; POW256(level) <= size; level++) {
    const full = fullTileCount(size, level);
    for (let n = fullTileCount(fromSize, level); n < full; n++) yield { level, index: n, width: TILE_WIDTH };
    const w = partialTileWidth(size, level);
    if (w > 0) yield { level, index: full, width: w };
  }
}

/** Entry bundle bytes: each entry as a big-endian uint16 length and its bytes. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const e of entries) {
    if (e.length > MAX_BUNDLE_ENTRY) throw new TilesError('ERR_TILES', `an entry of ${e.length} bytes does not fit an entry bundle (at most ${MAX_BUNDLE_ENTRY}, c2sp.org/tlog-tiles)`);
    total += 2 + e.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const e of entries) {
    out[at] = e.length >> 8;
    out[at + 1] = e.length & 0xff;
    out.set(e, at + 2);
    at += 2 + e.length;
  }
  return out;
}

export function decodeEntryBundle(bytes: Uint8Array, expected: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (out.length === TILE_WIDTH) throw new TilesError('ERR_TILES', 'entry bundle has more than 256 entries');
    if (at + 2 > bytes.length) throw new TilesError('ERR_TILES', 'entry bundle ends inside a length prefix');
    const n = (bytes[at]! << 8) | bytes[at + 1]!;
    if (at + 2 + n > bytes.length) throw new TilesError('ERR_TILES', `entry bundle ends inside entry ${out.length} (needs ${n} bytes)`);
    out.push(bytes.subarray(at + 2, at + 2 + n));
    at += 2 + n;
  }
  if (out.length !== expected) throw new TilesError('ERR_TILES', `entry bundle has ${out.length} entries, expected ${expected}`);
  return out;
}

/** Splits a hash tile into its hashes, checking it is exactly `width` hashes. */
export function tileHashes(bytes: Uint8Array, width: number): Uint8Array[] {
  if (bytes.length !== width * HASH_SIZE) throw new TilesError('ERR_TILES', `tile is ${bytes.length} bytes; a tile of width ${width} is ${width * HASH_SIZE}`);
  return Array.from({ length: width }, (_, i) => bytes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
}
