/**
 * `scitt witness` as a real process, per c2sp.org/tlog-witness: cosigns consistent checkpoints,
 * answers 404/403/400/409/422 as the spec says, refuses a fork of a log it saw, and cosigns a live
 * service's checkpoints (`scitt serve --witness`), which then serves them cosigned.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MerkleTree, leafHash } from '@scitt-actions/core/merkle';
import { createSignedStatement } from '@scitt-actions/core/statement';
import { ed25519Signer, generateEd25519Seed, openCheckpoint, parseVerifierKey, signCheckpoint } from '@scitt-actions/core/checkpoint';
import { generateKey, keySigner, publicKey, thumbprint } from '@scitt-actions/core/cose';
import { startService } from '../../../test/helpers/transparency-service.ts';
import { registerForReceipt } from '../../../test/helpers/ts-tools.ts';
import { type WitnessProcess, startWitnessProcess } from '../../../test/helpers/witness-process.ts';

const ORIGIN = 'log.example/a';
const logKey = ed25519Signer(ORIGIN, generateEd25519Seed());

/** A log in memory: leaves `${branch}-${i}` after a common prefix. */
function tree(n: number, branch = 'a', common = n): MerkleTree {
  const t = new MerkleTree();
  for (let i = 0; i < n; i++) t.appendLeaf(leafHash(Buffer.from(i < common ? `common-${i}` : `${branch}-${i}`)));
  return t;
}

const b64 = (h: Uint8Array) => Buffer.from(h).toString('base64');

async function add(url: string, old: number, proof: Uint8Array[], note: string): Promise<{ status: number; type: string | null; body: string }> {
  const r = await fetch(`${url}/add-checkpoint`, { method: 'POST', body: `old ${old}\n${proof.map((h) => `${b64(h)}\n`).join('')}\n${note}` });
  return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
}

const checkpointOf = (t: MerkleTree, size = t.size, signer = logKey) => signCheckpoint({ origin: signer.name, size, root: t.root(size) }, signer);

describe('scitt witness (c2sp.org/tlog-witness)', () => {
  let w: WitnessProcess;
  beforeAll(async () => {
    w = await startWitnessProcess({ logs: [logKey.verifierKey] });
  });
  afterAll(async () => {
    expect(await w.stop()).toBe(0);
  });

  it('cosigns the first checkpoint, then only consistent ones, and answers each refusal as the spec says', async () => {
    const a = tree(10);
    const first = await add(w.url, 0, [], checkpointOf(a, 5));
    expect(first.status).toBe(200);
    const cosigned = openCheckpoint(checkpointOf(a, 5) + first.body, parseVerifierKey(logKey.verifierKey), [parseVerifierKey(w.key)]);
    expect(cosigned.cosigners.map((c) => c.name)).toEqual(['witness.example/w1']);

    // Wrong old size: 409 with the size it holds.
    const stale = await add(w.url, 0, [], checkpointOf(a, 7));
    expect(stale).toMatchObject({ status: 409, type: 'text/x.tlog.size', body: '5\n' });
    // A consistent step.
    expect((await add(w.url, 5, a.consistencyProof(5, 10).path as Uint8Array[], checkpointOf(a, 10))).status).toBe(200);
    // A fork at the same size: 409. A fork further on: its proof does not verify, 422.
    const b = tree(12, 'b', 8);
    expect((await add(w.url, 10, [], checkpointOf(b, 10))).status).toBe(409);
    expect((await add(w.url, 10, b.consistencyProof(10, 12).path as Uint8Array[], checkpointOf(b, 12))).status).toBe(422);
    // Unknown origin 404; not signed by the log's key 403; old > size and garbage 400.
    const stranger = ed25519Signer('log.example/other', generateEd25519Seed());
    expect((await add(w.url, 0, [], checkpointOf(a, 5, stranger))).status).toBe(404);
    const impostor = ed25519Signer(ORIGIN, generateEd25519Seed());
    expect((await add(w.url, 10, [], checkpointOf(a, 10, impostor))).status).toBe(403);
    expect((await add(w.url, 11, [], checkpointOf(a, 10))).status).toBe(400);
    expect((await fetch(`${w.url}/add-checkpoint`, { method: 'POST', body: 'hello' })).status).toBe(400);
    // The same checkpoint again is fine (same size, same root).
    expect((await add(w.url, 10, [], checkpointOf(a, 10))).status).toBe(200);
  });

  it('keeps its state across restarts', async () => {
    await w.stop();
    w = await startWitnessProcess({ logs: [logKey.verifierKey], dataDir: w.dataDir });
    const a = tree(10);
    expect(await add(w.url, 0, [], checkpointOf(a, 10))).toMatchObject({ status: 409, body: '10\n' });
  });
});

describe('a live service with a witness', () => {
  it('collects the cosignature of every new checkpoint and serves it cosigned, also after a restart', async () => {
    const issuer = generateKey('P-256');
    // The service's note key is known once its data directory exists: start once to learn it.
    const probe = await startService({ args: ['--origin', 'ts.example/witnessed'] });
    const vkey = (await (await fetch(`${probe.url}/checkpoint/key`)).text()).trim();
    await probe.stop();
    const w = await startWitnessProcess({ logs: [vkey] });
    let ts = await startService({ dataDir: probe.dataDir, issuers: [publicKey(issuer)], args: ['--origin', 'ts.example/witnessed', '--witness', `${w.url}=${w.key}`] });
    try {
      for (let i = 0; i < 3; i++) {
        const s = await createSignedStatement({ payload: Buffer.from(`{"i":${i}}`), contentType: 'application/json', signer: keySigner(issuer), iss: 'https://issuer.example', sub: `pkg:generic/w@${i}`, kid: thumbprint(issuer) });
        await registerForReceipt(ts.url, s);
        const size = ((await (await fetch(`${ts.url}/health`)).json()) as { treeSize: number }).treeSize;
        let cp;
        for (let t = 0; t < 100; t++) {
          cp = openCheckpoint(await (await fetch(`${ts.url}/checkpoint`)).text(), parseVerifierKey(vkey), [parseVerifierKey(w.key)]);
          if (cp.size === size && cp.cosigners.length === 1) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(cp!.size).toBe(size);
        expect(cp!.cosigners.map((c) => c.name)).toEqual(['witness.example/w1']);
      }
      // The cosignatures survive a restart, even while the witness is down (kept in the data directory).
      const before = await (await fetch(`${ts.url}/checkpoint`)).text();
      await ts.stop();
      await w.stop();
      ts = await startService({ dataDir: probe.dataDir, args: ['--origin', 'ts.example/witnessed', '--witness', `${w.url}=${w.key}`] });
      expect(await (await fetch(`${ts.url}/checkpoint`)).text()).toBe(before);
      // after the round that found the witness down, too
      for (let t = 0; t < 100 && !ts.stderr().includes('witness did not cosign'); t++) await new Promise((r) => setTimeout(r, 100));
      expect(ts.stderr()).toContain('witness did not cosign');
      const after = openCheckpoint(await (await fetch(`${ts.url}/checkpoint`)).text(), parseVerifierKey(vkey), [parseVerifierKey(w.key)]);
      expect(after.note).toBe(before);
      expect(after.cosigners.map((c) => c.name)).toEqual(['witness.example/w1']);
    } finally {
      await ts.stop();
      await w.stop();
    }
  });
});
