/**
 * Sigstore bundles (v0.1–v0.3 JSON, as actions/attest and cosign write them) as evidence: verified
 * with @sigstore/verify against a Sigstore trusted root — DSSE signature, Fulcio certificate chain and
 * SCT, Rekor transparency log entry — before anything in them is believed. What comes out is the
 * in-toto statement the bundle signs (its DSSE payload, the bytes that were signed), who signed it
 * (the leaf certificate, for the identity policy) and where Rekor logged it (for the SCAI reference).
 */
import type { Bundle } from '@sigstore/bundle';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import { sigstoreBundle, sigstoreProtobufSpecs, sigstoreVerify } from '../lazy-deps.cjs';
import { PayloadError } from '../errors.ts';

const SIGSTORE_BUNDLE_MEDIA_TYPE_PREFIX = 'application/vnd.dev.sigstore.bundle';
const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** A bundle is a few KiB; anything this large is not one */
const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

export interface VerifiedSigstoreBundle {
  mediaType: string;
  /** the DSSE payload type, application/vnd.in-toto+json */
  payloadType: string;
  /** the in-toto statement exactly as signed (the DSSE payload bytes) */
  statement: Uint8Array;
  /** the Fulcio leaf (DER), for fulcioIdentity and the identity policy; undefined for a key-signed bundle */
  certificate: Uint8Array | undefined;
  /** the SAN and OIDC issuer @sigstore/verify read from the certificate */
  identity: { san: string | undefined; issuer: string | undefined };
  /** the Rekor entries that logged it */
  tlog: { logIndex: string; logId: string; integratedTime: Date | undefined }[];
}

/** Whether these bytes are a Sigstore bundle (JSON with a bundle mediaType), without verifying anything. */
export function isSigstoreBundle(bytes: Uint8Array): boolean {
  if (bytes.length > MAX_BUNDLE_BYTES) return false;
  const head = Buffer.from(bytes.subarray(0, 4096)).toString('utf8');
  if (!head.includes(SIGSTORE_BUNDLE_MEDIA_TYPE_PREFIX)) return false;
  try {
    const j = JSON.parse(Buffer.from(bytes).toString('utf8')) as { mediaType?: unknown };
    return typeof j.mediaType === 'string' && j.mediaType.startsWith(SIGSTORE_BUNDLE_MEDIA_TYPE_PREFIX);
  } catch {
    return false;
  }
}

const bad = (why: string, cause?: unknown) => new PayloadError('ERR_SIGSTORE_BUNDLE', `Sigstore bundle refused: ${why}`, cause === undefined ? {} : { cause });

/**
 * Verifies a Sigstore bundle against a trusted root (trusted_root.json text or object) and returns the
 * in-toto statement it signs. Refused: not a bundle, not a DSSE in-toto bundle, a signature, chain, SCT
 * or log entry that does not verify (ERR_SIGSTORE_BUNDLE, with @sigstore/verify's reason).
 */
export function verifySigstoreBundle(bytes: Uint8Array, trustedRoot: string | object): VerifiedSigstoreBundle {
  if (bytes.length > MAX_BUNDLE_BYTES) throw bad(`${bytes.length} bytes is larger than any bundle (${MAX_BUNDLE_BYTES})`);
  let bundle: Bundle;
  try {
    bundle = sigstoreBundle().bundleFromJSON(JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch (e) {
    throw bad(`not a valid bundle: ${(e as Error).message}`, e);
  }
  if (!sigstoreBundle().isBundleWithDsseEnvelope(bundle)) throw bad('it signs a message digest, not an in-toto statement (DSSE envelope); only attestation bundles are evidence');
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw bad(`its DSSE payload type is ${JSON.stringify(envelope.payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}`);
  let root: TrustedRoot;
  try {
    root = sigstoreProtobufSpecs().TrustedRoot.fromJSON(typeof trustedRoot === 'string' ? JSON.parse(trustedRoot) : trustedRoot);
  } catch (e) {
    throw new PayloadError('ERR_USAGE', `the Sigstore trusted root is not a trusted_root.json: ${(e as Error).message}`, { cause: e });
  }
  // one Rekor entry and, for certificates, one SCT: what cosign and gh attestation verify require
  const { Verifier, toSignedEntity, toTrustMaterial } = sigstoreVerify();
  const verifier = new Verifier(toTrustMaterial(root), { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 });
  let signer;
  try {
    signer = verifier.verify(toSignedEntity(bundle));
  } catch (e) {
    throw bad(`it does not verify against the trusted root: ${(e as Error).message}`, e);
  }
  const vm = bundle.verificationMaterial;
  const content = vm.content;
  const certificate =
    content.$case === 'certificate' ? content.certificate.rawBytes : content.$case === 'x509CertificateChain' ? content.x509CertificateChain.certificates[0]?.rawBytes : undefined;
  return {
    mediaType: bundle.mediaType,
    payloadType: envelope.payloadType,
    statement: new Uint8Array(envelope.payload),
    certificate: certificate && new Uint8Array(certificate),
    identity: { san: signer.identity?.subjectAlternativeName, issuer: signer.identity?.extensions?.issuer },
    tlog: vm.tlogEntries.map((t) => ({
      logIndex: t.logIndex,
      logId: Buffer.from(t.logId?.keyId ?? new Uint8Array()).toString('hex'),
      integratedTime: t.integratedTime && t.integratedTime !== '0' ? new Date(Number(t.integratedTime) * 1000) : undefined,
    })),
  };
}
