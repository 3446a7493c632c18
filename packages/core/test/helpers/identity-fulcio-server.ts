/**
 * @sigstore/mock's Fulcio double (its CA and /api/v2/signingCert handler) served over loopback HTTP,
 * so the real FulcioSigner — in this process or in a child process — reaches it by URL. @sigstore/mock
 * itself only intercepts in-process (nock), and there is no @sigstore/mock-server package on npm.
 *
 * In front of the mock handler this server does what the real Fulcio does and the mock skips: it
 * verifies the OIDC token's signature, issuer, audience and lifetime, and the proof of possession
 * (the token subject signed by the key to certify). Like the real Fulcio for GitHub Actions, the
 * SAN is https://github.com/ + job_workflow_ref. With `ciIssuers`, it also certifies GitLab, CircleCI
 * and Buildkite tokens (signed by the same test key) with the SAN and extensions Fulcio's identity
 * configuration gives each (helpers/ci-identities.ts), through the same mock CA.
 */
import { type KeyObject, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { type AddressInfo } from 'node:net';
import { type IncomingMessage, createServer } from 'node:http';
import { fulcioHandler, initializeCA, initializeCTLog } from '@sigstore/mock';
import { certificateToPem } from '../../src/identity/certificate.ts';
import { ciOfIssuer, fulcioFields } from './ci-identities.ts';

export interface FulcioServerOptions {
  /** the OIDC issuer whose tokens are accepted, and its token-signing key */
  oidcIssuer: string;
  oidcPublicKey: KeyObject;
  audience?: string;
  /** misbehave: certify a key of the server's own instead of the one requested (to test that signers notice) */
  certifyOtherKey?: boolean;
  /** a private Fulcio without a CT log: leaves carry no SCT (default: @sigstore/mock's CT log embeds one) */
  withoutCtLog?: boolean;
  /** also accept tokens of https://gitlab.com, https://agent.buildkite.com and https://oidc.circleci.com/org/* */
  ciIssuers?: boolean;
}

export interface FulcioServer {
  /** base URL for FulcioSigner (`fulcioBaseURL`) */
  readonly url: string;
  /** the mock CA root that issues the leaves, DER and PEM */
  readonly rootDer: Uint8Array;
  readonly rootPem: string;
  /** the CT log's public key (PEM SPKI); undefined without a CT log */
  readonly ctLogPem: string | undefined;
  /** what a verifier of this Fulcio trusts as one PEM file: the root certificate and the CT log key */
  readonly anchorsPem: string;
  /** the same as a Sigstore trusted_root.json (certificateAuthorities and ctlogs) */
  readonly trustedRootJson: string;
  /** certificates issued so far */
  readonly issued: number;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

/** A request body as text, at most `max` bytes: a larger one resets the connection and is never answered. */
export function readBody(req: IncomingMessage, max = MAX_BODY): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function checkToken(jwt: string, opts: FulcioServerOptions): Record<string, unknown> {
  const parts = jwt.split('.');
  if (parts.length !== 3) throw new Error('identity token is not a JWS compact serialization');
  const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString()) as { alg?: string };
  if (header.alg !== 'ES256') throw new Error(`identity token alg ${header.alg} is not ES256`);
  const ok = verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), { key: opts.oidcPublicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2]!, 'base64url'));
  if (!ok) throw new Error('identity token signature does not verify');
  const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString()) as Record<string, unknown>;
  const now = Date.now() / 1000;
  if (claims.iss !== opts.oidcIssuer && !(opts.ciIssuers && ciOfIssuer(String(claims.iss)))) throw new Error(`identity token issuer ${String(claims.iss)} is not trusted`);
  const aud = opts.audience ?? 'sigstore';
  if (!(claims.aud === aud || (Array.isArray(claims.aud) && claims.aud.includes(aud)))) throw new Error(`identity token audience is not ${aud}`);
  if (typeof claims.exp !== 'number' || claims.exp < now) throw new Error('identity token expired');
  if (typeof claims.nbf === 'number' && claims.nbf > now + 60) throw new Error('identity token not yet valid');
  return claims;
}

function checkProofOfPossession(body: { publicKeyRequest?: { publicKey?: { content?: string }; proofOfPossession?: string } }, subject: string): void {
  const pem = body.publicKeyRequest?.publicKey?.content;
  const pop = body.publicKeyRequest?.proofOfPossession;
  if (!pem || !pop) throw new Error('publicKeyRequest with publicKey.content and proofOfPossession is required');
  if (!verify('sha256', Buffer.from(subject), createPublicKey(pem), Buffer.from(pop, 'base64'))) {
    throw new Error('proof of possession does not verify: the token subject must be signed with the key to certify');
  }
}

export async function startFulcioServer(opts: FulcioServerOptions): Promise<FulcioServer> {
  const ctLog = opts.withoutCtLog ? undefined : await initializeCTLog(generateKeyPairSync('ec', { namedCurve: 'P-256' }));
  const ca = await initializeCA(generateKeyPairSync('ec', { namedCurve: 'P-256' }), ctLog);
  const githubCa: typeof ca = {
    rootCertificate: ca.rootCertificate,
    issueCertificate: (req) => ca.issueCertificate({ ...req, subjectAltName: `https://github.com/${req.subjectAltName}` }),
  };
  const handler = fulcioHandler(githubCa, { strict: true, subjectClaim: 'job_workflow_ref' });
  let issued = 0;
  const server = createServer((req, res) => {
    const reply = (status: number, body: string, contentType = 'application/json') => {
      res.writeHead(status, { 'content-type': contentType });
      res.end(body);
    };
    if (req.method !== 'POST' || req.url !== handler.path) return reply(404, JSON.stringify({ code: 5, message: 'not found' }));
    void readBody(req).then(async (text) => {
      let claims: Record<string, unknown>;
      try {
        const body = JSON.parse(text) as { credentials?: { oidcIdentityToken?: string } };
        claims = checkToken(body.credentials?.oidcIdentityToken ?? '', opts);
        checkProofOfPossession(body as never, String(claims.email ?? claims.sub));
      } catch (e) {
        return reply(401, JSON.stringify({ code: 16, message: (e as Error).message }));
      }
      const ci = opts.ciIssuers ? ciOfIssuer(String(claims.iss)) : undefined;
      if (ci) {
        const body = JSON.parse(text) as { publicKeyRequest: { publicKey: { content: string } } };
        const { san, extensions } = fulcioFields(ci, claims);
        const leaf = await ca.issueCertificate({ publicKey: createPublicKey(body.publicKeyRequest.publicKey.content).export({ type: 'spki', format: 'der' }), subjectAltName: san, extensions });
        issued++;
        const pem = (der: ArrayBufferView) => certificateToPem(new Uint8Array(der.buffer, der.byteOffset, der.byteLength));
        return reply(201, JSON.stringify({ signedCertificateEmbeddedSct: { chain: { certificates: [pem(leaf), pem(ca.rootCertificate)] } } }));
      }
      let forward = text;
      if (opts.certifyOtherKey) {
        const body = JSON.parse(text) as { publicKeyRequest: { publicKey: { content: string } } };
        body.publicKeyRequest.publicKey.content = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
        forward = JSON.stringify(body);
      }
      const out = await handler.fn(forward);
      if (out.statusCode === 201) issued++;
      reply(out.statusCode, typeof out.response === 'string' ? out.response : Buffer.from(out.response.buffer).toString(), out.contentType);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const rootDer = new Uint8Array(ca.rootCertificate.buffer, ca.rootCertificate.byteOffset, ca.rootCertificate.byteLength);
  const ctLogPem = ctLog && createPublicKey({ key: ctLog.publicKey, format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }).toString();
  const b64 = (v: ArrayBufferView) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    certificateAuthorities: [{ subject: { organization: 'sigstore.mock', commonName: 'sigstore' }, certChain: { certificates: [{ rawBytes: b64(rootDer) }] }, validFor: { start: '2020-01-01T00:00:00Z' } }],
    ctlogs: ctLog
      ? [{ hashAlgorithm: 'SHA2_256', publicKey: { rawBytes: b64(ctLog.publicKey), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: '2020-01-01T00:00:00Z' } }, logId: { keyId: b64(ctLog.logID) } }]
      : [],
    timestampAuthorities: [],
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    rootDer,
    rootPem: certificateToPem(rootDer),
    ctLogPem,
    anchorsPem: certificateToPem(rootDer) + (ctLogPem ?? ''),
    trustedRootJson: JSON.stringify(trustedRoot),
    get issued() {
      return issued;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}
