/**
 * The published log checked by an implementation that is not ours: test/c2sp-go, on Go's
 * golang.org/x/mod/sumdb/note (note.Open with the service's note key) and sumdb/tlog
 * (TileHashReader over tlog-tiles paths, TreeHash, ProveRecord/CheckRecord on every entry of the
 * entry bundles, ProveTree/CheckTree between two checkpoints), with tlog-cosignature/v1 checked from
 * the C2SP text. Against a live service with a witness (across a full tile and a level-1 tile) and
 * against its --tiles-dir; a tampered entry and a wrong key must make it fail.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ed25519Cosigner, ed25519Signer, generateEd25519Seed, openCheckpoint, parseVerifierKey } from '@scitt-actions/core/checkpoint';
import { generateKey, keySigner, publicKey, thumbprint } from '@scitt-actions/core/cose';
import { statementEntry, verifyReceipt } from '@scitt-actions/core/receipt';
import { createSignedStatement } from '@scitt-actions/core/statement';
import { c2spVerifier, runC2spVerifier } from '../../../test/helpers/c2sp-go.ts';
import { NOTE_KEY_FILE } from '../src/note-key.ts';
import { type ServiceProcess, startService } from '../../../test/helpers/transparency-service.ts';
import { registerForReceipt, serviceKeys } from '../../../test/helpers/ts-tools.ts';
import { type WitnessProcess, startWitnessProcess } from '../../../test/helpers/witness-process.ts';

const ORIGIN = 'ts.example/interop';
const issuer = generateKey('P-256');
const statement = (i: number) =>
  createSignedStatement({ payload: Buffer.from(`{"n":${i}}`), contentType: 'application/json', signer: keySigner(issuer), iss: 'https://issuer.example', sub: `pkg:generic/interop@1.0.${i}`, kid: thumbprint(issuer) });

describe('an independent C2SP implementation (Go x/mod sumdb/note + tlog) verifies the published log', () => {
  let bin: string;
  let ts: ServiceProcess;
  let w: WitnessProcess;
  const dataDir = mkdtempSync(join(tmpdir(), 'scitt-interop-'));
  const tilesDir = mkdtempSync(join(tmpdir(), 'scitt-interop-tiles-'));
  // The note key is put in place before the first start, so the witness can be told the log's key.
  const seed = generateEd25519Seed();
  const vkey = ed25519Signer(ORIGIN, seed).verifierKey;

  beforeAll(async () => {
    writeFileSync(join(dataDir, NOTE_KEY_FILE), `${Buffer.from(seed).toString('base64')}\n`, { mode: 0o600 });
    [bin, w] = await Promise.all([c2spVerifier(), startWitnessProcess({ logs: [vkey], name: 'witness.example/interop' })]);
    ts = await startService({ dataDir, issuers: [publicKey(issuer)], args: ['--origin', ORIGIN, '--tiles-dir', tilesDir, '--witness', `${w.url}=${w.key}`, '--rate', '0'] });
  }, 300_000); // the first Go build; later runs use the cached binary
  afterAll(async () => {
    await ts?.stop();
    await w?.stop();
  });

  /** Registers statements from..to-1 (16 at a time); returns the receipts and entries. */
  async function register(from: number, to: number): Promise<{ receipt: Uint8Array; entry: Uint8Array }[]> {
    const out: { receipt: Uint8Array; entry: Uint8Array }[] = [];
    for (let i = from; i < to; i += 16) {
      out.push(...(await Promise.all(Array.from({ length: Math.min(16, to - i) }, async (_, j) => {
        const s = await statement(i + j);
        return { receipt: await registerForReceipt(ts.url, s), entry: statementEntry(s) };
      }))));
    }
    return out;
  }

  /** The served checkpoint once it is cosigned at the committed size. */
  async function cosignedCheckpoint(): Promise<string> {
    const size = ((await (await fetch(`${ts.url}/health`)).json()) as { treeSize: number }).treeSize;
    for (let t = 0; t < 200; t++) {
      const note = await (await fetch(`${ts.url}/checkpoint`)).text();
      const cp = openCheckpoint(note, parseVerifierKey(vkey), [parseVerifierKey(w.key)]);
      if (cp.size === size && cp.cosigners.length === 1) return note;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the checkpoint at size ${size} was not cosigned within 10 s`);
  }

  it('agrees with the receipts: same root, every entry included, consistent with an earlier checkpoint, cosigned', async () => {
    await register(0, 20);
    const previous = join(mkdtempSync(join(tmpdir(), 'scitt-interop-cp-')), 'checkpoint');
    writeFileSync(previous, await cosignedCheckpoint());
    const registered = await register(20, 300);
    const note = await cosignedCheckpoint();
    const cp = openCheckpoint(note, parseVerifierKey(vkey));
    expect(cp.size).toBeGreaterThan(256); // a full level-0 tile, a partial one, a partial level-1 tile

    const go = await runC2spVerifier(bin, ['--url', ts.url, '--log-key', vkey, '--witness-key', w.key, '--previous', previous]);
    expect(go).toMatchObject({ origin: ORIGIN, size: cp.size, root: Buffer.from(cp.root).toString('base64'), entriesProven: cp.size, consistentFrom: 21 });
    expect(go.cosignatures?.map((c) => c.name)).toEqual(['witness.example/interop']);
    // The root Go computed from tiles alone is the one the service's receipts at that size sign.
    const keys = await serviceKeys(ts.url);
    const atSize = registered.map((r) => verifyReceipt(r.receipt, r.entry, keys)).filter((v) => v.treeSize === cp.size);
    expect(atSize.length).toBeGreaterThan(0);
    for (const v of atSize) expect(Buffer.from(v.root!).toString('base64')).toBe(go.root);

    // The directory a static host would serve: the same tree, the same answers.
    for (let t = 0; t < 200 && !readFileSync(join(tilesDir, 'checkpoint'), 'utf8').includes(`\n${cp.size}\n`); t++) await new Promise((r) => setTimeout(r, 50));
    const fromDir = await runC2spVerifier(bin, ['--tiles-dir', tilesDir, '--log-key', vkey, '--witness-key', w.key, '--previous', previous]);
    expect({ ...fromDir, tileFetches: 0 }).toEqual({ ...go, tileFetches: 0 });

    // It can fail: one flipped byte in an entry, another log's key, a witness that did not cosign.
    const tampered = mkdtempSync(join(tmpdir(), 'scitt-interop-bad-'));
    cpSync(tilesDir, tampered, { recursive: true });
    const bundle = join(tampered, 'tile/entries/000');
    const bytes = readFileSync(bundle);
    bytes[bytes.length - 1]! ^= 1;
    writeFileSync(bundle, bytes);
    await expect(runC2spVerifier(bin, ['--tiles-dir', tampered, '--log-key', vkey])).rejects.toThrow(/entry 255 is not included/);
    await expect(runC2spVerifier(bin, ['--url', ts.url, '--log-key', ed25519Signer(ORIGIN, generateEd25519Seed()).verifierKey])).rejects.toThrow(/note.Open/);
    const absent = ed25519Cosigner('witness.example/absent', generateEd25519Seed()).verifierKey;
    await expect(runC2spVerifier(bin, ['--url', ts.url, '--log-key', vkey, '--witness-key', absent])).rejects.toThrow(/no cosignature by witness witness.example\/absent/);
  }, 120_000);
});
