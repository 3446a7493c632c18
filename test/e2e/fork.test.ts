/**
 * A forked Transparency Service, caught: the same key and data directory copied, then different
 * statements registered on each copy. Through the CLI: the gate with the trust state of fork A
 * refuses receipts of fork B (ERR_EQUIVOCATION, both roots named) and fails when no proof can be
 * had; a witness that cosigned A refuses B; the monitor that followed A reports the fork (exit 1
 * and webhook); with --min-witnesses the gate accepts only the witnessed fork. Without state, the
 * gate accepts B: what the documentation says it cannot detect. The verify-gate action (its bundle, run
 * as a runner does) keeps a trust-state file the same way and refuses the release gated on fork B;
 * with min-witnesses it, and the artifact gate, accept only the release on the witnessed fork.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachReceipts, generateKey, publicKey, toPem } from '@scitt-actions/core';
import { ed25519Cosigner, generateEd25519Seed } from '@scitt-actions/core/checkpoint';
import { keySigner, thumbprint } from '@scitt-actions/core/cose';
import { createSignedStatement } from '@scitt-actions/core/statement';
import { runBundledAction } from '../helpers/action-runner.ts';
import { scitt } from '../helpers/cli.ts';
import { type ServiceProcess, startService } from '../helpers/transparency-service.ts';
import { registerForReceipt } from '../helpers/ts-tools.ts';
import { type WitnessProcess, startWitnessProcess } from '../helpers/witness-process.ts';

const issuer = generateKey('P-256');
const ISS = 'https://fork.example';
const ORIGIN = 'fork.example/log';
const dir = mkdtempSync(join(tmpdir(), 'scitt-fork-'));

async function transparent(ts: ServiceProcess, name: string): Promise<string> {
  const s = await createSignedStatement({ payload: Buffer.from(`{"release":"${name}"}`), contentType: 'application/json', signer: keySigner(issuer), iss: 'https://issuer.example', sub: `pkg:generic/${name}@1`, kid: thumbprint(issuer) });
  const path = join(dir, `${name}.scitt`);
  writeFileSync(path, attachReceipts(s, [await registerForReceipt(ts.url, s)]));
  return path;
}

async function checkpointOf(ts: ServiceProcess): Promise<string> {
  return (await fetch(`${ts.url}/checkpoint`)).text();
}

// Each case runs several CLI processes (or the bundled action) against two services and a witness.
describe('a forked service', { timeout: 180_000 }, () => {
  let a: ServiceProcess;
  let b: ServiceProcess;
  let w: WitnessProcess;
  let vkey = '';
  let before = '';
  let onA = '';
  let onB = '';
  const keys = join(dir, 'keys.cbor');
  const webhookEvents: unknown[] = [];
  const webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      webhookEvents.push(JSON.parse(body));
      res.end();
    });
  });

  beforeAll(async () => {
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', () => r()));
    const args = ['--iss', ISS, '--origin', ORIGIN];
    const first = await startService({ issuers: [publicKey(issuer)], args });
    before = await transparent(first, 'before-the-fork');
    vkey = (await (await fetch(`${first.url}/checkpoint/key`)).text()).trim();
    writeFileSync(keys, new Uint8Array(await (await fetch(`${first.url}/.well-known/scitt-keys`)).arrayBuffer()));
    expect(await first.stop()).toBe(0);
    const copy = mkdtempSync(join(tmpdir(), 'scitt-fork-b-'));
    cpSync(first.dataDir, copy, { recursive: true });
    w = await startWitnessProcess({ logs: [vkey] });
    // Fork A collects cosignatures from the witness; fork B, the same key and data, does not.
    a = await startService({ dataDir: first.dataDir, args: [...args, '--witness', `${w.url}=${w.key}`] });
    b = await startService({ dataDir: copy, args });
    onA = await transparent(a, 'release-on-a');
    onB = await transparent(b, 'release-on-b');
  }, 120_000);

  afterAll(async () => {
    await a.stop();
    await b.stop();
    await w.stop();
    webhook.close();
  });

  const verify = (file: string, ...extra: string[]) => scitt(['verify', file, '--ts-keys', keys, '--receipts-only', ...extra], dir);

  it('without a trust state, each fork verifies on its own: receipts alone cannot show a fork', async () => {
    expect((await verify(onA)).code).toBe(0);
    expect((await verify(onB)).code).toBe(0);
  });

  it('the gate with the state of fork A refuses fork B, naming both roots', async () => {
    const state = join(dir, 'state.json');
    const first = await verify(before, '--trust-state', state, '--log-url', a.url);
    expect(first.code, first.stderr).toBe(0);
    const okA = await verify(onA, '--trust-state', state, '--log-url', a.url);
    expect(okA.code, okA.stderr).toBe(0);
    const remembered = JSON.parse(readFileSync(state, 'utf8')) as { services: Record<string, { treeSize: number; root: string }> };
    const rootA = remembered.services[ISS]!.root;
    // An older receipt stays valid: its tree is a prefix of the remembered one.
    expect((await verify(before, '--trust-state', state, '--log-url', a.url)).code).toBe(0);
    // Fork B: same size, another root. Refused whatever proof source is named.
    for (const url of [b.url, a.url]) {
      const refused = await verify(onB, '--trust-state', state, '--log-url', url);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('[ERR_EQUIVOCATION]');
      expect(refused.stderr).toContain(rootA);
    }
    // The state did not move to B.
    expect((JSON.parse(readFileSync(state, 'utf8')) as typeof remembered).services[ISS]!.root).toBe(rootA);
  });

  it('a proof that cannot be obtained is a failure, not a skip', async () => {
    const state = join(dir, 'state-unavailable.json');
    expect((await verify(before, '--trust-state', state, '--log-url', a.url)).code).toBe(0);
    const r = await verify(onA, '--trust-state', state, '--log-url', 'http://127.0.0.1:9');
    expect(r.code).toBe(2); // an operational failure (the proof source is down): never a pass
    expect(r.stdout).not.toContain('VERIFIED');
    expect(r.stderr).toContain('[ERR_CONSISTENCY_UNAVAILABLE]');
  });

  it('proofs from tiles work as well as from the service', async () => {
    const state = join(dir, 'state-tiles.json');
    expect((await verify(before, '--trust-state', state, '--tiles', a.url)).code).toBe(0);
    expect((await verify(onA, '--trust-state', state, '--tiles', a.url)).code).toBe(0);
    const r = await verify(onB, '--trust-state', state, '--tiles', b.url);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[ERR_EQUIVOCATION]');
  });

  it('the witness that cosigned A refuses B', async () => {
    // A's collector has had its checkpoint cosigned: wait for it.
    let cp = '';
    for (let t = 0; t < 100 && !cp.includes('— witness.example/w1'); t++) {
      cp = await checkpointOf(a);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(cp).toContain('— witness.example/w1');
    const size = Number(cp.split('\n')[1]);
    const fromB = await checkpointOf(b);
    expect(fromB.split('\n')[1]).toBe(String(size));
    const r = await fetch(`${w.url}/add-checkpoint`, { method: 'POST', body: `old ${size}\n\n${fromB}` });
    expect(r.status).toBe(409);
    // And B, configured with it from now on, would never get its cosignature.
  });

  it('the gate with --min-witnesses accepts the witnessed fork only', async () => {
    const k = ['--log-key', vkey, '--witness-key', w.key, '--min-witnesses', '1'];
    const okA = await verify(onA, ...k, '--log-url', a.url);
    expect(okA.code, okA.stderr).toBe(0);
    const noB = await verify(onB, ...k, '--log-url', b.url);
    expect(noB.code).toBe(1);
    expect(noB.stderr).toContain('[ERR_WITNESS_QUORUM]');
    // B's receipt against A's cosigned checkpoint: a fork.
    const forkB = await verify(onB, ...k, '--log-url', a.url);
    expect(forkB.code).toBe(1);
    expect(forkB.stderr).toContain('[ERR_EQUIVOCATION]');
  });

  it('the monitor that followed A reports the fork of B (exit 1, stdout, webhook)', async () => {
    const state = join(dir, 'monitor.json');
    const hook = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/`;
    const first = await scitt(['monitor', '--url', a.url, '--log-key', vkey, '--state', state, '--once', '--issuer', 'https://issuer.example'], dir);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('"event":"entry"');
    const fork = await scitt(['monitor', '--url', b.url, '--log-key', vkey, '--state', state, '--once', '--webhook', hook], dir);
    expect(fork.code).toBe(1);
    expect(fork.stdout).toContain('"event":"fork"');
    expect(fork.stderr).toContain('[ERR_EQUIVOCATION]');
    expect(webhookEvents).toContainEqual(expect.objectContaining({ event: 'fork', origin: ORIGIN }));
    // under --json the same event comes in the envelope every verb prints
    const forkJson = await scitt(['monitor', '--url', b.url, '--log-key', vkey, '--state', state, '--once', '--json'], dir);
    expect(forkJson.code).toBe(1);
    expect(JSON.parse(forkJson.stdout.trim().split('\n').at(-1)!)).toMatchObject({ ok: false, command: 'monitor', result: { event: 'fork', origin: ORIGIN }, error: { code: 'ERR_EQUIVOCATION' } });
    // A again: still consistent with what it verified.
    expect((await scitt(['monitor', '--url', a.url, '--log-key', vkey, '--state', state, '--once'], dir)).code).toBe(0);
  });

  it('the verify-gate action with a trust state passes the release on A, then refuses it on B', async () => {
    // One artifact, one statement about it, registered on each fork; each workspace holds one Transparent Statement.
    writeFileSync(join(dir, 'issuer.pem'), toPem(issuer, { includePrivate: true }));
    writeFileSync(join(dir, 'issuer.pub.pem'), toPem(publicKey(issuer)));
    writeFileSync(join(dir, 'app.tar'), 'release bytes 2.0.0\n');
    writeFileSync(join(dir, 'sbom.json'), '{"bomFormat":"CycloneDX","specVersion":"1.6","version":1}');
    const digest = createHash('sha256').update(readFileSync(join(dir, 'app.tar'))).digest('hex');
    const made = await scitt(['statement', 'create', '--payload', 'sbom.json', '--key', 'issuer.pem', '--iss', 'https://issuer.example', '--sub', `pkg:generic/app@2.0.0?checksum=sha256:${digest}`, '--hash-envelope', '--location', 'sbom.json', '--out', 'app.cose'], dir);
    expect(made.code, made.stderr).toBe(0);
    const state = join(dir, 'gate-state.json');
    const gateOn = async (ts: ServiceProcess, name: string) => {
      const ws = join(dir, name);
      mkdirSync(ws);
      for (const f of ['app.tar', 'sbom.json', 'issuer.pub.pem', 'keys.cbor']) cpSync(join(dir, f), join(ws, f));
      const reg = await scitt(['register', join(dir, 'app.cose'), '--ts', ts.url, '--out', join(ws, 'app.receipt')], dir);
      expect(reg.code, reg.stderr).toBe(0);
      expect((await scitt(['attach', join(dir, 'app.cose'), join(ws, 'app.receipt'), '--out', join(ws, 'app.tar.scitt')], dir)).code).toBe(0);
      return runBundledAction('verify-gate', { 'subject-path': 'app.tar', 'transparency-service-keys': 'keys.cbor', 'issuer-key': 'issuer.pub.pem', 'trust-state': state, 'log-url': ts.url }, { workspace: ws });
    };
    const onAGate = await gateOn(a, 'ws-a');
    expect(onAGate.code, onAGate.stdout).toBe(0);
    expect(onAGate.outputs.verified).toBe('true');
    const remembered = (JSON.parse(readFileSync(state, 'utf8')) as { services: Record<string, { root: string }> }).services[ISS]!.root;
    const onBGate = await gateOn(b, 'ws-b');
    expect(onBGate.code).not.toBe(0);
    expect(onBGate.errors.join('\n')).toContain('[ERR_EQUIVOCATION]');
    expect(onBGate.errors.join('\n')).toContain(remembered);
  });

  // After the previous case: the workspaces ws-a and ws-b hold the release registered on each fork.
  it('with a witness quorum and no state, the verify-gate action and the artifact gate pass the release on A and refuse it on B', async () => {
    const gate = { 'subject-path': 'app.tar', 'transparency-service-keys': 'keys.cbor', 'issuer-key': 'issuer.pub.pem', 'min-witnesses': '1', 'log-key': vkey, 'witness-keys': w.key };
    const quorumA = await runBundledAction('verify-gate', { ...gate, 'log-url': a.url }, { workspace: join(dir, 'ws-a') });
    expect(quorumA.code, quorumA.stdout).toBe(0);
    const quorumB = await runBundledAction('verify-gate', { ...gate, 'log-url': b.url }, { workspace: join(dir, 'ws-b') });
    expect(quorumB.code).not.toBe(0);
    expect(quorumB.errors.join('\n')).toContain('[ERR_WITNESS_QUORUM]');
    const cli = (ws: string, url: string, ...extra: string[]) =>
      scitt(['verify', '--artifact', join(dir, ws, 'app.tar'), '--ts-keys', keys, '--issuer-key', join(dir, 'issuer.pub.pem'), '--log-url', url, '--min-witnesses', '1', '--log-key', vkey, ...extra], dir);
    const cliA = await cli('ws-a', a.url, '--witness-key', w.key);
    expect(cliA.code, cliA.stderr).toBe(0);
    expect(cliA.stdout).toContain('RELEASE GATE PASSED');
    // B's own checkpoint carries no cosignature; A's cosigned checkpoint is not consistent with B's receipt.
    const cliB = await cli('ws-b', b.url, '--witness-key', w.key);
    expect([cliB.code, cliB.stderr]).toEqual([1, expect.stringContaining('[ERR_WITNESS_QUORUM]')]);
    const cliBonA = await cli('ws-b', a.url, '--witness-key', w.key);
    expect([cliBonA.code, cliBonA.stderr]).toEqual([1, expect.stringContaining('[ERR_EQUIVOCATION]')]);
    // A cosignature by a witness that is not named does not count, and is named in the refusal.
    const stranger = ed25519Cosigner('witness.example/stranger', generateEd25519Seed()).verifierKey;
    const unnamed = await cli('ws-a', a.url, '--witness-key', stranger);
    expect([unnamed.code, unnamed.stderr]).toEqual([1, expect.stringMatching(/0 valid cosignature.*also signed by witness\.example\/w1\+[0-9a-f]{8}, not named witnesses.*\[ERR_WITNESS_QUORUM\]/)]);
    // A quorum the named witnesses cannot meet, or a key that is none, is a usage error, found before verifying.
    expect((await cli('ws-a', a.url, '--witness-key', w.key, '--min-witnesses', '2')).code).toBe(2);
    const badKey = await cli('ws-a', a.url, '--witness-key', 'witness.example/w1+00000000+AAAA');
    expect([badKey.code, badKey.stderr]).toEqual([2, expect.stringContaining('--witness-key: ')]);
    const badInput = await runBundledAction('verify-gate', { ...gate, 'log-url': a.url, 'witness-keys': 'not a key' }, { workspace: join(dir, 'ws-a') });
    expect(badInput.code).not.toBe(0);
    expect(badInput.errors.join('\n')).toContain('witness-keys: ');
  });
});
