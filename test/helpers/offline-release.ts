/**
 * A small release that the actions handle offline, with keys: an artifact, a small SPDX 2.3 JSON SBOM,
 * the issuer's private key (PEM, an input from a secret) and public key file, and a Transparent Statement
 * about the artifact (a Hash Envelope over the SBOM, with a receipt from a one-leaf log signed by a service
 * key whose PEM is the gate's trust), beside it and in registered/ as register writes it. What
 * issue-statement signs, attach-receipt stores and verify-gate verifies in test/e2e/actions-load.test.ts
 * and test/bench/actions.ts.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKey, publicKey, thumbprint, toPem } from '../../packages/core/src/cose/key.ts';
import { keySigner } from '../../packages/core/src/cose/sign1.ts';
import { leafHash } from '../../packages/core/src/merkle/hash.ts';
import { statementEntry } from '../../packages/core/src/receipt/entry.ts';
import { issueReceipt } from '../../packages/core/src/receipt/issue.ts';
import { attachReceipts } from '../../packages/core/src/receipt/transparent.ts';
import { createSignedStatement } from '../../packages/core/src/statement/signed-statement.ts';
import { statementName } from '../../packages/core/src/storage/naming.ts';

export interface OfflineRelease {
  dir: string;
  /** issue-statement's inputs: sign the SBOM about the artifact with the issuer's key */
  issueInputs: Record<string, string>;
  /** verify-gate's inputs: the artifact, the service's and the issuer's public keys as files */
  gateInputs: Record<string, string>;
  /** attach-receipt's inputs: the Transparent Statement as register writes it, stored beside the artifact */
  attachInputs: Record<string, string>;
}

const SPDX = (sha256: string) => ({
  spdxVersion: 'SPDX-2.3',
  dataLicense: 'CC0-1.0',
  SPDXID: 'SPDXRef-DOCUMENT',
  name: 'app-1.0.0',
  documentNamespace: 'https://acme.example/spdx/app-1.0.0',
  creationInfo: { created: '2026-01-01T00:00:00Z', creators: ['Tool: release-build'] },
  packages: [{ SPDXID: 'SPDXRef-app', name: 'app', versionInfo: '1.0.0', downloadLocation: 'NOASSERTION', checksums: [{ algorithm: 'SHA256', checksumValue: sha256 }] }],
  documentDescribes: ['SPDXRef-app'],
});

export async function offlineRelease(dir: string): Promise<OfflineRelease> {
  mkdirSync(dir, { recursive: true });
  const artifact = Buffer.from('release bytes 1.0.0\n');
  const sha256 = createHash('sha256').update(artifact).digest('hex');
  const sbom = Buffer.from(JSON.stringify(SPDX(sha256), null, 2));
  writeFileSync(join(dir, 'app.tar'), artifact);
  writeFileSync(join(dir, 'sbom.spdx.json'), sbom);
  const issuer = generateKey('P-256');
  const service = generateKey('P-256');
  const issuerPem = toPem(issuer, { includePrivate: true });
  writeFileSync(join(dir, 'issuer.pub.pem'), toPem(publicKey(issuer)));
  writeFileSync(join(dir, 'service.pub.pem'), toPem(publicKey(service)));
  const signed = await createSignedStatement({
    payload: createHash('sha256').update(sbom).digest(),
    signer: keySigner(issuer),
    kid: thumbprint(issuer),
    iss: 'https://acme.example/releases',
    sub: `pkg:generic/app.tar?checksum=sha256:${sha256}`,
    iat: 1_700_000_000,
    hashEnvelope: { hashAlg: -16, preimageContentType: 'application/spdx+json', location: 'sbom.spdx.json' },
  });
  const receipt = await issueReceipt({ signer: keySigner(service), kid: thumbprint(service), iss: 'https://ts.example', iat: 1_700_000_100, proof: { treeSize: 1, leafIndex: 0, path: [] }, root: leafHash(statementEntry(signed)) });
  const transparent = attachReceipts(signed, [receipt]);
  writeFileSync(join(dir, statementName('app.tar')), transparent);
  mkdirSync(join(dir, 'registered'));
  writeFileSync(join(dir, 'registered', 'app.tar.scitt'), transparent);
  return {
    dir,
    issueInputs: { 'subject-path': 'app.tar', 'evidence-path': 'sbom.spdx.json', signing: 'key', 'signing-key': issuerPem, issuer: 'https://acme.example/releases', 'output-dir': 'issued' },
    gateInputs: { 'subject-path': 'app.tar', 'transparency-service-keys': 'service.pub.pem', 'issuer-key': 'issuer.pub.pem' },
    attachInputs: { 'statement-path': 'registered/app.tar.scitt', 'subject-path': 'app.tar' },
  };
}
