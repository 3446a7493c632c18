/**
 * The keyless registration policy requires the certificate's SCT like every verifier: a Fulcio leaf
 * not logged in a CT log the policy lists is refused, unless the policy says explicitly
 * (x509.insecureIgnoreSct) that its private Fulcio has no CT log. @sigstore/mock's Fulcio and CT log
 * over loopback, the real keyless signer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keylessSigner, trustFromPem } from '@scitt-actions/core/identity';
import { issueSignedStatement } from '@scitt-actions/core/statement';
import { CompiledPolicy, parsePolicy } from '../src/registration-policy.ts';
import { type FulcioServer, startFulcioServer } from '../../core/test/helpers/identity-fulcio-server.ts';
import { GITHUB_OIDC_ISSUER, type OidcServer, startOidcServer } from '../../core/test/helpers/oidc-server.ts';

let oidc: OidcServer;
let logged: FulcioServer;
let unlogged: FulcioServer;
const savedEnv = { ...process.env };

beforeAll(async () => {
  oidc = await startOidcServer({ repository: 'acme/app', workflowPath: '.github/workflows/release.yml', ref: 'refs/heads/main' });
  [logged, unlogged] = await Promise.all([
    startFulcioServer({ oidcIssuer: GITHUB_OIDC_ISSUER, oidcPublicKey: oidc.publicKey }),
    startFulcioServer({ oidcIssuer: GITHUB_OIDC_ISSUER, oidcPublicKey: oidc.publicKey, withoutCtLog: true }),
  ]);
  delete process.env.SIGSTORE_ID_TOKEN;
  Object.assign(process.env, oidc.env);
});

afterAll(async () => {
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
  await Promise.all([oidc?.close(), logged?.close(), unlogged?.close()]);
});

async function statementFrom(fulcio: FulcioServer): Promise<Uint8Array> {
  const signer = keylessSigner({ fulcioUrl: fulcio.url, trust: await trustFromPem({ roots: fulcio.rootPem }) });
  return issueSignedStatement({ signer, sub: 'pkg:generic/app@1.0.0', payload: new TextEncoder().encode('{"sbom":true}') });
}

const policy = (x509: Record<string, unknown>) => new CompiledPolicy(parsePolicy(JSON.stringify({ issuers: [], x509: { identity: { repo: 'acme/app' }, ...x509 } })));

async function refusal(p: Promise<unknown>): Promise<{ status: number; message: string }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err as { status: number; message: string },
  );
  expect(e).toBeDefined();
  return e!;
}

describe('keyless registration policy and Certificate Transparency', () => {
  it('admits a leaf logged by a CT log whose key the policy lists beside the root', async () => {
    await policy({ roots: [logged.anchorsPem] }).check(await statementFrom(logged));
  });

  it('refuses a leaf when the policy lists no CT log, or when the leaf carries no SCT', async () => {
    const noLog = await refusal(policy({ roots: [logged.rootPem] }).check(await statementFrom(logged)));
    expect(noLog.status).toBe(400);
    expect(noLog.message).toContain('ERR_X509_SCT');
    const noSct = await refusal(policy({ roots: [unlogged.rootPem + logged.ctLogPem!] }).check(await statementFrom(unlogged)));
    expect(noSct.message).toMatch(/carries no SCT.*ERR_X509_SCT/);
  });

  it('admits a leaf without an SCT only when the policy says explicitly that its Fulcio has no CT log', async () => {
    await policy({ roots: [unlogged.rootPem], insecureIgnoreSct: true }).check(await statementFrom(unlogged));
    expect(() => parsePolicy(JSON.stringify({ issuers: [], x509: { roots: [unlogged.rootPem], identity: { repo: 'acme/app' }, insecureIgnoreSct: 'yes' } }))).toThrow(/insecureIgnoreSct/);
  });
});
