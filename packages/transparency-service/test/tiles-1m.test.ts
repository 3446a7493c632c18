/**
 * tlog-tiles at a million leaves: the log is built straight through the batch-commit path
 * (test/helpers/ts-build-log.ts), then the real service serves it; a reader of tiles only gets the
 * checkpoint's root and reconstructs the inclusion proofs of receipts the service hands out.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint, parseVerifierKey } from '@scitt-actions/core/checkpoint';
import { decodeInclusionProof, readReceiptHeaders } from '@scitt-actions/core/receipt';
import { TileReader, httpTileFetch } from '@scitt-actions/core/tiles';
import { type ServiceProcess, startService } from '../../../test/helpers/transparency-service.ts';
import { type BuiltLog, buildLog, entryIdAt } from '../../../test/helpers/ts-build-log.ts';

const N = 1_000_000;

describe('a tiles-only verifier at 1,000,000 leaves', () => {
  let ts: ServiceProcess;
  let log: BuiltLog;
  let dataDir = '';
  beforeAll(async () => {
    // tmpfs when there is one: the test is about tiles, not about the disk's fsync.
    dataDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'scitt-tiles-1m-'));
    log = await buildLog(dataDir, N, { batch: 50_000 });
    ts = await startService({ dataDir });
  }, 400_000);
  afterAll(async () => {
    expect(await ts.stop()).toBe(0);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('gets the checkpoint root from tiles and reconstructs sampled receipts', async () => {
    const noteKey = parseVerifierKey((await (await fetch(`${ts.url}/checkpoint/key`)).text()).trim());
    const checkpoint = openCheckpoint(new Uint8Array(await (await fetch(`${ts.url}/checkpoint`)).arrayBuffer()), noteKey);
    expect(checkpoint.size).toBe(N);
    const reader = new TileReader(httpTileFetch(ts.url));
    expect(Buffer.from(await reader.root(N)).equals(Buffer.from(checkpoint.root))).toBe(true);
    const sample = [0, 1, 255, 256, 65_535, 65_536, 999_999, ...Array.from({ length: 93 }, (_, k) => Math.floor(((k + 1) * N) / 94))];
    for (const i of sample) {
      const r = await fetch(`${ts.url}/entries/${entryIdAt(log, i)}`);
      expect(r.status).toBe(200);
      const proof = decodeInclusionProof((readReceiptHeaders(new Uint8Array(await r.arrayBuffer())).vdp.get(-1) as Uint8Array[])[0]!);
      expect(await reader.inclusionProof(i, proof.treeSize)).toEqual(proof);
    }
    // Proofs at the full size too, and consistency from an earlier batch.
    for (const i of [3, 500_000, 999_999]) expect((await reader.inclusionProof(i, N)).path.length).toBe(20);
    expect((await reader.consistencyProof(50_000, N)).path.length).toBeGreaterThan(0);
  }, 120_000);
});
