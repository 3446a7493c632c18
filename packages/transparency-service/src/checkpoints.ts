/**
 * The log published the C2SP way: signed checkpoints (c2sp.org/tlog-checkpoint) at every tree size
 * the service committed a batch at, and the tree as tiles and entry bundles (c2sp.org/tlog-tiles),
 * read from committed state through a connection of its own. A checkpoint at size n carries the same
 * root that the receipts of the batch at n sign (both are the batch's stored root). With a tiles
 * directory, everything is also written there as static files, tiles before the checkpoint that
 * needs them, each file whole (temporary file, then rename). The latest cosigned checkpoint is kept
 * in the data directory (COSIGNED_FILE), so a restart serves the cosignatures collected before it.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type NoteSigner, checkpointBody, ed25519Signer, parseCheckpointBody, parseNote, signNote } from '@scitt-actions/core/checkpoint';
import { type ConsistencyProof, EMPTY_ROOT, MerkleTree, type NodeStore, HASH_SIZE, digestsEqual } from '@scitt-actions/core/merkle';
import { statementEntry } from '@scitt-actions/core/receipt';
import { MAX_BUNDLE_ENTRY, TILE_WIDTH, encodeEntryBundle, entryBundlePath, tilePath, tilesForSize } from '@scitt-actions/core/tiles';
import { DB_FILE } from './database.ts';
import { HttpProblem } from './problem.ts';

/** The latest checkpoint with the cosignatures collected on it, as served: kept across restarts. */
export const COSIGNED_FILE = 'checkpoint-cosigned';

/**
 * The committed tree as the publisher reads it, from either store: the SQLite file in the data
 * directory (sqliteCommittedTree), or a PostgreSQL replica's followed tree (PostgresLog.committedTree).
 */
export interface CommittedTree {
  /** the committed tree size */
  size(): number;
  /** the root at a committed size (undefined beyond it; SQLite: at batch sizes only) */
  rootAt(size: number): Uint8Array | undefined;
  /** the hash of complete subtree (level, index), within the committed tree */
  node(level: number, index: number): Uint8Array | undefined;
  /** hashes of level's complete subtrees from..to-1, in order */
  nodes(level: number, from: number, to: number): Uint8Array[];
  /** the statements at leaves from..to-1, in order */
  statements(from: number, to: number): Uint8Array[] | Promise<Uint8Array[]>;
  close(): void;
}

/** The SQLite store's committed tree, through a read-only connection of its own. */
export function sqliteCommittedTree(dataDir: string): CommittedTree {
  const db = new DatabaseSync(join(dataDir, DB_FILE), { readOnly: true });
  db.exec('PRAGMA busy_timeout = 5000');
  const q: Record<'size' | 'root' | 'nodes' | 'node' | 'entries', StatementSync> = {
    size: db.prepare('SELECT COALESCE(MAX(tree_size), 0) AS n FROM batches'),
    root: db.prepare('SELECT root FROM batches WHERE tree_size = ?'),
    nodes: db.prepare('SELECT idx, hash FROM nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx'),
    node: db.prepare('SELECT hash FROM nodes WHERE level = ? AND idx = ?'),
    entries: db.prepare('SELECT leaf_index, statement FROM entries WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index'),
  };
  return {
    size: () => Number((q.size.get() as { n: number }).n),
    rootAt: (size) => {
      const r = q.root.get(size) as { root: Uint8Array } | undefined;
      return r ? new Uint8Array(r.root) : undefined;
    },
    node: (level, idx) => (q.node.get(level, idx) as { hash: Uint8Array } | undefined)?.hash,
    nodes: (level, from, to) => (q.nodes.all(level, from, to) as { hash: Uint8Array }[]).map((r) => r.hash),
    statements: (from, to) => (q.entries.all(from, to) as { statement: Uint8Array }[]).map((r) => new Uint8Array(r.statement)),
    close: () => db.close(),
  };
}

export interface PublisherOptions {
  dataDir: string;
  /** what to publish; default: the SQLite log in dataDir */
  tree?: CommittedTree;
  /** the Ed25519 seed of the note key */
  noteSeed: Uint8Array;
  /** checkpoint origin; may be set later (before the first request), like the log's iss */
  origin?: string;
  tilesDir?: string;
}

export class CheckpointPublisher {
  readonly #tree: CommittedTree;
  readonly #seed: Uint8Array;
  readonly #dataDir: string;
  #signer: (NoteSigner & { verifierKey: string }) | undefined;
  #origin = '';
  readonly tilesDir: string | undefined;
  #written = -1;
  /** signed checkpoints by size (without cosignatures) */
  readonly #signed = new Map<number, string>();
  /** cosignature lines collected from witnesses, by tree size */
  readonly cosignatures = new Map<number, string[]>();
  /** the size whose checkpoint is published: the latest, or with witnesses the latest they answered for */
  #publishedSize: number | undefined;

  constructor(o: PublisherOptions) {
    this.#tree = o.tree ?? sqliteCommittedTree(o.dataDir);
    this.#seed = o.noteSeed;
    this.#dataDir = o.dataDir;
    this.tilesDir = o.tilesDir;
    if (o.origin) this.origin = o.origin;
  }

  get origin(): string {
    return this.#origin;
  }

  set origin(origin: string) {
    this.#signer = ed25519Signer(origin, this.#seed);
    this.#origin = origin;
    this.#signed.clear();
  }

  /** `<origin>+<key id>+<base64 key>`: what witnesses and relying parties configure for this log. */
  get verifierKey(): string {
    return this.#need().verifierKey;
  }

  #need(): NoteSigner & { verifierKey: string } {
    if (!this.#signer) throw new Error('checkpoint origin not set');
    return this.#signer;
  }

  close(): void {
    this.#tree.close();
  }

  /** The committed tree size (the latest batch). */
  size(): number {
    return this.#tree.size();
  }

  /** The root at a committed batch size (the one its receipts sign). */
  rootAt(size: number): Uint8Array | undefined {
    if (size === 0) return EMPTY_ROOT;
    return this.#tree.rootAt(size);
  }

  /** RFC 9162 consistency proof between two committed sizes (for witnesses), from this connection's view. */
  consistencyProof(from: number, to: number): ConsistencyProof {
    const tree = this.#tree;
    const store: NodeStore = {
      getSize: () => to,
      getNode: (level, idx) => tree.node(level, idx),
      appendNodes: () => {
        throw new Error('read-only');
      },
    };
    return new MerkleTree(store).consistencyProof(from, to);
  }

  /** The checkpoint at a committed size, signed by the log's note key only. */
  signedCheckpoint(size: number): string | undefined {
    const cached = this.#signed.get(size);
    if (cached) return cached;
    const root = this.rootAt(size);
    if (!root) return undefined;
    const note = signNote(checkpointBody({ origin: this.origin, size, root }), [this.#need()]);
    if (this.#signed.size > 64) this.#signed.clear();
    this.#signed.set(size, note);
    return note;
  }

  /** With witnesses configured, the published size is set by the collector; else it is the committed size. */
  set publishedSize(size: number) {
    this.#publishedSize = size;
  }

  /** The checkpoint as served at /checkpoint: the published size, with the cosignatures collected for it. */
  checkpoint(): string {
    const size = this.#publishedSize ?? this.size();
    const note = this.signedCheckpoint(size)!;
    return note + (this.cosignatures.get(size) ?? []).join('');
  }

  /** Keeps the checkpoint at `size` with its cosignatures in the data directory (written whole and fsynced). */
  saveCosigned(size: number): void {
    const lines = this.cosignatures.get(size);
    const note = this.signedCheckpoint(size);
    if (!lines?.length || !note) return;
    const path = join(this.#dataDir, COSIGNED_FILE);
    const tmp = `${path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeSync(fd, note + lines.join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  }

  /**
   * Takes back the cosignatures kept by saveCosigned when that checkpoint is still this log's (same
   * origin, and the root stored at its size); returns its size, or undefined when there is none.
   */
  restoreCosigned(): number | undefined {
    let text: string;
    try {
      text = readFileSync(join(this.#dataDir, COSIGNED_FILE), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const note = parseNote(text);
      const c = parseCheckpointBody(note.text);
      const root = this.rootAt(c.size);
      if (c.origin !== this.origin || !root || !digestsEqual(root, c.root)) return undefined;
      const lines = note.signatures.filter((sig) => sig.name !== this.origin).map((sig) => sig.line);
      if (lines.length === 0) return undefined;
      this.cosignatures.set(c.size, lines);
      return c.size;
    } catch {
      return undefined; // a file this version cannot read: cosignatures are collected again
    }
  }

  /** A hash tile, if the committed tree has it (partial tiles of any width up to the committed one). */
  hashTile(level: number, index: number, width: number): Uint8Array | undefined {
    const size = this.size();
    const span = 256 ** level;
    if ((index * TILE_WIDTH + width) * span > size) return undefined;
    const rows = this.#tree.nodes(8 * level, index * TILE_WIDTH, index * TILE_WIDTH + width);
    if (rows.length !== width) throw new Error(`node store has ${rows.length} of the ${width} hashes of ${tilePath(level, index, width)}`);
    const out = new Uint8Array(width * HASH_SIZE);
    rows.forEach((hash, i) => out.set(hash, i * HASH_SIZE));
    return out;
  }

  /** An entry bundle: the entries exactly as hashed into the leaves (statements with an empty unprotected header). */
  entryBundle(index: number, width: number): Uint8Array | undefined | Promise<Uint8Array | undefined> {
    if (index * TILE_WIDTH + width > this.size()) return undefined;
    const statements = this.#tree.statements(index * TILE_WIDTH, index * TILE_WIDTH + width);
    return statements instanceof Promise ? statements.then((rows) => bundleOf(index, width, rows)) : bundleOf(index, width, statements);
  }

  /**
   * Writes tiles, entry bundles and then the checkpoint of the published size to the tiles
   * directory: full tiles completed since the last write, and the partial tiles of this size (kept
   * afterwards, as clients holding an older checkpoint may still need them). Returns the size written.
   */
  async writeTilesDir(): Promise<number> {
    const dir = this.tilesDir;
    if (!dir) return -1;
    const size = this.#publishedSize ?? this.size();
    if (this.#written < 0) this.#written = Math.min(writtenSize(dir, this.origin), size);
    if (size === this.#written && size > 0) return size;
    for (const t of tilesForSize(size, this.#written)) {
      writeWhole(join(dir, tilePath(t.level, t.index, t.width)), this.hashTile(t.level, t.index, t.width)!);
      if (t.level === 0) writeWhole(join(dir, entryBundlePath(t.index, t.width)), (await this.entryBundle(t.index, t.width))!);
    }
    writeWhole(join(dir, 'checkpoint'), Buffer.from(this.checkpoint(), 'utf8'));
    this.#written = size;
    return size;
  }
}

function bundleOf(index: number, width: number, rows: Uint8Array[]): Uint8Array {
  if (rows.length !== width) throw new Error(`log has ${rows.length} of the ${width} entries of ${entryBundlePath(index, width)}`);
  const entries = rows.map((r) => statementEntry(r));
  const big = entries.findIndex((e) => e.length > MAX_BUNDLE_ENTRY);
  if (big >= 0) {
    throw new HttpProblem(500, 'Entry Too Large For Tiles', `entry ${index * TILE_WIDTH + big} is ${entries[big]!.length} bytes; tlog-tiles entry bundles carry entries of at most ${MAX_BUNDLE_ENTRY} bytes`);
  }
  return encodeEntryBundle(entries);
}

/** The size of the checkpoint already in a tiles directory for this origin (0 when none). */
function writtenSize(dir: string, origin: string): number {
  try {
    const [o, size] = readFileSync(join(dir, 'checkpoint'), 'utf8').split('\n');
    return o === origin && /^(0|[1-9][0-9]*)$/.test(size ?? '') ? Number(size) : 0;
  } catch {
    return 0;
  }
}

function writeWhole(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}
