/**
 * A team already on actions/attest brings its Sigstore bundle into SCITT: `scitt statement create
 * --payload BUNDLE.sigstore.json` verifies the bundle against the trusted root (@sigstore/verify), makes
 * its in-toto statement the evidence of a SCITT statement (Hash Envelope preimage), and records the
 * bundle's signer and Rekor log index in the SCAI reference; the statement registers and gates like
 * any other. Real bundle: cli/cli's custom-issuer.sigstore.json with its 11-byte subject
 * (/work/shared/vectors/sigstore/README.md), against the public-good trusted root. Bundles made here:
 * @sigstore/sign against the Fulcio and Rekor doubles (helpers/sigstore-bundle-doubles.ts), with a
 * trusted root for them, the signer's identity required with --bundle-certificate-identity (and the
 * issue-statement action's bundle-certificate-identity input, its bundle run as a runner runs it).
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKey } from '../../packages/core/src/cose/key.ts';
import { vectorFile } from '../../packages/core/test/helpers/identity-vectors.ts';
import { type SigstoreDoubles, startSigstoreDoubles } from '../../packages/core/test/helpers/sigstore-bundle-doubles.ts';
import { runBundledAction } from '../helpers/action-runner.ts';
import { scitt } from '../helpers/cli.ts';
import { type ServiceProcess, startService } from '../helpers/transparency-service.ts';

describe('Sigstore bundles in: evidence of a SCITT statement', { timeout: 180_000 }, () => {
  let ts: ServiceProcess;
  let ws: string;
  let doubles: SigstoreDoubles;
  beforeAll(async () => {
    doubles = await startSigstoreDoubles();
    ws = mkdtempSync(join(tmpdir(), 'bundle-evidence-'));
    for (const f of ['custom-issuer.sigstore.json', 'custom-issuer-artifact', 'trusted_root.json']) cpSync(vectorFile(f), join(ws, f));
    expect((await scitt(['keygen', '--out', 'issuer.pem'], ws)).code).toBe(0);
    ts = await startService({ issuers: [loadKey(readFileSync(join(ws, 'issuer.pub.pem'), 'utf8'))] });
  }, 180_000);
  afterAll(async () => {
    await ts?.stop();
    await doubles?.close();
  });

  it('the verified bundle becomes a statement that records its signer and Rekor index, registers and passes the gate', async () => {
    const r = await scitt(
      ['statement', 'create', '--key', 'issuer.pem', '--iss', 'https://acme.example/releases', '--payload', 'custom-issuer.sigstore.json', '--subject-path', 'custom-issuer-artifact', '--trusted-root', 'trusted_root.json', '--out-dir', 'scitt', '--json'],
      ws,
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const s = (out.result ?? out).statements[0];
    expect(s.kind).toBe('provenance');
    expect(s.placement).toBe('hash-envelope');
    expect(s.scai.evidence.annotations).toMatchObject({ 'sigstore.bundle.name': 'custom-issuer.sigstore.json', 'sigstore.bundle.mediaType': 'application/vnd.dev.sigstore.bundle.v0.3+json' });
    expect(s.scai.evidence.annotations['rekor.logIndex']).toMatch(/^\d+$/);
    expect(s.scai.evidence.annotations['sigstore.identity.san']).toMatch(/^https:\/\/github\.com\//);
    // the preimage is the in-toto statement the bundle signs, byte for byte
    const dsse = JSON.parse(readFileSync(join(ws, 'custom-issuer.sigstore.json'), 'utf8')).dsseEnvelope;
    expect(readFileSync(join(ws, s.evidencePath)).toString('base64')).toBe(dsse.payload);
    const t = await scitt(['transparent', s.statementPath, '--ts', ts.url, '--to', 'custom-issuer-artifact'], ws);
    expect(t.code, t.stderr).toBe(0);
    const v = await scitt(['verify', '--artifact', 'custom-issuer-artifact', '--ts-keys', ts.url, '--issuer-key', 'issuer.pub.pem', '--require', 'provenance'], ws);
    expect(v.code, v.stdout + v.stderr).toBe(0);
  });

  it('a bundle whose statement was changed is refused before anything is signed', async () => {
    const j = JSON.parse(readFileSync(join(ws, 'custom-issuer.sigstore.json'), 'utf8'));
    const p = JSON.parse(Buffer.from(j.dsseEnvelope.payload, 'base64').toString());
    p.predicate.buildDefinition.externalParameters = { evil: true };
    j.dsseEnvelope.payload = Buffer.from(JSON.stringify(p)).toString('base64');
    writeFileSync(join(ws, 'forged.sigstore.json'), JSON.stringify(j));
    const r = await scitt(['statement', 'create', '--key', 'issuer.pem', '--iss', 'x', '--payload', 'forged.sigstore.json', '--subject-path', 'custom-issuer-artifact', '--trusted-root', 'trusted_root.json', '--out-dir', 'forged'], ws);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Sigstore bundle refused: it does not verify against the trusted root.*\[ERR_SIGSTORE_BUNDLE\]/);
  });

  describe('bundles made against the local doubles (Fulcio, Rekor)', () => {
    const RELEASE = 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0';
    const create = (bundle: string, out: string, ...extra: string[]) =>
      scitt(['statement', 'create', '--key', 'issuer.pem', '--iss', 'https://acme.example/releases', '--payload', bundle, '--subject-path', 'tool.bin', '--trusted-root', 'doubles_root.json', '--out-dir', out, '--json', ...extra], ws);
    beforeAll(async () => {
      writeFileSync(join(ws, 'tool.bin'), 'the released tool\n');
      writeFileSync(join(ws, 'doubles_root.json'), doubles.trustedRootJson);
      const statement = {
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: 'tool.bin', digest: { sha256: createHash('sha256').update(readFileSync(join(ws, 'tool.bin'))).digest('hex') } }],
        predicateType: 'https://in-toto.io/attestation/release/v0.1',
        predicate: { purl: 'pkg:generic/tool', releaseId: 'v1.0.0' },
      };
      writeFileSync(join(ws, 'acme.sigstore.json'), await doubles.bundle(statement, { repository: 'acme/app', ref: 'refs/tags/v1.0.0' }));
      writeFileSync(join(ws, 'mallory.sigstore.json'), await doubles.bundle(statement, { repository: 'mallory/app', ref: 'refs/tags/v1.0.0' }));
      const forged = JSON.parse(readFileSync(join(ws, 'acme.sigstore.json'), 'utf8'));
      const sig = Buffer.from(forged.dsseEnvelope.signatures[0].sig, 'base64');
      sig[sig.length - 1]! ^= 1;
      forged.dsseEnvelope.signatures[0].sig = sig.toString('base64');
      writeFileSync(join(ws, 'forged-sig.sigstore.json'), JSON.stringify(forged));
    }, 60_000);

    it('the signer required passes: the statement records it and its Rekor entry, registers and gates; evidence changed afterwards is refused by the gate', async () => {
      const r = await create('acme.sigstore.json', 'doubles', '--bundle-certificate-identity', RELEASE, '--placement', 'hash-envelope');
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      const s = (out.result ?? out).statements[0];
      expect(s.kind).toBe('in-toto');
      expect(s.placement).toBe('hash-envelope');
      expect(s.scai.evidence.annotations).toMatchObject({ 'sigstore.identity.san': RELEASE, 'sigstore.identity.issuer': 'https://token.actions.githubusercontent.com' });
      expect(s.scai.evidence.annotations['rekor.logIndex']).toMatch(/^\d+$/);
      expect((await scitt(['transparent', s.statementPath, '--ts', ts.url, '--to', 'tool.bin'], ws)).code).toBe(0);
      const gate = ['verify', '--artifact', 'tool.bin', '--ts-keys', ts.url, '--issuer-key', 'issuer.pub.pem', '--require', 'in-toto'];
      const v = await scitt(gate, ws);
      expect(v.code, v.stdout + v.stderr).toBe(0);
      // the in-toto statement beside the artifact is what the signed digest names: changed, the gate refuses
      const evidence = basename(s.evidencePath);
      expect(readdirSync(ws)).toContain(evidence);
      writeFileSync(join(ws, evidence), readFileSync(join(ws, evidence), 'utf8').replace('v1.0.0', 'v6.6.6'));
      const refused = await scitt(gate, ws);
      expect(refused.code, refused.stdout).toBe(1);
      expect(refused.stdout).toMatch(/RELEASE GATE REFUSED/);
    });

    it('refuses a bundle signed by another workflow than the one required, one whose signature was changed, and an issuer without an identity', async () => {
      // statement create refuses what it is given to sign as an operational error (exit 2), before signing anything
      const other = await create('mallory.sigstore.json', 'mallory', '--bundle-certificate-identity', RELEASE);
      expect(other.code).toBe(2);
      expect(other.stderr).toMatch(/Sigstore bundle mallory\.sigstore\.json refused: signed by https:\/\/github\.com\/mallory\/app\/.*not by the identity required.*\[ERR_SIGSTORE_BUNDLE\]/);
      const forged = await create('forged-sig.sigstore.json', 'forged-sig', '--bundle-certificate-identity', RELEASE);
      expect(forged.code).toBe(2);
      expect(forged.stderr).toMatch(/Sigstore bundle refused: it does not verify against the trusted root.*\[ERR_SIGSTORE_BUNDLE\]/);
      const loose = await create('acme.sigstore.json', 'loose', '--bundle-certificate-oidc-issuer', 'https://token.actions.githubusercontent.com');
      expect(loose.code).toBe(2);
      expect(loose.stderr).toMatch(/name the bundle signer/);
      for (const dir of ['mallory', 'forged-sig', 'loose']) expect(existsSync(join(ws, dir)) ? readdirSync(join(ws, dir)) : []).toEqual([]);
    });

    it('the issue-statement action takes the bundle as evidence-path: the signer required by its input passes, another is refused before signing', async () => {
      const inputs = {
        'subject-path': 'tool.bin',
        signing: 'key',
        'signing-key': readFileSync(join(ws, 'issuer.pem'), 'utf8'),
        issuer: 'https://acme.example/releases',
        'trusted-root': 'doubles_root.json',
        'bundle-certificate-identity': RELEASE,
      };
      const ok = await runBundledAction('issue-statement', { ...inputs, 'evidence-path': 'acme.sigstore.json', 'output-dir': 'action-ok' }, { workspace: ws });
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      const [reference] = JSON.parse(ok.outputs['scai-references']!).filter((r: { annotations?: object }) => r.annotations && 'sigstore.identity.san' in r.annotations);
      expect(reference.annotations).toMatchObject({ 'sigstore.identity.san': RELEASE, 'sigstore.bundle.name': 'acme.sigstore.json' });
      const other = await runBundledAction('issue-statement', { ...inputs, 'evidence-path': 'mallory.sigstore.json', 'output-dir': 'action-mallory' }, { workspace: ws });
      expect(other.code).toBe(1);
      expect(other.errors.join('\n')).toMatch(/Sigstore bundle mallory\.sigstore\.json refused: signed by https:\/\/github\.com\/mallory\/app\/.*not by the identity required/);
      expect(existsSync(join(ws, 'action-mallory')) ? readdirSync(join(ws, 'action-mallory')) : []).toEqual([]);
      const loose = await runBundledAction('issue-statement', { ...inputs, 'bundle-certificate-identity': '', 'bundle-certificate-oidc-issuer': 'https://token.actions.githubusercontent.com', 'evidence-path': 'acme.sigstore.json', 'output-dir': 'action-loose' }, { workspace: ws });
      expect(loose.code).toBe(1);
      expect(loose.errors.join('\n')).toMatch(/name the bundle signer/);
    });
  });
});
