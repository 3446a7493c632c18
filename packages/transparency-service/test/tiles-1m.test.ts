/**
 * tlog-tiles at a million leaves, in process (a service process would spend the test's time on its
 * start-up integrity check): the log is built straight through the batch-commit path
 * (test/helpers/ts-build-log.ts), tiles and bundles come from the same CheckpointPublisher methods
 * the HTTP routes call, and the proofs the service puts in receipts come from the same tree over the
 * same reader the log uses. A reader of tiles only must get the checkpoint's root and every sampled proof.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEd25519Seed, openCheckpoint, parseVerifierKey } from '@scitt-actions/core/checkpoint';
import { MerkleTree } from '@scitt-actions/core/merkle';
import { TileReader, parseTilePath } from '@scitt-actions/core/tiles';
import { CheckpointPublisher } from '../src/checkpoints.ts';
import { LogDatabase } from '../src/database.ts';
import { SqliteNodeStore } from '../src/sqlite-node-store.ts';
import { buildLog } from '../../../test/helpers/ts-build-log.ts';

const N = 1_000_000;

describe('a tiles-only verifier at 1,000,000 leaves', () => {
  let dataDir = '';
  let publisher: CheckpointPublisher;
  let db: LogDatabase;
  beforeAll(async () => {
    // tmpfs when there is one: the test is about tiles, not about the disk's fsync.
    dataDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'scitt-tiles-1m-'));
    await buildLog(dataDir, N, { batch: 50_000 });
    publisher = new CheckpointPublisher({ dataDir, noteSeed: generateEd25519Seed(), origin: 'ts.example/1m' });
    db = LogDatabase.openReader(dataDir);
  }, 600_000);
  afterAll(() => {
    publisher?.close();
    db?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('gets the checkpoint root from tiles and reconstructs the proofs of sampled receipts', async () => {
    const checkpoint = openCheckpoint(publisher.checkpoint(), parseVerifierKey(publisher.verifierKey));
    expect(checkpoint.size).toBe(N);
    const reader = new TileReader(async (path) => {
      const ref = parseTilePath(path)!;
      return ref.kind === 'entries' ? publisher.entryBundle(ref.index, ref.width) : publisher.hashTile(ref.level, ref.index, ref.width);
    });
    expect(Buffer.from(await reader.root(N)).equals(Buffer.from(checkpoint.root))).toBe(true);
    const tree = new MerkleTree(new SqliteNodeStore(db));
    const sample = [0, 1, 255, 256, 65_535, 65_536, 999_999, ...Array.from({ length: 93 }, (_, k) => Math.floor(((k + 1) * N) / 94))];
    for (const i of sample) {
      const e = db.entryByIndex(i)!;
      expect(await reader.inclusionProof(i, e.treeSize)).toEqual(tree.inclusionProof(i, e.treeSize));
      expect(await reader.inclusionProof(i, N)).toEqual(tree.inclusionProof(i, N));
    }
    expect(await reader.consistencyProof(50_000, N)).toEqual(tree.consistencyProof(50_000, N));
    expect((await reader.entries(3905, N)).length).toBe(256);
    expect((await reader.entries(3906, N)).length).toBe(N % 256);
  }, 300_000);
});
