/**
 * A client that reads only tiles: roots, inclusion and consistency proofs at any size it was told
 * of (by a verified checkpoint), computed by the same RFC 9162 code the service uses, over a node
 * store backed by fetched tiles. A node at tree level h is hashed up from the tile at level
 * floor(h/8); the tiles a computation needs are fetched on demand and kept for the reader's life.
 */
import { MerkleError, StorageError } from '../errors.ts';
import { nodeHash } from '../merkle/hash.ts';
import type { NodeStore } from '../merkle/store.ts';
import { readLimited } from '../storage/http.ts';
import { type ConsistencyProof, type InclusionProof, MerkleTree } from '../merkle/tree.ts';
import { TILE_HEIGHT, TILE_WIDTH, TilesError, decodeEntryBundle, entryBundlePath, fullTileCount, partialTileWidth, tileHashes, tilePath } from './tiles.ts';

/** Fetches a path below the log prefix (`tile/0/000`); undefined when the resource does not exist. */
export type TileFetch = (path: string) => Promise<Uint8Array | undefined>;

class MissingTile extends Error {
  readonly path: string;
  readonly width: number;
  constructor(path: string, width: number) {
    super(`tile ${path} not fetched yet`);
    this.path = path;
    this.width = width;
  }
}

class TileNodeStore implements NodeStore {
  readonly size: number;
  readonly tiles: Map<string, Uint8Array[]>;

  constructor(size: number, tiles: Map<string, Uint8Array[]>) {
    this.size = size;
    this.tiles = tiles;
  }

  getSize(): number {
    return this.size;
  }

  getNode(level: number, index: number): Uint8Array | undefined {
    const tileLevel = Math.floor(level / TILE_HEIGHT);
    const sub = level - tileLevel * TILE_HEIGHT;
    const span = 2 ** sub;
    const first = index * span; // position at tree level 8·tileLevel
    const tileIndex = Math.floor(first / TILE_WIDTH);
    const width = tileIndex < fullTileCount(this.size, tileLevel) ? TILE_WIDTH : partialTileWidth(this.size, tileLevel);
    const offset = first % TILE_WIDTH;
    if (offset + span > width) return undefined; // not a complete node at this size
    const path = tilePath(tileLevel, tileIndex, width);
    const hashes = this.tiles.get(path);
    if (!hashes) throw new MissingTile(path, width);
    let row = hashes.slice(offset, offset + span);
    while (row.length > 1) {
      const next: Uint8Array[] = [];
      for (let i = 0; i < row.length; i += 2) next.push(nodeHash(row[i]!, row[i + 1]!));
      row = next;
    }
    return row[0];
  }

  appendNodes(): void {
    throw new MerkleError('ERR_MERKLE_RANGE', 'a tile-backed tree is read-only');
  }
}

export class TileReader {
  readonly #fetch: TileFetch;
  readonly #tiles = new Map<string, Uint8Array[]>();
  /** tiles fetched so far (for tests and progress) */
  fetched = 0;

  constructor(fetch: TileFetch) {
    this.#fetch = fetch;
  }

  async #load(path: string, width: number): Promise<void> {
    const bytes = await this.#fetch(path);
    if (!bytes) throw new TilesError('ERR_TILES', `the log does not serve ${path}, which its checkpoint requires`);
    this.#tiles.set(path, tileHashes(bytes, width));
    this.fetched++;
  }

  /** Runs a tree computation at `size`, fetching each tile it turns out to need. */
  async #compute<T>(size: number, fn: (tree: MerkleTree) => T): Promise<T> {
    for (;;) {
      try {
        return fn(new MerkleTree(new TileNodeStore(size, this.#tiles)));
      } catch (e) {
        if (!(e instanceof MissingTile)) throw e;
        await this.#load(e.path, e.width);
      }
    }
  }

  root(size: number): Promise<Uint8Array> {
    return this.#compute(size, (t) => t.root(size));
  }

  inclusionProof(leafIndex: number, size: number): Promise<InclusionProof> {
    return this.#compute(size, (t) => t.inclusionProof(leafIndex, size));
  }

  consistencyProof(size1: number, size2: number): Promise<ConsistencyProof> {
    return this.#compute(size2, (t) => t.consistencyProof(size1, size2));
  }

  /** Leaf hashes [start, end) at a tree of `size` leaves, from level-0 tiles. */
  async leafHashes(start: number, end: number, size: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (let i = start; i < end; i++) out.push(await this.#compute(size, (t) => t.leafHash(i)));
    return out;
  }

  /** The entries of bundle `index` in a tree of `size` leaves. */
  async entries(index: number, size: number): Promise<Uint8Array[]> {
    const width = index < fullTileCount(size, 0) ? TILE_WIDTH : partialTileWidth(size, 0);
    if (width === 0) throw new TilesError('ERR_TILES', `a tree of ${size} leaves has no entry bundle ${index}`);
    const path = entryBundlePath(index, width);
    const bytes = await this.#fetch(path);
    if (!bytes) throw new TilesError('ERR_TILES', `the log does not serve ${path}, which its checkpoint requires`);
    return decodeEntryBundle(bytes, width);
  }
}

/** The largest tlog-tiles resource: a bundle of 256 entries of 65,535 bytes, each behind a 2-byte length. */
export const MAX_TILE_RESOURCE = 256 * (2 + 0xffff);

/**
 * Reads a response body of at most `max` bytes, refusing a larger one as soon as it is announced or
 * has arrived (the memory it takes is bounded by `max`, not by what a server chooses to send): the
 * storage backends' reader, its refusal reported as a tiles error.
 */
export async function readBounded(res: Response, max: number, what: string): Promise<Uint8Array> {
  try {
    return await readLimited(res.body, max, what, res.headers.get('content-length'));
  } catch (e) {
    if (e instanceof StorageError) throw new TilesError('ERR_TILES', e.message, { cause: e });
    throw e;
  }
}

/** A TileFetch over HTTP(S) below `prefix`, refusing redirects off it and bounding each body. */
export function httpTileFetch(prefix: string, o: { timeoutMs?: number } = {}): TileFetch {
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return async (path) => {
    const res = await fetch(new URL(path, base), { redirect: 'error', signal: AbortSignal.timeout(o.timeoutMs ?? 15_000) });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new TilesError('ERR_TILES', `GET ${base}${path} answered ${res.status}`);
    // A hash tile is at most 8 KiB; a bundle of 256 entries of 64 KiB is at most ~16 MiB.
    return readBounded(res, MAX_TILE_RESOURCE, `GET ${base}${path}`);
  };
}
