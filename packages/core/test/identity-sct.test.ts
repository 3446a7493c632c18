/**
 * Certificate Transparency: a keyless leaf is accepted only with an SCT that verifies with a CT log
 * key of the trusted root valid at the SCT's time (identity/sct.ts, through @sigstore/verify), or
 * when the trust explicitly says its Fulcio has no CT log. Leaves come from @sigstore/mock's Fulcio
 * and CT log over loopback, and from the public-good Sigstore (real certificates, real trusted root).
 */
import { readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityError } from '../src/errors.ts';
import {
  type TrustStore,
  checkSct,
  keylessSigner,
  trustFromPem,
  trustFromSigstoreTrustedRoot,
  validatePath,
  withoutCtLog,
} from '../src/identity/index.ts';
import { type FulcioServer, startFulcioServer } from './helpers/identity-fulcio-server.ts';
import { GITHUB_OIDC_ISSUER, type GitHubRun, type OidcServer, startOidcServer } from './helpers/oidc-server.ts';
import { directWorkflow, realBundles, vectorFile } from './helpers/identity-vectors.ts';

const RUN: GitHubRun = { repository: 'octo-org/app', workflowPath: '.github/workflows/release.yml', ref: 'refs/heads/main', repositoryId: '2', ownerId: '1' };

let oidc: OidcServer;
let logged: FulcioServer;
let unlogged: FulcioServer;
let otherLog: FulcioServer;
const savedEnv = { ...process.env };

beforeAll(async () => {
  oidc = await startOidcServer(RUN);
  [logged, unlogged, otherLog] = await Promise.all([
    startFulcioServer({ oidcIssuer: GITHUB_OIDC_ISSUER, oidcPublicKey: oidc.publicKey }),
    startFulcioServer({ oidcIssuer: GITHUB_OIDC_ISSUER, oidcPublicKey: oidc.publicKey, withoutCtLog: true }),
    startFulcioServer({ oidcIssuer: GITHUB_OIDC_ISSUER, oidcPublicKey: oidc.publicKey }),
  ]);
  delete process.env.SIGSTORE_ID_TOKEN;
  Object.assign(process.env, oidc.env);
});

afterAll(async () => {
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
  await Promise.all([oidc?.close(), logged?.close(), unlogged?.close(), otherLog?.close()]);
});

/** A leaf from `server`, completed to its root. */
async function leafOf(server: FulcioServer): Promise<Uint8Array[]> {
  const signer = keylessSigner({ fulcioUrl: server.url, trust: await trustFromPem({ roots: server.rootPem }) });
  return [...(await signer.identity()).x5chain!];
}

async function check(chain: Uint8Array[], trust: TrustStore, at = new Date()): Promise<void> {
  checkSct(await validatePath(chain, { trust, at }), trust);
}

async function refused(p: Promise<unknown>): Promise<IdentityError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(IdentityError);
  return e as IdentityError;
}

describe('SCT of a keyless leaf', () => {
  it('a leaf logged by the trusted CT log passes: from a PEM bundle (root + CT log key) and from a trusted_root.json', async () => {
    const chain = await leafOf(logged);
    await check(chain, await trustFromPem({ roots: logged.anchorsPem }));
    await check(chain, trustFromSigstoreTrustedRoot(logged.trustedRootJson));
  });

  it('no CT log configured: refused, unless the trust says explicitly that its Fulcio has no CT log', async () => {
    const chain = await leafOf(logged);
    const rootsOnly = await trustFromPem({ roots: logged.rootPem });
    const e = await refused(check(chain, rootsOnly));
    expect(e.code).toBe('ERR_X509_SCT');
    expect(e.message).toContain('no CT log keys are configured');
    expect(e.message).toContain('insecure-ignore-sct');
    await check(chain, withoutCtLog(rootsOnly));
    await check(chain, await trustFromPem({ roots: logged.rootPem, insecureIgnoreSct: true }));
  });

  it('a leaf without an SCT (a Fulcio with no CT log) is refused even when CT logs are configured; accepted only with the explicit option', async () => {
    const chain = await leafOf(unlogged);
    const trust = await trustFromPem({ roots: unlogged.rootPem, ctLogKeys: logged.ctLogPem! });
    const e = await refused(check(chain, trust));
    expect(e.code).toBe('ERR_X509_SCT');
    expect(e.message).toContain('carries no SCT');
    await check(chain, withoutCtLog(await trustFromPem({ roots: unlogged.rootPem })));
  });

  it("an SCT signed by a CT log the trust does not list is refused (another log's key, or a random key)", async () => {
    const chain = await leafOf(logged);
    const other = await trustFromPem({ roots: logged.rootPem, ctLogKeys: otherLog.ctLogPem! });
    expect((await refused(check(chain, other))).code).toBe('ERR_X509_SCT');
    const random = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    expect((await refused(check(chain, await trustFromPem({ roots: logged.rootPem, ctLogKeys: random })))).code).toBe('ERR_X509_SCT');
  });

  it("the CT log key's validity period in the trusted root counts: a key that expired before the SCT was made is refused", async () => {
    const chain = await leafOf(logged);
    const root = JSON.parse(logged.trustedRootJson) as { ctlogs: { publicKey: { validFor: { start: string; end?: string } } }[] };
    root.ctlogs[0]!.publicKey.validFor = { start: '2020-01-01T00:00:00Z', end: '2021-01-01T00:00:00Z' };
    expect((await refused(check(chain, trustFromSigstoreTrustedRoot(root)))).code).toBe('ERR_X509_SCT');
    root.ctlogs[0]!.publicKey.validFor = { start: new Date(Date.now() + 86_400_000).toISOString() };
    expect((await refused(check(chain, trustFromSigstoreTrustedRoot(root)))).code).toBe('ERR_X509_SCT');
  });
});

describe('SCT of real public-good Fulcio leaves', () => {
  const trustedRoot = JSON.parse(readFileSync(vectorFile('trusted_root.json'), 'utf8')) as { ctlogs: { publicKey: { rawBytes: string } }[] };

  it.each(realBundles)('$leafPemFile: its SCT verifies with the ctlogs of trusted_root.json', async (b) => {
    await check([b.leafDer], trustFromSigstoreTrustedRoot(trustedRoot), b.integratedTime);
  });

  it('without the ctlogs, or with their keys swapped for one another, the same leaf is refused', async () => {
    const b = directWorkflow;
    expect((await refused(check([b.leafDer], trustFromSigstoreTrustedRoot({ ...trustedRoot, ctlogs: [] }), b.integratedTime))).code).toBe('ERR_X509_SCT');
    const swapped = structuredClone(trustedRoot);
    [swapped.ctlogs[0]!.publicKey.rawBytes, swapped.ctlogs[1]!.publicKey.rawBytes] = [swapped.ctlogs[1]!.publicKey.rawBytes, swapped.ctlogs[0]!.publicKey.rawBytes];
    expect((await refused(check([b.leafDer], trustFromSigstoreTrustedRoot(swapped), b.integratedTime))).code).toBe('ERR_X509_SCT');
  });
});
