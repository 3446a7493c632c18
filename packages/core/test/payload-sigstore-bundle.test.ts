/**
 * Sigstore bundles as evidence: real v0.3 bundles from GitHub Actions (actions/attest and npm
 * provenance, copied from cli/cli's test data; provenance in /work/shared/vectors/sigstore/README.md)
 * verified against the public-good trusted root (the TUF target of @sigstore/tuf 5.0.1) with
 * @sigstore/verify: signature, certificate chain and SCT, Rekor entry. The in-toto statement comes out
 * byte-exact with the identity and log index; tampering with any of them is refused.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fulcioIdentity } from '../src/identity/fulcio.ts';
import { checkIdentityPolicy } from '../src/identity/policy.ts';
import { isSigstoreBundle, verifySigstoreBundle } from '../src/payload/sigstore-bundle.ts';
import { vectorFile } from './helpers/identity-vectors.ts';

const root = readFileSync(vectorFile('trusted_root.json'), 'utf8');
const bundle = (name: string) => new Uint8Array(readFileSync(vectorFile(name)));

describe('Sigstore bundles as evidence', () => {
  it.each([
    ['sigstore-js-2.1.0-bundle.json', 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main', '33351527'],
    ['reusable-workflow-attestation.sigstore.json', undefined, undefined],
    ['custom-issuer.sigstore.json', undefined, undefined],
  ])('%s verifies; its in-toto statement, signer and Rekor index come out', (name, san, logIndex) => {
    const bytes = bundle(name);
    expect(isSigstoreBundle(bytes)).toBe(true);
    const v = verifySigstoreBundle(bytes, root);
    expect(v.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    const statement = JSON.parse(Buffer.from(v.statement).toString('utf8'));
    expect(statement._type).toBe('https://in-toto.io/Statement/v1');
    expect(statement.subject.length).toBeGreaterThan(0);
    const dsse = JSON.parse(Buffer.from(bytes).toString('utf8')).dsseEnvelope;
    expect(Buffer.from(v.statement).toString('base64')).toBe(dsse.payload);
    expect(v.tlog).toHaveLength(1);
    if (san) expect(v.identity.san).toBe(san);
    if (logIndex) expect(v.tlog[0]!.logIndex).toBe(logIndex);
    expect(v.identity.issuer).toMatch(/^https:\/\/token\.actions\.githubusercontent\.com/);
    // the leaf feeds the same identity policy as keyless statements
    const id = fulcioIdentity(v.certificate!);
    expect(id.sanUri).toBe(v.identity.san);
  });

  it('the identity policy applies to the bundle signer', () => {
    const v = verifySigstoreBundle(bundle('sigstore-js-2.1.0-bundle.json'), root);
    checkIdentityPolicy(fulcioIdentity(v.certificate!), { repo: 'sigstore/sigstore-js', sourceRef: 'refs/heads/main', denySelfHostedRunners: true });
    expect(() => checkIdentityPolicy(fulcioIdentity(v.certificate!), { repo: 'acme/app' })).toThrow(/repo/);
  });

  it('refuses a changed statement, a changed log index, and a bundle checked against another root', () => {
    const j = JSON.parse(readFileSync(vectorFile('sigstore-js-2.1.0-bundle.json'), 'utf8'));
    const payload = JSON.parse(Buffer.from(j.dsseEnvelope.payload, 'base64').toString());
    payload.subject[0].name = 'pkg:npm/evil@6.6.6';
    const forged = { ...j, dsseEnvelope: { ...j.dsseEnvelope, payload: Buffer.from(JSON.stringify(payload)).toString('base64') } };
    expect(() => verifySigstoreBundle(new Uint8Array(Buffer.from(JSON.stringify(forged))), root)).toThrow(/ERR_SIGSTORE_BUNDLE|does not verify/);
    const moved = structuredClone(j);
    moved.verificationMaterial.tlogEntries[0].logIndex = '1';
    expect(() => verifySigstoreBundle(new Uint8Array(Buffer.from(JSON.stringify(moved))), root)).toThrow(/does not verify/);
    const otherRoot = JSON.parse(root);
    otherRoot.certificateAuthorities = [];
    expect(() => verifySigstoreBundle(bundle('sigstore-js-2.1.0-bundle.json'), otherRoot)).toThrow(/does not verify/);
  });

  it('refuses what is not an attestation bundle, with the reason', () => {
    expect(isSigstoreBundle(new Uint8Array(Buffer.from('{"bomFormat":"CycloneDX"}')))).toBe(false);
    expect(() => verifySigstoreBundle(new Uint8Array(Buffer.from('{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}')), root)).toThrow(/not a valid bundle/);
  });
});
