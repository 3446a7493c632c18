/**
 * Keyless signing end to end: the real @sigstore/sign FulcioSigner and CIContextProvider against a
 * loopback GitHub OIDC token endpoint and @sigstore/mock's Fulcio served over loopback HTTP; then the
 * verifier's view of the resulting statement, and each way it must refuse.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '../src/cbor.ts';
import { Claim, Header, decodeSign1, generateKey, keySigner, signSign1, thumbprint, verifySign1, type Signer } from '../src/cose/index.ts';
import { IdentityError, SignatureError } from '../src/errors.ts';
import {
  type IdentityPolicy,
  type KeylessSigner,
  type TrustStore,
  certificateDigest,
  certificateKey,
  formatDidX509,
  keyIssuerSigner,
  keylessSigner,
  parseCertificate,
  parseDidX509,
  trustFromPem,
  verifyX509Issuer,
} from '../src/identity/index.ts';
import { type FulcioServer, startFulcioServer } from './helpers/identity-fulcio-server.ts';
import { GITHUB_OIDC_ISSUER, type GitHubRun, type OidcServer, startOidcServer } from './helpers/oidc-server.ts';

const REPO = 'octo-org/scitt-demo';
const RUN: GitHubRun = { repository: REPO, workflowPath: '.github/workflows/release.yml', ref: 'refs/heads/main', repositoryId: '2000002', ownerId: '1000001' };
const WORKFLOW_URI = `https://github.com/${REPO}/.github/workflows/release.yml@refs/heads/main`;
const POLICY: IdentityPolicy = { repo: REPO, signerWorkflow: `${REPO}/.github/workflows/release.yml`, sourceRef: 'refs/heads/main', denySelfHostedRunners: true };
const PAYLOAD = new TextEncoder().encode('{"artifact":"demo-1.0.0.tgz"}');

let oidc: OidcServer;
let fulcio: FulcioServer;
let otherFulcio: FulcioServer;
let trust: TrustStore;
const savedEnv = { ...process.env };

beforeAll(async () => {
  oidc = await startOidcServer(RUN);
  fulcio = await startFulcioServer({ oidcIssuer: GITHUB_OIDC_ISSUER, oidcPublicKey: oidc.publicKey });
  otherFulcio = await startFulcioServer({ oidcIssuer: GITHUB_OIDC_ISSUER, oidcPublicKey: oidc.publicKey });
  trust = await trustFromPem({ roots: fulcio.anchorsPem });
  delete process.env.SIGSTORE_ID_TOKEN;
  delete process.env.BUILDKITE;
  Object.assign(process.env, oidc.env);
});

afterAll(async () => {
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
  await Promise.all([oidc?.close(), fulcio?.close(), otherFulcio?.close()]);
});

/** A statement the way the statement builder makes it: iss/sub and x5chain protected, signed by `signer`. */
async function statement(x5chain: readonly Uint8Array[], iss: string, signer: Signer): Promise<Uint8Array> {
  const claims = new Map<number, unknown>([
    [Claim.iss, iss],
    [Claim.sub, 'pkg:npm/demo@1.0.0'],
  ]);
  return signSign1({
    protectedHeader: new Map<number, unknown>([
      [Header.cwtClaims, claims],
      [Header.x5chain, [...x5chain]],
    ]),
    payload: PAYLOAD,
    signer,
  });
}

function protectedOf(bytes: Uint8Array) {
  const msg = decodeSign1(bytes);
  const claims = msg.protectedHeader.get(Header.cwtClaims) as Map<number, unknown>;
  return { msg, iss: claims.get(Claim.iss) as string, x5chain: msg.protectedHeader.get(Header.x5chain) as Uint8Array[] };
}

/** Verifies like the release gate: x5chain and iss from the protected header, signature by the leaf key. */
async function verify(bytes: Uint8Array, opts: { policy?: IdentityPolicy; at?: Date; trust?: TrustStore; iss?: string; x5chain?: Uint8Array[] } = {}) {
  const p = protectedOf(bytes);
  return verifyX509Issuer({
    x5chain: opts.x5chain ?? p.x5chain,
    iss: opts.iss ?? p.iss,
    statementKeyCheck: (key) => verifySign1(p.msg, key),
    trust: opts.trust ?? trust,
    at: opts.at ?? new Date(),
    policy: opts.policy ?? POLICY,
  });
}

async function keylessStatement(run: GitHubRun, options: { server?: FulcioServer; signerTrust?: TrustStore } = {}) {
  oidc.run = run;
  const server = options.server ?? fulcio;
  const signer = keylessSigner({ fulcioUrl: server.url, trust: options.signerTrust ?? (server === fulcio ? trust : await trustFromPem({ roots: server.rootPem })) });
  const id = await signer.identity();
  return { signer, id, bytes: await statement(id.x5chain!, id.iss!, signer) };
}

async function refusal(p: Promise<unknown>): Promise<IdentityError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(IdentityError);
  return e as IdentityError;
}

describe('keyless signing through FulcioSigner', () => {
  let signer: KeylessSigner;
  let bytes: Uint8Array;

  beforeAll(async () => {
    ({ signer, bytes } = await keylessStatement(RUN));
  });

  it('gets one token and one certificate, and signs with the key the certificate certifies', async () => {
    const tokens = oidc.issued;
    const certs = fulcio.issued;
    const cert = await signer.certificate();
    const id = await signer.identity();
    expect(oidc.issued).toBe(tokens);
    expect(fulcio.issued).toBe(certs);
    expect(id.kid).toBeUndefined();
    expect(id.x5chain).toHaveLength(2);
    expect(Buffer.from(id.x5chain![1]!).equals(Buffer.from(fulcio.rootDer))).toBe(true);
    const leaf = parseCertificate(id.x5chain![0]!);
    expect(leaf.notAfter.getTime() - leaf.notBefore.getTime()).toBe(10 * 60_000);
    expect(cert.notAfter).toEqual(leaf.notAfter);

    const { msg } = protectedOf(bytes);
    expect(msg.signature).toHaveLength(64); // r‖s, not DER
    expect(verifySign1(msg, certificateKey(leaf)).name).toBe('ES256');
    // a second statement from the same signer reuses the certificate
    const again = await statement(id.x5chain!, id.iss!, signer);
    verifySign1(decodeSign1(again), certificateKey(leaf));
    expect(fulcio.issued).toBe(certs);
  });

  it('binds iss to the chain with a did:x509 pinning the Fulcio root, the workflow URI and the OIDC issuer', async () => {
    const id = await signer.identity();
    const rootDigest = Buffer.from(certificateDigest(fulcio.rootDer)).toString('base64url');
    expect(id.iss).toBe(
      `did:x509:0:sha256:${rootDigest}::san:uri:${encodeURIComponent(WORKFLOW_URI).replace(/\./g, '.')}::fulcio-issuer:token.actions.githubusercontent.com`,
    );
    expect(parseDidX509(id.iss!).predicates).toEqual([
      { type: 'san', sanType: 'uri', value: WORKFLOW_URI },
      { type: 'fulcio-issuer', issuer: 'token.actions.githubusercontent.com' },
    ]);
  });

  it('verifies: path to the mock CA, did:x509 iss, leaf key signed, identity from the GitHub claims, policy met', async () => {
    const r = await verify(bytes, { policy: { ...POLICY, repositoryId: '2000002', ownerId: '1000001', owner: 'octo-org', did: (await signer.identity()).iss! } });
    expect(r.path.der).toHaveLength(2);
    expect(r.did?.predicates).toHaveLength(2);
    expect(r.identity).toMatchObject({
      oidcIssuer: GITHUB_OIDC_ISSUER,
      sanUri: WORKFLOW_URI,
      buildSignerUri: WORKFLOW_URI,
      buildSignerDigest: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
      buildConfigUri: WORKFLOW_URI,
      sourceRepository: `https://github.com/${REPO}`,
      sourceRepositoryRef: 'refs/heads/main',
      sourceRepositoryDigest: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
      sourceRepositoryIdentifier: '2000002',
      ownerUri: 'https://github.com/octo-org',
      ownerIdentifier: '1000001',
      buildTrigger: 'push',
      runnerEnvironment: 'github-hosted',
      runInvocationUri: `https://github.com/${REPO}/actions/runs/7000000001/attempts/1`,
      visibility: 'public',
    });
  });

  it('is valid at any registration time inside the ten minutes, expired just after', async () => {
    const leaf = parseCertificate((await signer.identity()).x5chain![0]!);
    await verify(bytes, { at: new Date(leaf.notAfter.getTime() - 1000) });
    const e = await refusal(verify(bytes, { at: new Date(leaf.notAfter.getTime() + 1000) }));
    expect(e.code).toBe('ERR_X509_VALIDITY');
    expect(e.message).toContain(`to ${leaf.notAfter.toISOString()}, not at ${new Date(leaf.notAfter.getTime() + 1000).toISOString()}`);
  });

  it('refuses to sign once the certificate has expired', async () => {
    let clock = new Date();
    const s = keylessSigner({ fulcioUrl: fulcio.url, trust, now: () => clock });
    await s.identity();
    clock = new Date(Date.now() + 11 * 60_000);
    const e = await refusal(s.sign(new Uint8Array([1, 2, 3])));
    expect(e.code).toBe('ERR_KEYLESS_CERTIFICATE');
  });
});

describe('keyless signing from a child process', () => {
  it('reaches the loopback OIDC endpoint and Fulcio through environment variables alone', async () => {
    oidc.run = RUN;
    const dir = mkdtempSync(join(tmpdir(), 'scitt-keyless-'));
    try {
      const rootPem = join(dir, 'fulcio-root.pem');
      writeFileSync(rootPem, fulcio.rootPem);
      const { stdout } = await promisify(execFile)(process.execPath, [join(import.meta.dirname, 'helpers', 'identity-keyless-child.ts')], {
        env: { PATH: process.env.PATH ?? '', ...oidc.env, SCITT_TEST_FULCIO_URL: fulcio.url, SCITT_TEST_FULCIO_ROOT_PEM: rootPem },
      });
      const r = await verify(new Uint8Array(Buffer.from(stdout, 'base64')));
      expect(r.identity.buildSignerUri).toBe(WORKFLOW_URI);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('keyless signing failures', () => {
  it('without a runner token: ERR_KEYLESS_TOKEN naming id-token: write, never echoing a token', async () => {
    oidc.run = RUN;
    const good = process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
    process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN = 'wrong';
    try {
      const e = await refusal(keylessSigner({ fulcioUrl: fulcio.url, trust, retries: 0 }).identity());
      expect(e.code).toBe('ERR_KEYLESS_TOKEN');
      expect(e.message).toContain('id-token: write');
      expect(e.message).toContain('returned no JWT');
      delete process.env.ACTIONS_ID_TOKEN_REQUEST_URL;
      const none = await refusal(keylessSigner({ fulcioUrl: fulcio.url, trust, retries: 0 }).identity());
      expect(none.code).toBe('ERR_KEYLESS_TOKEN');
      expect(none.message).toContain('no OIDC token');
    } finally {
      process.env.ACTIONS_ID_TOKEN_REQUEST_URL = oidc.requestUrl;
      process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN = good;
    }
  });

  it('Fulcio refuses a token from another issuer: ERR_KEYLESS_CERTIFICATE', async () => {
    oidc.run = { ...RUN, issuer: 'https://token.actions.githubusercontent.com/hammer-time' };
    const e = await refusal(keylessSigner({ fulcioUrl: fulcio.url, trust, retries: 0 }).identity());
    expect(e.code).toBe('ERR_KEYLESS_CERTIFICATE');
    expect(e.message).toContain(fulcio.url);
    expect(e.message).toContain('not trusted');
  });

  it('refuses a certificate for a key other than its ephemeral key', async () => {
    oidc.run = RUN;
    const rogue = await startFulcioServer({ oidcIssuer: GITHUB_OIDC_ISSUER, oidcPublicKey: oidc.publicKey, certifyOtherKey: true });
    try {
      const e = await refusal(keylessSigner({ fulcioUrl: rogue.url, trust: await trustFromPem({ roots: rogue.rootPem }), retries: 0 }).identity());
      expect(e.code).toBe('ERR_X509_KEY_MISMATCH');
      expect(rogue.issued).toBe(1);
    } finally {
      await rogue.close();
    }
  });

  it('refuses a certificate that does not chain to the trust it was given', async () => {
    oidc.run = RUN;
    const e = await refusal(keylessSigner({ fulcioUrl: otherFulcio.url, trust, retries: 0 }).identity());
    expect(e.code).toBe('ERR_X509_UNTRUSTED');
  });
});

describe('verifier refusals', () => {
  it('wrong repository', async () => {
    const { bytes } = await keylessStatement(RUN);
    const e = await refusal(verify(bytes, { policy: { repo: 'octo-org/other', signerWorkflow: 'octo-org/scitt-demo/.github/workflows/release.yml' } }));
    expect(e.code).toBe('ERR_IDENTITY_POLICY');
    expect(e.refusals).toEqual([{ field: 'repo', expected: 'https://github.com/octo-org/other', actual: `https://github.com/${REPO}` }]);
    expect(e.message).toContain(`policy repo requires https://github.com/octo-org/other, but the certificate's source repository (1.3.6.1.4.1.57264.1.12) is "https://github.com/${REPO}"`);
  });

  it('wrong workflow and wrong pinned ref of the workflow', async () => {
    const { bytes } = await keylessStatement(RUN);
    const e = await refusal(verify(bytes, { policy: { ...POLICY, signerWorkflow: `${REPO}/.github/workflows/ci.yml` } }));
    expect(e.refusals).toEqual([{ field: 'signerWorkflow', expected: `https://github.com/${REPO}/.github/workflows/ci.yml`, actual: WORKFLOW_URI }]);
    const pinned = await refusal(verify(bytes, { policy: { ...POLICY, signerWorkflow: `${REPO}/.github/workflows/release.yml@refs/tags/v1` } }));
    expect(pinned.refusals[0]).toMatchObject({ field: 'signerWorkflow', actual: WORKFLOW_URI });
    await verify(bytes, { policy: { ...POLICY, signerWorkflow: /^https:\/\/github\.com\/octo-org\/scitt-demo\/\.github\/workflows\/release\.yml@refs\/heads\/main$/ } });
    const re = await refusal(verify(bytes, { policy: { ...POLICY, signerWorkflow: /^https:\/\/github\.com\/octo-org\/scitt-demo\/\.github\/workflows\/deploy\.yml@/ } }));
    expect(re.refusals[0]).toMatchObject({ field: 'signerWorkflow', actual: WORKFLOW_URI });
  });

  it('wrong ref', async () => {
    const { bytes } = await keylessStatement({ ...RUN, ref: 'refs/heads/feature' });
    const e = await refusal(verify(bytes, { policy: { repo: REPO, sourceRef: 'refs/heads/main' } }));
    expect(e.refusals).toEqual([{ field: 'sourceRef', expected: 'refs/heads/main', actual: 'refs/heads/feature' }]);
  });

  it("a fork's identity: the fork's repository and id are not the policy's", async () => {
    const { bytes } = await keylessStatement({ ...RUN, repository: 'mallory/scitt-demo', repositoryId: '6660666', ownerId: '6666666' });
    const e = await refusal(verify(bytes, { policy: { repo: REPO, repositoryId: '2000002' } }));
    expect(e.refusals.map((r) => [r.field, r.actual])).toEqual([
      ['repo', 'https://github.com/mallory/scitt-demo'],
      ['repositoryId', '6660666'],
      ['repo', 'https://github.com/mallory/scitt-demo/.github/workflows/release.yml@refs/heads/main'],
    ]);
  });

  it('pull request runs: pull_request_target on the base repository and pull_request on refs/pull/… are refused by default', async () => {
    const target = await keylessStatement({ ...RUN, eventName: 'pull_request_target' });
    const e = await refusal(verify(target.bytes, { policy: { repo: REPO } }));
    expect(e.refusals).toEqual([{ field: 'allowPullRequests', expected: 'a trigger other than pull_request/pull_request_target', actual: 'pull_request_target' }]);
    const pr = await keylessStatement({ ...RUN, eventName: 'pull_request', ref: 'refs/pull/7/merge' });
    const e2 = await refusal(verify(pr.bytes, { policy: { repo: REPO } }));
    expect(e2.refusals[0]).toMatchObject({ field: 'allowPullRequests', actual: 'pull_request' });
    // a policy that opts in accepts them, but still pins the ref if asked
    await verify(pr.bytes, { policy: { repo: REPO, allowPullRequests: true } });
    const e3 = await refusal(verify(pr.bytes, { policy: { repo: REPO, allowPullRequests: true, sourceRef: 'refs/heads/main' } }));
    expect(e3.refusals).toEqual([{ field: 'sourceRef', expected: 'refs/heads/main', actual: 'refs/pull/7/merge' }]);
  });

  it('self-hosted runner when GitHub-hosted is required', async () => {
    const { bytes } = await keylessStatement({ ...RUN, runnerEnvironment: 'self-hosted' });
    const e = await refusal(verify(bytes));
    expect(e.refusals).toEqual([{ field: 'denySelfHostedRunners', expected: 'github-hosted or gitlab-hosted or buildkite-hosted', actual: 'self-hosted' }]);
    await verify(bytes, { policy: { ...POLICY, denySelfHostedRunners: false } });
  });

  it('certificate from an untrusted root', async () => {
    const { bytes } = await keylessStatement(RUN, { server: otherFulcio });
    const e = await refusal(verify(bytes));
    expect(e.code).toBe('ERR_X509_UNTRUSTED');
    expect(e.message).toContain('is issued by "CN=sigstore, O=sigstore.mock"');
  });

  it('a policy that names nothing to pin is a usage error, not an open door', async () => {
    const { bytes } = await keylessStatement(RUN);
    const e = await refusal(verify(bytes, { policy: {} }));
    expect(e.code).toBe('ERR_USAGE');
  });

  it('iss that does not match the chain: another workflow, another CA, or a non-SAN URI', async () => {
    const { bytes, id } = await keylessStatement(RUN);
    const did = parseDidX509(id.iss!);
    const otherWorkflow = formatDidX509({ ...did, predicates: [{ type: 'san', sanType: 'uri', value: `https://github.com/${REPO}/.github/workflows/ci.yml@refs/heads/main` }] });
    const e1 = await refusal(verify(bytes, { iss: otherWorkflow }));
    expect(e1.code).toBe('ERR_DID_X509_MISMATCH');
    expect(e1.message).toContain(`the leaf has uri:${WORKFLOW_URI}`);
    const otherCa = formatDidX509({ ...did, caDigest: Buffer.from(certificateDigest(otherFulcio.rootDer)).toString('base64url') });
    expect((await refusal(verify(bytes, { iss: otherCa }))).code).toBe('ERR_DID_X509_MISMATCH');
    const otherIssuer = formatDidX509({ ...did, predicates: [...did.predicates.slice(0, 1), { type: 'fulcio-issuer', issuer: 'accounts.google.com' }] });
    expect((await refusal(verify(bytes, { iss: otherIssuer }))).message).toContain('the leaf says https://token.actions.githubusercontent.com');
    const plain = await refusal(verify(bytes, { iss: 'https://scitt.example/issuer' }));
    expect(plain.code).toBe('ERR_ISSUER_MISMATCH');
    // the workflow URI itself (the leaf's SAN) is an acceptable non-DID iss
    await verify(bytes, { iss: WORKFLOW_URI });
  });

  it('leaf certificate whose key did not sign the statement', async () => {
    oidc.run = RUN;
    const keyless = keylessSigner({ fulcioUrl: fulcio.url, trust });
    const id = await keyless.identity();
    const forged = await statement(id.x5chain!, id.iss!, keySigner(generateKey('P-256')));
    const e = await verify(forged).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(SignatureError);
    expect((e as SignatureError).code).toBe('ERR_COSE_SIGNATURE_INVALID');
    expect((e as SignatureError).message).toContain('public key of the x5chain leaf');
  });

  it('oversized x5chain: too many certificates, or one too large', async () => {
    const { bytes, id } = await keylessStatement(RUN);
    const many = Array.from({ length: 9 }, () => id.x5chain![0]!);
    const e1 = await refusal(verify(bytes, { x5chain: many }));
    expect(e1.code).toBe('ERR_X509_LIMIT');
    expect(e1.message).toContain('9 certificates');
    const huge = await refusal(verify(bytes, { x5chain: [new Uint8Array(16 * 1024 + 1), ...id.x5chain!] }));
    expect(huge.code).toBe('ERR_X509_LIMIT');
    const garbage = await refusal(verify(bytes, { x5chain: [encode('not a certificate')] }));
    expect(garbage.code).toBe('ERR_X509_MALFORMED');
  });
});

describe('key issuer signer', () => {
  it('contributes the RFC 9679 thumbprint as kid and signs verifiably', async () => {
    const key = generateKey('P-384');
    const s = keyIssuerSigner(key);
    const id = await s.identity();
    expect(Buffer.from(id.kid!).equals(Buffer.from(thumbprint(key)))).toBe(true);
    expect(id.x5chain).toBeUndefined();
    expect(s.algorithm.name).toBe('ES384');
    const bytes = await signSign1({ protectedHeader: new Map<number, unknown>([[Header.kid, id.kid]]), payload: PAYLOAD, signer: s });
    verifySign1(decodeSign1(bytes), key);
  });

  it('refuses an x5chain whose leaf certifies another key', async () => {
    oidc.run = RUN;
    const id = await keylessSigner({ fulcioUrl: fulcio.url, trust }).identity();
    expect(() => keyIssuerSigner(generateKey('P-256'), { x5chain: id.x5chain! })).toThrow(expect.objectContaining({ code: 'ERR_X509_KEY_MISMATCH' }));
  });
});
