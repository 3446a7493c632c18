/** Real Fulcio-issued GitHub Actions certificates: extensions, path to the real trusted root, time, policy. */
import { describe, expect, it } from 'vitest';
import { IdentityError } from '../src/errors.ts';
import {
  GITHUB_ACTIONS_ISSUER,
  certificatesFromPem,
  checkIdentityPolicy,
  fulcioIdentity,
  subjectAltNames,
  trustFromPem,
  trustFromTrustedRootFile,
  validatePath,
  verifyX509Issuer,
  buildDidX509,
  resolveDidX509,
} from '../src/identity/index.ts';
import { customIssuer, directWorkflow, realBundles, reusableWorkflow, vectorFile, vectorText } from './helpers/identity-vectors.ts';

const DAY = 86_400_000;
const expected = JSON.parse(vectorText('expected-extensions.json')) as {
  certificates: Record<string, { serialNumber: string; notBefore: string; notAfter: string; subjectAltName: { type: string; value: string }[]; fulcio: Record<string, { value: string }> }>;
};

/** The certificate field each Fulcio OID lands in (independent of the implementation's table). */
const FIELD_OF: Record<string, (id: ReturnType<typeof fulcioIdentity>) => string | undefined> = {
  '1.3.6.1.4.1.57264.1.1': (i) => i.oidcIssuer,
  '1.3.6.1.4.1.57264.1.2': (i) => i.legacy.workflowTrigger,
  '1.3.6.1.4.1.57264.1.3': (i) => i.legacy.workflowSha,
  '1.3.6.1.4.1.57264.1.4': (i) => i.legacy.workflowName,
  '1.3.6.1.4.1.57264.1.5': (i) => i.legacy.workflowRepository,
  '1.3.6.1.4.1.57264.1.6': (i) => i.legacy.workflowRef,
  '1.3.6.1.4.1.57264.1.8': (i) => i.oidcIssuer,
  '1.3.6.1.4.1.57264.1.9': (i) => i.buildSignerUri,
  '1.3.6.1.4.1.57264.1.10': (i) => i.buildSignerDigest,
  '1.3.6.1.4.1.57264.1.11': (i) => i.runnerEnvironment,
  '1.3.6.1.4.1.57264.1.12': (i) => i.sourceRepository,
  '1.3.6.1.4.1.57264.1.13': (i) => i.sourceRepositoryDigest,
  '1.3.6.1.4.1.57264.1.14': (i) => i.sourceRepositoryRef,
  '1.3.6.1.4.1.57264.1.15': (i) => i.sourceRepositoryIdentifier,
  '1.3.6.1.4.1.57264.1.16': (i) => i.ownerUri,
  '1.3.6.1.4.1.57264.1.17': (i) => i.ownerIdentifier,
  '1.3.6.1.4.1.57264.1.18': (i) => i.buildConfigUri,
  '1.3.6.1.4.1.57264.1.19': (i) => i.buildConfigDigest,
  '1.3.6.1.4.1.57264.1.20': (i) => i.buildTrigger,
  '1.3.6.1.4.1.57264.1.21': (i) => i.runInvocationUri,
  '1.3.6.1.4.1.57264.1.22': (i) => i.visibility,
};

async function refusal(p: Promise<unknown>): Promise<IdentityError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(IdentityError);
  return e as IdentityError;
}

describe('Fulcio extensions of real GitHub Actions certificates', () => {
  it.each(realBundles)('$leafPemFile parses to expected-extensions.json', (b) => {
    const want = expected.certificates[b.leafPemFile]!;
    const [pemDer] = certificatesFromPem(vectorText(b.leafPemFile));
    expect(Buffer.from(pemDer!).equals(Buffer.from(b.leafDer))).toBe(true);
    const id = fulcioIdentity(b.leafDer);
    expect(Object.keys(want.fulcio).length).toBeGreaterThanOrEqual(21);
    for (const [oid, { value }] of Object.entries(want.fulcio)) {
      const read = FIELD_OF[oid];
      expect(read, `no mapping for ${oid}`).toBeDefined();
      expect(read!(id), oid).toBe(value);
    }
    expect(id.san).toEqual({ type: 'uri', value: want.subjectAltName[0]!.value });
    expect(id.sanUri).toBe(want.subjectAltName[0]!.value);
  });

  it('maps a reusable workflow: the signer (SAN, .9) is the called workflow, the source repo and build config are the caller', () => {
    const id = fulcioIdentity(reusableWorkflow.leafDer);
    expect(id.buildSignerUri).toBe('https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d');
    expect(id.sanUri).toBe(id.buildSignerUri);
    expect(id.buildSignerDigest).toBe('09b495c3f12c7881b3cc17209a327792065c1a1d');
    expect(id.sourceRepository).toBe('https://github.com/malancas/attest-demo');
    expect(id.buildConfigUri).toBe('https://github.com/malancas/attest-demo/.github/workflows/shared.yml@refs/heads/main');
    expect(id.buildConfigDigest).toBe('95baf27389e83e6a5c48f42e190d48d7abcea19e');
    expect(id.sourceRepositoryDigest).toBe('95baf27389e83e6a5c48f42e190d48d7abcea19e');
  });
});

describe('real certificates against the real Sigstore trusted root', () => {
  it.each(realBundles)('$name chains to the public-good root at its integratedTime', async (b) => {
    const trust = await trustFromTrustedRootFile(vectorFile('trusted_root.json'));
    const path = await validatePath([b.leafDer], { trust, at: b.integratedTime });
    expect(path.der).toHaveLength(3);
    expect(path.certificates.map((c) => c.subject)).toEqual(['', 'O=sigstore.dev, CN=sigstore-intermediate', 'O=sigstore.dev, CN=sigstore']);
    expect(path.authority.uri).toBe('https://fulcio.sigstore.dev');
    expect(path.authority.validFor?.start?.toISOString()).toBe('2022-04-13T20:06:15.000Z');
  });

  it.each(realBundles)('$name is refused as expired a day after integratedTime, and before its notBefore', async (b) => {
    const trust = await trustFromTrustedRootFile(vectorFile('trusted_root.json'));
    const later = await refusal(validatePath([b.leafDer], { trust, at: new Date(b.integratedTime.getTime() + DAY) }));
    expect(later.code).toBe('ERR_X509_VALIDITY');
    expect(later.message).toContain(expected.certificates[b.leafPemFile]!.notAfter.replace('.000Z', ''));
    const earlier = await refusal(validatePath([b.leafDer], { trust, at: new Date(b.integratedTime.getTime() - 60_000) }));
    expect(earlier.code).toBe('ERR_X509_VALIDITY');
  });

  it('chains with the configured PEM root + intermediate as well, and the leaf-plus-intermediate x5chain completes to the root', async () => {
    const trust = await trustFromPem({ roots: vectorText('fulcio-root.pem'), intermediates: vectorText('fulcio-intermediate.pem') });
    expect(trust.authorities.map((a) => a.chain.length)).toEqual([1, 2]);
    const [intermediate] = certificatesFromPem(vectorText('fulcio-intermediate.pem'));
    const [root] = certificatesFromPem(vectorText('fulcio-root.pem'));
    const viaIntermediate = await validatePath([directWorkflow.leafDer], { trust, at: directWorkflow.integratedTime });
    expect(viaIntermediate.der).toHaveLength(3);
    const full = await validatePath([directWorkflow.leafDer, intermediate!, root!], { trust, at: directWorkflow.integratedTime });
    expect(full.der).toHaveLength(3);
    const rootOnly = await trustFromPem({ roots: vectorText('fulcio-root.pem') });
    expect((await validatePath([directWorkflow.leafDer, intermediate!], { trust: rootOnly, at: directWorkflow.integratedTime })).der).toHaveLength(3);
    // a leaf alone cannot reach a root-only store: its issuer (the intermediate) is unknown
    expect((await refusal(validatePath([directWorkflow.leafDer], { trust: rootOnly, at: directWorkflow.integratedTime }))).code).toBe('ERR_X509_UNTRUSTED');
  });

  it('refuses the chain in the wrong order', async () => {
    const trust = await trustFromTrustedRootFile(vectorFile('trusted_root.json'));
    const [intermediate] = certificatesFromPem(vectorText('fulcio-intermediate.pem'));
    const e = await refusal(validatePath([intermediate!, directWorkflow.leafDer], { trust, at: directWorkflow.integratedTime }));
    expect(e.code).toBe('ERR_X509_PATH');
    expect(e.message).toContain('ordered leaf first');
  });

  it('refuses the retired 2021 Fulcio CA outside its validFor window', async () => {
    const trust = await trustFromTrustedRootFile(vectorFile('trusted_root.json'));
    const old = trust.authorities.find((a) => a.validFor?.end)!;
    expect(old.validFor!.end!.toISOString()).toBe('2022-12-31T23:59:59.999Z');
    // a store holding only the retired CA and the current one restricted to 2021–2022 refuses a 2023 leaf
    const limited = { authorities: trust.authorities.map((a) => ({ ...a, validFor: { start: new Date('2021-01-01'), end: new Date('2022-12-31') } })) };
    const e = await refusal(validatePath([directWorkflow.leafDer], { trust: limited, at: directWorkflow.integratedTime }));
    expect(e.code).toBe('ERR_X509_UNTRUSTED');
    expect(e.message).toMatch(/trusted from 2021-01-01.* to 2022-12-31.*not at 2023-08-29T15:40:23/);
  });
});

describe('verifyX509Issuer on real certificates', () => {
  const trustP = trustFromTrustedRootFile(vectorFile('trusted_root.json'));

  it('accepts the direct workflow with its did:x509 iss at integratedTime', async () => {
    const trust = await trustP;
    const chain = (await validatePath([directWorkflow.leafDer], { trust, at: directWorkflow.integratedTime })).der;
    const iss = buildDidX509(chain);
    expect(iss).toBe(
      'did:x509:0:sha256:O6e2zE6VRp1NM0tJyyV62FNwdvqEsMqH_07P5qVGgME::san:uri:https%3A%2F%2Fgithub.com%2Fsigstore%2Fsigstore-js%2F.github%2Fworkflows%2Frelease.yml%40refs%2Fheads%2Fmain::fulcio-issuer:token.actions.githubusercontent.com',
    );
    const r = await verifyX509Issuer({
      x5chain: [directWorkflow.leafDer],
      iss,
      trust,
      at: directWorkflow.integratedTime,
      policy: { repo: 'sigstore/sigstore-js', sourceRef: 'refs/heads/main', signerWorkflow: 'sigstore/sigstore-js/.github/workflows/release.yml', denySelfHostedRunners: true },
    });
    expect(r.identity.sourceRepository).toBe('https://github.com/sigstore/sigstore-js');
    expect(r.did?.predicates.map((p) => p.type)).toEqual(['san', 'fulcio-issuer']);
    expect(r.key).toMatchObject({ kty: 'EC2', crv: 'P-256' });
    // the did also resolves on its own, with the chain's root as anchor
    const resolved = await resolveDidX509(iss, chain, { at: directWorkflow.integratedTime });
    expect(Buffer.from(resolved.key.x).equals(Buffer.from(r.key.x))).toBe(true);
  });

  it('refuses the same certificate a day later (expired at that registration time)', async () => {
    const e = await refusal(
      verifyX509Issuer({
        x5chain: [directWorkflow.leafDer],
        iss: subjectAltNames((await validatePath([directWorkflow.leafDer], { trust: await trustP, at: directWorkflow.integratedTime })).leaf)[0]!.value,
        trust: await trustP,
        at: new Date(directWorkflow.integratedTime.getTime() + DAY),
        policy: { repo: 'sigstore/sigstore-js' },
      }),
    );
    expect(e.code).toBe('ERR_X509_VALIDITY');
  });

  it('reusable workflow: repo alone refuses (signer lives elsewhere); signerRepo or signerWorkflow accepts', async () => {
    const trust = await trustP;
    const input = { x5chain: [reusableWorkflow.leafDer], iss: fulcioIdentity(reusableWorkflow.leafDer).sanUri!, trust, at: reusableWorkflow.integratedTime };
    const e = await refusal(verifyX509Issuer({ ...input, policy: { repo: 'malancas/attest-demo' } }));
    expect(e.code).toBe('ERR_IDENTITY_POLICY');
    expect(e.refusals).toEqual([
      expect.objectContaining({ field: 'repo', actual: fulcioIdentity(reusableWorkflow.leafDer).buildSignerUri }),
    ]);
    const ok = await verifyX509Issuer({ ...input, policy: { repo: 'malancas/attest-demo', signerRepo: 'github/artifact-attestations-workflows' } });
    expect(ok.identity.buildConfigUri).toContain('malancas/attest-demo');
    await verifyX509Issuer({
      ...input,
      policy: { repo: 'MALANCAS/attest-demo', signerWorkflow: 'github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d' },
    });
    // the caller's workflow is not the signer: naming it as signerWorkflow is refused
    const wrong = await refusal(verifyX509Issuer({ ...input, policy: { repo: 'malancas/attest-demo', signerWorkflow: 'malancas/attest-demo/.github/workflows/shared.yml' } }));
    expect(wrong.refusals[0]).toMatchObject({ field: 'signerWorkflow', expected: 'https://github.com/malancas/attest-demo/.github/workflows/shared.yml' });
  });

  it('refuses the enterprise custom issuer (…/hammer-time) under strict issuer matching; accepts it when configured exactly', async () => {
    const trust = await trustP;
    const input = { x5chain: [customIssuer.leafDer], iss: fulcioIdentity(customIssuer.leafDer).sanUri!, trust, at: customIssuer.integratedTime };
    const e = await refusal(verifyX509Issuer({ ...input, policy: { repo: 'too-legit/attest' } }));
    expect(e.code).toBe('ERR_IDENTITY_POLICY');
    expect(e.refusals).toEqual([{ field: 'certOidcIssuer', expected: GITHUB_ACTIONS_ISSUER, actual: 'https://token.actions.githubusercontent.com/hammer-time' }]);
    expect(e.message).toContain('policy certOidcIssuer requires https://token.actions.githubusercontent.com');
    expect(e.message).toContain('"https://token.actions.githubusercontent.com/hammer-time"');
    const ok = await verifyX509Issuer({ ...input, policy: { repo: 'too-legit/attest', certOidcIssuer: 'https://token.actions.githubusercontent.com/hammer-time' } });
    expect(ok.identity.oidcIssuer).toBe('https://token.actions.githubusercontent.com/hammer-time');
  });

  it('names every mismatching field with the certificate value', () => {
    const id = fulcioIdentity(directWorkflow.leafDer);
    let e: IdentityError | undefined;
    try {
      checkIdentityPolicy(id, { repo: 'octo/other', sourceRef: 'refs/tags/v1.0.0', signerWorkflow: 'sigstore/sigstore-js/.github/workflows/ci.yml', repositoryId: '1' });
    } catch (err) {
      e = err as IdentityError;
    }
    expect(e?.code).toBe('ERR_IDENTITY_POLICY');
    expect(e!.refusals.map((r) => [r.field, r.actual])).toEqual([
      ['repo', 'https://github.com/sigstore/sigstore-js'],
      ['repositoryId', '495574555'],
      ['sourceRef', 'refs/heads/main'],
      ['signerWorkflow', 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main'],
    ]);
    expect(e!.message).toContain('policy sourceRef requires refs/tags/v1.0.0, but the certificate\'s source ref (1.3.6.1.4.1.57264.1.14) is "refs/heads/main"');
  });
});
