/**
 * The log published the C2SP way, through the real service process: the checkpoint verifies with the
 * note key and carries the root the receipts sign; a reader of tiles only reconstructs every
 * inclusion proof the service handed out, at every tree size from 1 to 1,000; `--tiles-dir` holds the
 * same bytes as the service serves; caching headers as tlog-tiles asks.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey, publicKey } from '@scitt-actions/core/cose';
import { openCheckpoint, parseVerifierKey } from '@scitt-actions/core/checkpoint';
import { keySigner, thumbprint } from '@scitt-actions/core/cose';
import { leafHash } from '@scitt-actions/core/merkle';
import { decodeInclusionProof, readReceiptHeaders, statementEntry, verifyReceipt } from '@scitt-actions/core/receipt';
import { createSignedStatement } from '@scitt-actions/core/statement';
import { TileReader, httpTileFetch, tilesForSize, tilePath, entryBundlePath, decodeEntryBundle } from '@scitt-actions/core/tiles';
import { type ServiceProcess, startService } from '../../../test/helpers/transparency-service.ts';
import { buildLog, entryIdAt } from '../../../test/helpers/ts-build-log.ts';
import { registerForReceipt, serviceKeys } from '../../../test/helpers/ts-tools.ts';
import { post, problemOf } from './helpers.ts';

const issuer = generateKey('P-256');
const statement = (i: number) =>
  createSignedStatement({ payload: new TextEncoder().encode(`{"n":${i}}`), contentType: 'application/json', signer: keySigner(issuer), iss: 'https://issuer.example', sub: `pkg:generic/app@1.0.${i}`, kid: thumbprint(issuer) });

const get = async (url: string) => {
  const r = await fetch(url);
  return { status: r.status, headers: r.headers, body: new Uint8Array(await r.arrayBuffer()) };
};

describe('checkpoints and tiles served by the service', () => {
  let ts: ServiceProcess;
  const tilesDir = mkdtempSync(join(tmpdir(), 'scitt-tiles-'));
  beforeAll(async () => {
    ts = await startService({ issuers: [publicKey(issuer)], args: ['--tiles-dir', tilesDir, '--origin', 'ts.example/log', '--rate', '0'] });
  });
  afterAll(async () => {
    expect(await ts.stop()).toBe(0);
  });

  it('serves a checkpoint whose root is the one its receipts sign, and the same bytes in --tiles-dir', async () => {
    const receipts: Uint8Array[] = [];
    const entries: Uint8Array[] = [];
    for (let i = 0; i < 300; i += 20) {
      // 20 clients at a time: several batches, leaves in the order the service chose
      const chunk = await Promise.all(Array.from({ length: 20 }, async (_, j) => {
        const s = await statement(i + j);
        return { receipt: await registerForReceipt(ts.url, s), entry: statementEntry(s) };
      }));
      for (const c of chunk) {
        receipts.push(c.receipt);
        entries.push(c.entry);
      }
    }
    const proofOf = (r: Uint8Array) => decodeInclusionProof((readReceiptHeaders(r).vdp.get(-1) as Uint8Array[])[0]!);
    const atLeaf = new Map(receipts.map((r, i) => [proofOf(r).leafIndex, entries[i]!]));
    const newest = receipts.reduce((a, r, i) => (proofOf(r).treeSize > proofOf(receipts[a]!).treeSize ? i : a), 0);
    const vkey = (await (await fetch(`${ts.url}/checkpoint/key`)).text()).trim();
    const noteKey = parseVerifierKey(vkey);
    expect(noteKey.name).toBe('ts.example/log');
    expect(ts.stderr()).toContain(vkey); // logged at start, for operators to publish
    const cp = await get(`${ts.url}/checkpoint`);
    expect(cp.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(cp.headers.get('cache-control')).toMatch(/no-cache/);
    const checkpoint = openCheckpoint(cp.body, noteKey);
    const keys = await serviceKeys(ts.url);
    const size = checkpoint.size;
    expect(size).toBeGreaterThanOrEqual(300); // the policy statement is leaf 0
    const last = verifyReceipt(receipts[newest]!, entries[newest]!, keys);
    expect(last.treeSize).toBe(size);
    expect(Buffer.from(last.root!).equals(Buffer.from(checkpoint.root))).toBe(true);

    // Tiles only: roots and every receipt's inclusion proof.
    const reader = new TileReader(httpTileFetch(ts.url));
    for (const [i, receipt] of receipts.entries()) {
      const proof = proofOf(receipt);
      expect(await reader.inclusionProof(proof.leafIndex, proof.treeSize)).toEqual(proof);
      expect(Buffer.from(await reader.root(proof.treeSize)).equals(Buffer.from(verifyReceipt(receipt, entries[i]!, keys).root!))).toBe(true);
    }
    // Entry bundles hold the entries exactly as hashed into the leaves.
    const bundle = await reader.entries(1, size);
    expect(bundle[0]).toEqual(atLeaf.get(256)); // leaf 0 is the policy
    const leaf0Tile = await get(`${ts.url}/${tilePath(0, 1, size - 256)}`);
    expect(leaf0Tile.headers.get('cache-control')).toContain('immutable');
    expect(leaf0Tile.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(leaf0Tile.body.subarray(0, 32)).equals(Buffer.from(leafHash(atLeaf.get(256)!)))).toBe(true);

    // The directory: written once the service saw the new size.
    let dirCheckpoint = '';
    for (let t = 0; t < 100 && !dirCheckpoint.includes(`\n${size}\n`); t++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        dirCheckpoint = readFileSync(join(tilesDir, 'checkpoint'), 'utf8');
      } catch {
        /* not yet */
      }
    }
    expect(openCheckpoint(dirCheckpoint, noteKey).size).toBe(size);
    for (const t of tilesForSize(size)) {
      const served = await get(`${ts.url}/${tilePath(t.level, t.index, t.width)}`);
      expect(Buffer.from(readFileSync(join(tilesDir, tilePath(t.level, t.index, t.width)))).equals(Buffer.from(served.body))).toBe(true);
      if (t.level === 0) {
        const b = await get(`${ts.url}/${entryBundlePath(t.index, t.width)}`);
        expect(Buffer.from(readFileSync(join(tilesDir, entryBundlePath(t.index, t.width)))).equals(Buffer.from(b.body))).toBe(true);
        expect(decodeEntryBundle(b.body, t.width)).toHaveLength(t.width);
      }
    }
  });

  it('refuses at registration a statement whose entry an entry bundle cannot carry (65,535 bytes), and publishes the largest that fits', async () => {
    const padded = (n: number) => createSignedStatement({ payload: Buffer.from(`{"pad":"${'a'.repeat(n)}"}`), contentType: 'application/json', signer: keySigner(issuer), iss: 'https://issuer.example', sub: `pkg:generic/big@${n}`, kid: thumbprint(issuer) });
    const tooBig = await padded(70_000);
    const r = await post(ts.url, tooBig);
    expect(r.status).toBe(413);
    expect((await problemOf(r)).detail).toMatch(/log entry .*at most 65535 bytes.*tlog-tiles.*Hash Envelope statement instead \(scitt statement create --hash-envelope\)/);
    // Just under the cap: registered, and its entry bundle carries it whole.
    let fits = await padded(65_000);
    fits = await padded(65_000 + 0xffff - statementEntry(fits).length);
    expect(statementEntry(fits).length).toBe(0xffff);
    const proof = decodeInclusionProof((readReceiptHeaders(await registerForReceipt(ts.url, fits)).vdp.get(-1) as Uint8Array[])[0]!);
    const bundle = await new TileReader(httpTileFetch(ts.url)).entries(Math.floor(proof.leafIndex / 256), proof.treeSize);
    expect(Buffer.from(bundle[proof.leafIndex % 256]!).equals(Buffer.from(statementEntry(fits)))).toBe(true);
  });

  it('answers 404 beyond the tree and for paths that are not tile paths', async () => {
    expect((await get(`${ts.url}/tile/0/x001/000`)).status).toBe(404);
    expect((await get(`${ts.url}/tile/0/1`)).status).toBe(404);
    expect((await get(`${ts.url}/tile/entries/000.p/0`)).status).toBe(404);
  });
});

describe('a tiles-only verifier at every tree size from 1 to 1,000', () => {
  let ts: ServiceProcess;
  let log: Awaited<ReturnType<typeof buildLog>>;
  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'scitt-tiles-1k-'));
    log = await buildLog(dataDir, 1000, { batch: 1 }); // one batch per leaf: a receipt at every size
    ts = await startService({ dataDir });
  }, 120_000);
  afterAll(async () => {
    expect(await ts.stop()).toBe(0);
  });

  it('reconstructs the inclusion proof of every receipt the service hands out', async () => {
    const reader = new TileReader(httpTileFetch(ts.url));
    for (let i = 0; i < 1000; i++) {
      const r = await fetch(`${ts.url}/entries/${entryIdAt(log, i)}`);
      expect(r.status).toBe(200);
      const proof = decodeInclusionProof((readReceiptHeaders(new Uint8Array(await r.arrayBuffer())).vdp.get(-1) as Uint8Array[])[0]!);
      expect(proof.treeSize).toBe(i + 1);
      expect(await reader.inclusionProof(i, i + 1)).toEqual(proof);
    }
  }, 120_000);
});
