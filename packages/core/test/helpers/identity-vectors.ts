/** The real Fulcio-issued GitHub Actions material in /work/shared/vectors/sigstore (see its README). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const SIGSTORE_VECTORS = '/work/shared/vectors/sigstore';

export interface RealBundle {
  name: string;
  leafPemFile: string;
  leafDer: Uint8Array;
  /** Rekor integratedTime of the bundle: when the 10-minute leaf was valid */
  integratedTime: Date;
}

function load(bundleFile: string, leafPemFile: string): RealBundle {
  const b = JSON.parse(readFileSync(join(SIGSTORE_VECTORS, bundleFile), 'utf8')) as {
    verificationMaterial: { certificate: { rawBytes: string }; tlogEntries: { integratedTime: string }[] };
  };
  return {
    name: bundleFile,
    leafPemFile,
    leafDer: new Uint8Array(Buffer.from(b.verificationMaterial.certificate.rawBytes, 'base64')),
    integratedTime: new Date(Number(b.verificationMaterial.tlogEntries[0]!.integratedTime) * 1000),
  };
}

export const directWorkflow = load('sigstore-js-2.1.0-bundle.json', 'sigstore-js-2.1.0-bundle.leaf.pem');
export const reusableWorkflow = load('reusable-workflow-attestation.sigstore.json', 'reusable-workflow-attestation.sigstore.leaf.pem');
export const customIssuer = load('custom-issuer.sigstore.json', 'custom-issuer.sigstore.leaf.pem');
export const realBundles = [directWorkflow, reusableWorkflow, customIssuer];

export const vectorFile = (name: string) => join(SIGSTORE_VECTORS, name);
export const vectorText = (name: string) => readFileSync(vectorFile(name), 'utf8');
