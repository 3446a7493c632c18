/**
 * The cosign-style identity inputs (flags and action inputs, as text) read into IdentityPolicy fields:
 * certificate identity and OIDC issuer (exact or full-string regexp), the GitHub hostname, and
 * predicates on the Fulcio extensions by name. Blank values are absent, never an empty pin.
 */
import { IdentityError } from '../errors.ts';
import type { IdentityPolicy } from './policy.ts';

export interface CiIdentityInputs {
  /** GitHub host for repo/owner/signer-workflow: github.com, TENANT.ghe.com, a GHES host */
  hostname?: string;
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  /** same as certOidcIssuer (cosign's name) */
  certificateOidcIssuer?: string;
  certificateOidcIssuerRegexp?: string;
  sourceRepositoryUri?: string;
  sourceRepositoryDigest?: string;
  sourceRepositoryVisibility?: string;
  buildSignerUri?: string;
  runnerEnvironment?: string;
  buildTrigger?: string;
  buildConfigUri?: string;
}

/** Input name (kebab-case, as flags and action inputs spell it) → policy field. */
const FIELDS = [
  ['hostname', 'host'],
  ['certificate-identity', 'certificateIdentity'],
  ['certificate-identity-regexp', 'certificateIdentityRegexp'],
  ['certificate-oidc-issuer', 'certOidcIssuer'],
  ['certificate-oidc-issuer-regexp', 'certOidcIssuerRegexp'],
  ['source-repository-uri', 'sourceRepositoryUri'],
  ['source-repository-digest', 'sourceDigest'],
  ['source-repository-visibility', 'sourceRepositoryVisibility'],
  ['build-signer-uri', 'buildSignerUri'],
  ['runner-environment', 'runnerEnvironment'],
  ['build-trigger', 'buildTrigger'],
  ['build-config-uri', 'buildConfigUri'],
] as const;

/** Every input name this module reads, for the CLI and action to declare. */
export const CI_IDENTITY_INPUTS: readonly string[] = FIELDS.map(([name]) => name);

const camel = (kebab: string) => kebab.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase()) as keyof CiIdentityInputs;

/** Inputs read by name from flags keyed in camelCase, as commander keeps them (--bundle-certificate-identity: bundleCertificateIdentity). */
export const inputsFromFlags =
  (flags: object) =>
  (name: string): string | undefined =>
    (flags as Record<string, string | undefined>)[camel(name)];

/**
 * The policy fields these inputs set. `certOidcIssuer` is the older spelling of certificate-oidc-issuer:
 * both given and different is a usage error, never one silently winning.
 */
export function ciIdentityPolicy(i: CiIdentityInputs, certOidcIssuer?: string): Partial<IdentityPolicy> {
  const out: Record<string, string> = {};
  for (const [name, field] of FIELDS) {
    const v = i[camel(name)]?.trim();
    if (v) out[field] = v;
  }
  const older = certOidcIssuer?.trim();
  if (older && out.certOidcIssuer && older !== out.certOidcIssuer) {
    throw new IdentityError('ERR_USAGE', `cert-oidc-issuer "${older}" and certificate-oidc-issuer "${out.certOidcIssuer}" differ; give one`);
  }
  return out as Partial<IdentityPolicy>;
}

/** True when these fields alone pin an identity (without repo/owner/signer-workflow/did). */
export function ciIdentityPins(p: Partial<IdentityPolicy>): boolean {
  return !!(p.certificateIdentity || p.certificateIdentityRegexp || p.sourceRepositoryUri || p.buildSignerUri);
}

/** The inputs read by name (kebab-case) from wherever a host keeps them: the action's inputs, an env. */
export function ciIdentityInputsFrom(get: (name: string) => string | undefined): CiIdentityInputs {
  const out: CiIdentityInputs = {};
  for (const [name] of FIELDS) {
    const v = get(name);
    if (v !== undefined && v.trim() !== '') out[camel(name)] = v;
  }
  return out;
}

/** The inputs naming who signed a Sigstore bundle taken in as evidence: cosign's identity flags, for the bundle's certificate. */
export const BUNDLE_SIGNER_INPUTS: readonly string[] = ['certificate-identity', 'certificate-identity-regexp', 'certificate-oidc-issuer', 'certificate-oidc-issuer-regexp'].map((n) => `bundle-${n}`);

/**
 * The identity a Sigstore bundle's Fulcio certificate must meet (the bundle-certificate-* inputs, read by
 * name), or undefined when none is given: the bundle's signer is then recorded, not required. An issuer
 * alone would admit anyone that issuer vouches for, so, as cosign, it needs an identity beside it.
 */
export function bundleSignerPolicy(get: (name: string) => string | undefined): IdentityPolicy | undefined {
  const policy = ciIdentityPolicy(ciIdentityInputsFrom((name) => (BUNDLE_SIGNER_INPUTS.includes(`bundle-${name}`) ? get(`bundle-${name}`) : undefined)));
  if (Object.keys(policy).length === 0) return undefined;
  if (!policy.certificateIdentity && !policy.certificateIdentityRegexp) {
    throw new IdentityError('ERR_USAGE', 'name the bundle signer: bundle-certificate-identity SAN or bundle-certificate-identity-regexp RE (the OIDC issuer alone admits anyone it vouches for)');
  }
  return policy;
}
