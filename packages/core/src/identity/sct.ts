/**
 * Certificate Transparency for Fulcio leaves (RFC 6962 §3.3), as cosign and `gh attestation verify`
 * check it: the leaf's embedded SCT must verify with a CT log key of the trusted root that was valid
 * at the SCT's time. A certificate that was never logged could have been issued in secret by whoever
 * holds (or stole) the CA key; the SCT is the CT log's promise that it is public.
 *
 * The check is @sigstore/verify's own `verifySCTs` (the function its Verifier runs on every Sigstore
 * bundle; it is not re-exported from the package index, hence the module path), with certificates
 * parsed by @sigstore/core. Only its inputs are built here.
 */
import type { X509Certificate as SigstoreCertificate } from '@sigstore/core';
import type { TrustMaterial } from '@sigstore/verify';
import { sigstoreCore, sigstoreSct } from '../lazy-deps.cjs';
import { IdentityError } from '../errors.ts';
import { describeCertificate } from './certificate.ts';
import { type ValidatedPath } from './path.ts';
import { type TrustStore } from './trust.ts';

/** How to ask for the escape hatch, for messages. */
export const IGNORE_SCT_HELP =
  'for a private Fulcio that has no CT log, say so explicitly (scitt --insecure-ignore-sct, verify-gate `insecure-ignore-sct: true`, ' +
  'registration policy `x509.insecureIgnoreSct: true`, or `insecureIgnoreSct` on the trust store)';

type CtLogAuthority = TrustMaterial['ctlogs'][number];

/**
 * Checks the leaf of a validated path carries at least one SCT, and that every SCT it carries
 * verifies with a CT log of `trust` valid at the SCT's timestamp. With `trust.insecureIgnoreSct`
 * (explicit, never a default) it checks nothing.
 */
export function checkSct(path: ValidatedPath, trust: TrustStore): void {
  if (trust.insecureIgnoreSct === true) return;
  const logs = trust.ctLogs ?? [];
  if (logs.length === 0) {
    throw new IdentityError(
      'ERR_X509_SCT',
      `no CT log keys are configured to check the SCT of ${describeCertificate(path.leaf)} against: give a Sigstore trusted root, which lists its ctlogs; ${IGNORE_SCT_HELP}`,
    );
  }
  let leaf: SigstoreCertificate;
  let issuer: SigstoreCertificate;
  try {
    leaf = sigstoreCore().X509Certificate.parse(Buffer.from(path.der[0]!));
    issuer = sigstoreCore().X509Certificate.parse(Buffer.from(path.der[1]!));
  } catch (e) {
    throw new IdentityError('ERR_X509_MALFORMED', `the leaf certificate or its issuer cannot be read for the SCT check: ${(e as Error).message}`, { cause: e });
  }
  let sct;
  try {
    sct = leaf.extSCT;
  } catch (e) {
    throw new IdentityError('ERR_X509_SCT', `the SCT list extension of ${describeCertificate(path.leaf)} is malformed`, { cause: e });
  }
  if (!sct || sct.signedCertificateTimestamps.length === 0) {
    throw new IdentityError(
      'ERR_X509_SCT',
      `${describeCertificate(path.leaf)} carries no SCT: no CT log has promised to publish it, so it may have been issued in secret; ${IGNORE_SCT_HELP}`,
    );
  }
  const authorities: CtLogAuthority[] = logs.map((l) => ({
    logID: Buffer.from(l.logId),
    baseURL: l.baseUrl ?? '',
    publicKey: l.publicKey,
    validFor: { start: l.validFor?.start ?? new Date(0), end: l.validFor?.end ?? new Date(8.64e15) },
  }));
  let logged: Buffer[];
  try {
    logged = sigstoreSct().verifySCTs(leaf, issuer, authorities);
  } catch (e) {
    throw new IdentityError(
      'ERR_X509_SCT',
      `an SCT of ${describeCertificate(path.leaf)} does not verify with any CT log key of the trusted root valid at its time ` +
        `(${logs.length} CT log${logs.length === 1 ? '' : 's'} configured); the certificate was not logged where the trusted root says`,
      { cause: e },
    );
  }
  if (logged.length === 0) throw new IdentityError('ERR_X509_SCT', `${describeCertificate(path.leaf)} carries no verifiable SCT; ${IGNORE_SCT_HELP}`);
}
