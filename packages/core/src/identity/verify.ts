/**
 * The verifier's single entry point for X.509 issuers of Signed Statements (RFC 9943 §5.1.1.1, §6):
 * path to a registered trust anchor at the registration time, the leaf's SCT from a trusted CT log, iss bound to the chain, the leaf key
 * for the statement signature, the Fulcio workflow identity, and the identity policy.
 */
import { IdentityError, SignatureError } from '../errors.ts';
import { type CoseKey } from '../cose/key.ts';
import { certificateKey, describeCertificate, subjectAltNames } from './certificate.ts';
import { type DidX509, MAX_DID_LENGTH, matchDidX509 } from './did-x509.ts';
import { type WorkflowIdentity, fulcioIdentity } from './fulcio.ts';
import { type ValidatedPath, validatePath } from './path.ts';
import { type IdentityPolicy, assertPolicyConstrains, checkIdentityPolicy } from './policy.ts';
import { checkSct } from './sct.ts';
import { type TrustStore } from './trust.ts';

export interface VerifyX509IssuerInput {
  /** the protected x5chain (label 33) of the statement, leaf first; never take it from the unprotected header unless a protected x5t matched it */
  x5chain: Uint8Array | readonly Uint8Array[];
  /** the CWT iss claim of the statement's protected header */
  iss: string;
  /**
   * Verifies the statement signature with the leaf public key (e.g. `(key) => verifySign1(msg, key)`).
   * Its failure is reported as the leaf key not having signed the statement.
   */
  statementKeyCheck?: (leafKey: CoseKey) => unknown;
  trust: TrustStore;
  /** the registration time (from the receipt), at which the whole path must be valid */
  at: Date;
  policy: IdentityPolicy;
}

export interface X509IssuerResult {
  readonly identity: WorkflowIdentity;
  /** the leaf certificate's public key */
  readonly key: CoseKey;
  /** leaf first, trust anchor last */
  readonly path: ValidatedPath;
  /** the parsed iss when it is a did:x509 */
  readonly did: DidX509 | undefined;
}

/**
 * How iss is bound to the chain: a `did:x509:` iss must resolve against the validated path (CA digest
 * of one of its CA certificates, every predicate on the leaf). Any other iss must equal one of the
 * leaf's Subject Alternative Name values exactly (for Fulcio: the workflow URI), so that iss never
 * names an identity the certificate does not carry.
 */
export function checkIssuerBinding(iss: string, path: ValidatedPath): DidX509 | undefined {
  if (typeof iss !== 'string' || iss.length === 0 || iss.length > MAX_DID_LENGTH) {
    throw new IdentityError('ERR_ISSUER_MISMATCH', `iss must be a string of 1..${MAX_DID_LENGTH} characters when the issuer is an X.509 certificate (RFC 9943 §6)`);
  }
  if (iss.startsWith('did:x509:')) return matchDidX509(iss, path.certificates);
  const sans = subjectAltNames(path.leaf);
  if (!sans.some((s) => s.value === iss)) {
    throw new IdentityError(
      'ERR_ISSUER_MISMATCH',
      `iss "${iss}" is neither a did:x509 nor a Subject Alternative Name of the leaf ${describeCertificate(path.leaf)} ` +
        `(${sans.map((s) => `${s.type}:${s.value}`).join(', ') || 'none'}); the issuer must be bound to the certificate`,
    );
  }
  return undefined;
}

export async function verifyX509Issuer(input: VerifyX509IssuerInput): Promise<X509IssuerResult> {
  assertPolicyConstrains(input.policy);
  const path = await validatePath(input.x5chain, { trust: input.trust, at: input.at });
  // logged in CT, as cosign and gh attestation verify require (unless the trust says its Fulcio has no CT log)
  checkSct(path, input.trust);
  const did = checkIssuerBinding(input.iss, path);
  const key = certificateKey(path.leaf);
  if (input.statementKeyCheck) {
    try {
      await input.statementKeyCheck(key);
    } catch (e) {
      if (!(e instanceof SignatureError)) throw e;
      throw new SignatureError(
        e.code,
        `the statement signature does not verify with the public key of the x5chain leaf ${describeCertificate(path.leaf)}: ${e.message}; ` +
          'the certificate does not belong to whoever signed',
        { cause: e },
      );
    }
  }
  const identity = fulcioIdentity(path.leaf);
  checkIdentityPolicy(identity, input.policy, path.certificates);
  return { identity, key, path, did };
}
