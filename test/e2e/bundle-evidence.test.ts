/**
 * A team already on actions/attest brings its Sigstore bundle into SCITT: `scitt statement create
 * --payload BUNDLE.sigstore.json` verifies the bundle against the trusted root (@sigstore/verify), makes
 * its in-toto statement the evidence of a SCITT statement (Hash Envelope preimage), and records the
 * bundle's signer and Rekor log index in the SCAI reference; the statement registers and gates like
 * any other. Real bundle: cli/cli's custom-issuer.sigstore.json with its 11-byte subject
 * (/work/shared/vectors/sigstore/README.md), against the public-good trusted root.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKey } from '../../packages/core/src/cose/key.ts';
import { vectorFile } from '../../packages/core/test/helpers/identity-vectors.ts';
import { scitt } from '../helpers/cli.ts';
import { type ServiceProcess, startService } from '../helpers/transparency-service.ts';

describe('Sigstore bundles in: evidence of a SCITT statement', { timeout: 180_000 }, () => {
  let ts: ServiceProcess;
  let ws: string;
  beforeAll(async () => {
    ws = mkdtempSync(join(tmpdir(), 'bundle-evidence-'));
    for (const f of ['custom-issuer.sigstore.json', 'custom-issuer-artifact', 'trusted_root.json']) cpSync(vectorFile(f), join(ws, f));
    expect((await scitt(['keygen', '--out', 'issuer.pem'], ws)).code).toBe(0);
    ts = await startService({ issuers: [loadKey(readFileSync(join(ws, 'issuer.pub.pem'), 'utf8'))] });
  }, 180_000);
  afterAll(async () => {
    await ts?.stop();
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
});
