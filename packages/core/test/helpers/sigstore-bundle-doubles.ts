/**
 * Sigstore bundles as actions/attest makes them, made here against local doubles: the real
 * @sigstore/sign DSSEBundleBuilder with its FulcioSigner (certificate from the Fulcio double of
 * identity-fulcio-server.ts, which checks the OIDC token and proof of possession) and RekorWitness
 * (entry from @sigstore/mock's Rekor log, served over loopback like the Fulcio double). The trusted
 * root names the doubles' CA, CT log and Rekor log keys, so @sigstore/verify checks these bundles in
 * full: signature, chain and SCT, log entry.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { initializeTLog, rekorHandler } from '@sigstore/mock';
import { bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder, FulcioSigner, RekorWitness } from '@sigstore/sign';
import { type FulcioServer, readBody, startFulcioServer } from './identity-fulcio-server.ts';
import { GITHUB_OIDC_ISSUER, type GitHubRun, githubClaims, signJwt } from './oidc-server.ts';

export interface SigstoreDoubles {
  /** trusted_root.json for the doubles: Fulcio CA, CT log, Rekor log */
  readonly trustedRootJson: string;
  /** a bundle (JSON bytes) over `statement` (an in-toto Statement), signed as a workflow of `run` */
  bundle(statement: unknown, run: GitHubRun): Promise<Uint8Array>;
  close(): Promise<void>;
}

export async function startSigstoreDoubles(): Promise<SigstoreDoubles> {
  const oidc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const fulcio: FulcioServer = await startFulcioServer({ oidcIssuer: GITHUB_OIDC_ISSUER, oidcPublicKey: oidc.publicKey });
  // set once the log knows the server's URL (its checkpoints name the host)
  const state: { handler?: ReturnType<typeof rekorHandler> } = {};
  const rekor = createServer((req, res) => {
    // a Rekor entry request: an in-toto envelope and its certificate
    void readBody(req, 256 * 1024).then(async (text) => {
      const handler = state.handler;
      if (req.method !== 'POST' || !handler || req.url !== handler.path) {
        res.writeHead(404).end();
        return;
      }
      const out = await handler.fn(text);
      res.writeHead(out.statusCode, { 'content-type': out.contentType ?? 'text/plain' });
      res.end(typeof out.response === 'string' ? out.response : Buffer.from(out.response.buffer, out.response.byteOffset, out.response.byteLength));
    });
  });
  await new Promise<void>((resolve) => rekor.listen(0, '127.0.0.1', resolve));
  const rekorUrl = `http://127.0.0.1:${(rekor.address() as AddressInfo).port}`;
  const tlog = await initializeTLog(rekorUrl, generateKeyPairSync('ec', { namedCurve: 'P-256' }));
  state.handler = rekorHandler(tlog);

  const root = JSON.parse(fulcio.trustedRootJson) as Record<string, unknown>;
  root.tlogs = [
    {
      baseUrl: rekorUrl,
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: tlog.publicKey.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: '2020-01-01T00:00:00Z' } },
      logId: { keyId: createHash('sha256').update(tlog.publicKey).digest('base64') },
    },
  ];
  return {
    trustedRootJson: JSON.stringify(root),
    async bundle(statement, run) {
      const token = signJwt(githubClaims(run, 'sigstore'), oidc.privateKey, 'doubles');
      const builder = new DSSEBundleBuilder({
        signer: new FulcioSigner({ fulcioBaseURL: fulcio.url, identityProvider: { getToken: async () => token } }),
        witnesses: [new RekorWitness({ rekorBaseURL: rekorUrl, entryType: 'intoto' })],
      });
      const b = await builder.create({ data: Buffer.from(JSON.stringify(statement)), type: 'application/vnd.in-toto+json' });
      return Buffer.from(JSON.stringify(bundleToJSON(b)));
    },
    close: async () => {
      await fulcio.close();
      await new Promise<void>((resolve) => {
        rekor.close(() => resolve());
        rekor.closeAllConnections();
      });
    },
  };
}
