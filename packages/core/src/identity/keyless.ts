/**
 * Keyless signing: an ephemeral P-256 key held only in memory, certified by Sigstore Fulcio for the
 * job's OIDC identity (GitHub Actions: ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN; Buildkite: buildkite-agent;
 * GitLab CI, CircleCI and any other: SIGSTORE_ID_TOKEN; audience `sigstore`).
 *
 * @sigstore/sign's FulcioSigner.sign(data) requests a certificate and signs `data` in one call, but
 * the statement's protected header must carry x5chain before the Sig_structure exists. So the
 * FulcioSigner is given our own in-memory key holder: one FulcioSigner.sign call (over a random probe)
 * obtains the certificate — its public key is checked to be ours and the probe signature to verify
 * with it — and the Sig_structure is then signed by that same key holder, whose key the certificate
 * certifies. A second FulcioSigner.sign call would mint a second certificate (another token, another
 * CT log entry) with a different serial than the one already in the protected header.
 */
import { generateKeyPairSync, randomBytes, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
// @sigstore/sign is loaded when a certificate is first requested: verifying never needs it
import type { FulcioSigner, IdentityProvider, Signer as SigstoreSigner } from '@sigstore/sign';
import { IdentityError } from '../errors.ts';
import { useProxyFromEnvironment } from '../http-proxy.ts';
import { sigstoreSign } from '../lazy-deps.cjs';
import { ID_TOKEN_HELP, checkIdToken } from './id-token.ts';
import { ES256 } from '../cose/algorithms.ts';
import { publicKeyObject } from '../cose/key.ts';
import { type Certificate, certificateKey, certificateSpki, certificatesFromPem, parseCertificate, sameBytes } from './certificate.ts';
import { type BuildDidX509Options, buildDidX509 } from './did-x509.ts';
import { type WorkflowIdentity, fulcioIdentity } from './fulcio.ts';
import { validatePath } from './path.ts';
import { type IssuerIdentity, type IssuerSigner } from './signer.ts';
import { type TrustStore } from './trust.ts';

/** the public-good Fulcio instance (@sigstore/sign's DEFAULT_FULCIO_URL) */
export const DEFAULT_FULCIO_URL = 'https://fulcio.sigstore.dev';
/** OIDC audience Fulcio expects. */
export const SIGSTORE_AUDIENCE = 'sigstore';

export interface KeylessSignerOptions {
  /** Fulcio base URL; default the Sigstore public-good instance */
  fulcioUrl?: string;
  /** where the OIDC token comes from; default the CI providers of @sigstore/sign (GitHub Actions first) with audience `sigstore` */
  identityProvider?: IdentityProvider;
  /** CA certificates to complete the chain from the Fulcio leaf to its root (Fulcio returns only the leaf through FulcioSigner) */
  trust: TrustStore;
  /** how the did:x509 iss is built; default pins the root and uses the SAN URI and the Fulcio issuer */
  did?: BuildDidX509Options;
  /** per-request timeout (ms) and retries for Fulcio */
  timeoutMs?: number;
  retries?: number;
  /** clock, for tests */
  now?: () => Date;
}

export interface KeylessCertificate {
  /** leaf first, Fulcio root last */
  readonly x5chain: readonly Uint8Array[];
  readonly identity: WorkflowIdentity;
  readonly iss: string;
  readonly notAfter: Date;
}

export interface KeylessSigner extends IssuerSigner {
  /** the certificate obtained by identity(), with the workflow identity it carries */
  certificate(): Promise<KeylessCertificate>;
}

/** The GitHub Actions (and other CI) OIDC token provider of @sigstore/sign. */
export function ciIdentityProvider(audience: string = SIGSTORE_AUDIENCE): IdentityProvider {
  return { getToken: async () => new (sigstoreSign().CIContextProvider)(audience).getToken() };
}

/** Checks the provider's answer is a JWT before FulcioSigner sees it (its own parse error would print the token). */
function checkedProvider(inner: IdentityProvider, now: () => Date = () => new Date()): IdentityProvider {
  return {
    getToken: async () => {
      let token: unknown;
      try {
        token = await inner.getToken();
      } catch (e) {
        throw new IdentityError('ERR_KEYLESS_TOKEN', `no OIDC token (${e instanceof Error ? e.message : String(e)}): ${ID_TOKEN_HELP}`, { cause: e });
      }
      if (typeof token !== 'string' || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) {
        throw new IdentityError('ERR_KEYLESS_TOKEN', `the OIDC token endpoint returned no JWT (was the request refused?): ${ID_TOKEN_HELP}`);
      }
      // expired, wrong audience: said plainly here instead of as Fulcio's 401
      checkIdToken(token, SIGSTORE_AUDIENCE, now());
      return token;
    },
  };
}

function keylessError(e: unknown, fulcioUrl: string): IdentityError {
  const code = (e as { code?: unknown }).code;
  const cause = (e as { cause?: unknown }).cause;
  if (cause instanceof IdentityError) return cause;
  if (code === 'IDENTITY_TOKEN_READ_ERROR' || code === 'IDENTITY_TOKEN_PARSE_ERROR') {
    // the parse error's message embeds the token itself: never repeat it
    return new IdentityError('ERR_KEYLESS_TOKEN', `the OIDC token has no usable subject claim; check the identity provider (${ID_TOKEN_HELP})`);
  }
  return new IdentityError('ERR_KEYLESS_CERTIFICATE', `Fulcio at ${fulcioUrl} did not issue a signing certificate: ${(e as Error).message}`, { cause: e });
}

export function keylessSigner(options: KeylessSignerOptions): KeylessSigner {
  useProxyFromEnvironment(); // Fulcio and the OIDC token endpoint (http-proxy.ts)
  const fulcioUrl = (options.fulcioUrl ?? DEFAULT_FULCIO_URL).replace(/\/+$/, '');
  const now = options.now ?? (() => new Date());
  // the ephemeral key: generated here, kept in this closure, never exported or written anywhere
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spkiPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const spkiDer = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
  const keyHolder: SigstoreSigner = {
    sign: async (data) => ({ signature: nodeSign('sha256', data, privateKey), key: { $case: 'publicKey', publicKey: spkiPem } }),
  };
  const identityProvider = checkedProvider(options.identityProvider ?? ciIdentityProvider(), now);
  const fulcio = async () => new (sigstoreSign().FulcioSigner)({
    fulcioBaseURL: fulcioUrl,
    identityProvider,
    keyHolder,
    ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
    ...(options.retries !== undefined ? { retry: options.retries } : {}),
  });

  let pending: Promise<{ cert: KeylessCertificate; leaf: Certificate }> | undefined;
  const obtain = () => {
    pending ??= (async () => {
      const probe = randomBytes(32);
      let issued: Awaited<ReturnType<FulcioSigner['sign']>>;
      try {
        issued = await (await fulcio()).sign(probe);
      } catch (e) {
        throw keylessError(e, fulcioUrl);
      }
      if (issued.key.$case !== 'x509Certificate') throw new IdentityError('ERR_KEYLESS_CERTIFICATE', `Fulcio at ${fulcioUrl} returned no certificate`);
      const leafDer = certificatesFromPem(issued.key.certificate)[0]!;
      const leaf = parseCertificate(leafDer, 'Fulcio certificate');
      if (!sameBytes(certificateSpki(leaf), spkiDer)) {
        throw new IdentityError('ERR_X509_KEY_MISMATCH', `Fulcio at ${fulcioUrl} certified a different public key than the ephemeral key it was asked to certify`);
      }
      if (!nodeVerify('sha256', probe, publicKeyObject(certificateKey(leaf)), issued.signature)) {
        throw new IdentityError('ERR_X509_KEY_MISMATCH', 'the probe signature made with the ephemeral key does not verify with the Fulcio certificate');
      }
      // the same checks a verifier will make, now: a certificate we could not verify is not worth signing with
      const path = await validatePath([leafDer], { trust: options.trust, at: now() });
      const identity = fulcioIdentity(leaf);
      const x5chain = path.der;
      const iss = buildDidX509(x5chain, options.did);
      return { cert: { x5chain, identity, iss, notAfter: leaf.notAfter }, leaf };
    })();
    pending.catch(() => {
      pending = undefined;
    });
    return pending;
  };

  return {
    algorithm: ES256,
    async identity(): Promise<IssuerIdentity> {
      const { cert } = await obtain();
      return { x5chain: cert.x5chain, iss: cert.iss };
    },
    async certificate() {
      return (await obtain()).cert;
    },
    async sign(tbs) {
      const { leaf } = await obtain();
      const t = now();
      if (t.getTime() < leaf.notBefore.getTime() || t.getTime() > leaf.notAfter.getTime()) {
        throw new IdentityError(
          'ERR_KEYLESS_CERTIFICATE',
          `the Fulcio certificate is valid from ${leaf.notBefore.toISOString()} to ${leaf.notAfter.toISOString()}, not now (${t.toISOString()}); sign right after identity() with a new signer`,
        );
      }
      // COSE wants r‖s (RFC 9053 §2.1): node:crypto writes it directly
      return new Uint8Array(nodeSign('sha256', tbs, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
    },
  };
}
