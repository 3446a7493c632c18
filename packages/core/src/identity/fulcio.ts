/**
 * Sigstore Fulcio certificate extensions (OID arc 1.3.6.1.4.1.57264.1, wire-format.md §10) read into
 * a typed workflow identity. Encodings: .1–.6 are the raw UTF-8 bytes; .8 onward a DER UTF8String.
 */
import { IdentityError } from '../errors.ts';
import { type Certificate, parseCertificate, subjectAltNames } from './certificate.ts';

const ARC = '1.3.6.1.4.1.57264.1';

export const FULCIO_OID = {
  issuerV1: `${ARC}.1`,
  githubWorkflowTrigger: `${ARC}.2`,
  githubWorkflowSha: `${ARC}.3`,
  githubWorkflowName: `${ARC}.4`,
  githubWorkflowRepository: `${ARC}.5`,
  githubWorkflowRef: `${ARC}.6`,
  otherName: `${ARC}.7`,
  issuerV2: `${ARC}.8`,
  buildSignerUri: `${ARC}.9`,
  buildSignerDigest: `${ARC}.10`,
  runnerEnvironment: `${ARC}.11`,
  sourceRepositoryUri: `${ARC}.12`,
  sourceRepositoryDigest: `${ARC}.13`,
  sourceRepositoryRef: `${ARC}.14`,
  sourceRepositoryIdentifier: `${ARC}.15`,
  sourceRepositoryOwnerUri: `${ARC}.16`,
  sourceRepositoryOwnerIdentifier: `${ARC}.17`,
  buildConfigUri: `${ARC}.18`,
  buildConfigDigest: `${ARC}.19`,
  buildTrigger: `${ARC}.20`,
  runInvocationUri: `${ARC}.21`,
  sourceRepositoryVisibilityAtSigning: `${ARC}.22`,
  deploymentEnvironment: `${ARC}.23`,
} as const;

/** The GitHub Actions OIDC issuer on github.com. */
export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

/** What a Fulcio certificate says about the workflow run that got it. Absent extensions are undefined. */
export interface WorkflowIdentity {
  /** OIDC issuer: .8, or legacy .1 when .8 is absent */
  readonly oidcIssuer: string;
  /** the single Subject Alternative Name (for GitHub Actions: the URI of the workflow that signed, = buildSignerUri) */
  readonly san: { readonly type: string; readonly value: string };
  readonly sanUri: string | undefined;
  /** .9 the workflow file that ran the signing job, with @ref (for a reusable workflow: the called one) */
  readonly buildSignerUri: string | undefined;
  /** .10 */
  readonly buildSignerDigest: string | undefined;
  /** .11 `github-hosted` or `self-hosted` */
  readonly runnerEnvironment: string | undefined;
  /** .12 repository URI whose workflow ran */
  readonly sourceRepository: string | undefined;
  /** .13 commit */
  readonly sourceRepositoryDigest: string | undefined;
  /** .14 git ref */
  readonly sourceRepositoryRef: string | undefined;
  /** .15 immutable repository id */
  readonly sourceRepositoryIdentifier: string | undefined;
  /** .16 */
  readonly ownerUri: string | undefined;
  /** .17 immutable owner id */
  readonly ownerIdentifier: string | undefined;
  /** .18 the top-level (caller) workflow, with @ref */
  readonly buildConfigUri: string | undefined;
  /** .19 */
  readonly buildConfigDigest: string | undefined;
  /** .20 event that triggered the run */
  readonly buildTrigger: string | undefined;
  /** .21 */
  readonly runInvocationUri: string | undefined;
  /** .22 `public`, `private` or `internal` */
  readonly visibility: string | undefined;
  /** .23 */
  readonly deploymentEnvironment: string | undefined;
  /** deprecated .2–.6, kept apart and never used in place of the current extensions */
  readonly legacy: {
    readonly workflowTrigger: string | undefined;
    readonly workflowSha: string | undefined;
    readonly workflowName: string | undefined;
    readonly workflowRepository: string | undefined;
    readonly workflowRef: string | undefined;
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Uint8Array, oid: string): string {
  try {
    return utf8.decode(bytes);
  } catch (e) {
    throw new IdentityError('ERR_FULCIO_EXTENSION', `Fulcio extension ${oid} is not valid UTF-8`, { cause: e });
  }
}

/** DER UTF8String (tag 12) with a minimal definite length, nothing after it. */
function decodeDerUtf8String(der: Uint8Array, oid: string): string {
  const bad = (why: string) => new IdentityError('ERR_FULCIO_EXTENSION', `Fulcio extension ${oid} must be a DER UTF8String (wire-format.md §10): ${why}`);
  if (der.length < 2 || der[0] !== 0x0c) throw bad(`starts with tag 0x${(der[0] ?? 0).toString(16).padStart(2, '0')}`);
  let len = der[1]!;
  let off = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || der.length < 2 + n) throw bad('bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[2 + i]!;
    if (len < 0x80 || der[2] === 0) throw bad('length is not minimally encoded');
    off = 2 + n;
  }
  if (off + len !== der.length) throw bad(`declares ${len} bytes but carries ${der.length - off}`);
  return decodeUtf8(der.subarray(off), oid);
}

function extensionValues(cert: Certificate): Map<string, Uint8Array> {
  const m = new Map<string, Uint8Array>();
  for (const ext of cert.extensions) {
    if (!ext.type.startsWith(`${ARC}.`)) continue;
    if (m.has(ext.type)) throw new IdentityError('ERR_FULCIO_EXTENSION', `certificate repeats Fulcio extension ${ext.type}`);
    m.set(ext.type, new Uint8Array(ext.value));
  }
  return m;
}

/** The OIDC issuer: .8 (UTF8String), else .1 (raw); refused when both are present and differ, or neither is. */
export function fulcioIssuer(cert: Certificate | Uint8Array): string {
  return readIssuer(extensionValues(cert instanceof Uint8Array ? parseCertificate(cert) : cert));
}

function readIssuer(ext: Map<string, Uint8Array>): string {
  const v2 = ext.get(FULCIO_OID.issuerV2);
  const v1 = ext.get(FULCIO_OID.issuerV1);
  const issuerV2 = v2 && decodeDerUtf8String(v2, FULCIO_OID.issuerV2);
  const issuerV1 = v1 && decodeUtf8(v1, FULCIO_OID.issuerV1);
  if (issuerV2 !== undefined && issuerV1 !== undefined && issuerV2 !== issuerV1) {
    throw new IdentityError(
      'ERR_FULCIO_EXTENSION',
      `certificate names two OIDC issuers: "${issuerV2}" (${FULCIO_OID.issuerV2}) and "${issuerV1}" (${FULCIO_OID.issuerV1}); refused`,
    );
  }
  const issuer = issuerV2 ?? issuerV1;
  if (issuer === undefined || issuer === '') {
    throw new IdentityError('ERR_FULCIO_EXTENSION', `certificate has no OIDC issuer extension (${FULCIO_OID.issuerV2} or ${FULCIO_OID.issuerV1}); it is not a Fulcio certificate`);
  }
  return issuer;
}

/**
 * Reads the workflow identity of a Fulcio certificate. Where a deprecated extension and its
 * replacement carry the same claim (trigger .2/.20, commit .3/.13, ref .6/.14), they must agree.
 */
export function fulcioIdentity(cert: Certificate | Uint8Array): WorkflowIdentity {
  const c = cert instanceof Uint8Array ? parseCertificate(cert) : cert;
  const ext = extensionValues(c);
  const v2 = (oid: string) => {
    const v = ext.get(oid);
    return v === undefined ? undefined : decodeDerUtf8String(v, oid);
  };
  const v1 = (oid: string) => {
    const v = ext.get(oid);
    return v === undefined ? undefined : decodeUtf8(v, oid);
  };
  const sans = subjectAltNames(c);
  if (sans.length !== 1) {
    throw new IdentityError('ERR_FULCIO_EXTENSION', `a Fulcio certificate carries exactly one Subject Alternative Name; this one has ${sans.length}`);
  }
  const san = sans[0]!;
  const identity: WorkflowIdentity = {
    oidcIssuer: readIssuer(ext),
    san,
    sanUri: san.type === 'uri' ? san.value : undefined,
    buildSignerUri: v2(FULCIO_OID.buildSignerUri),
    buildSignerDigest: v2(FULCIO_OID.buildSignerDigest),
    runnerEnvironment: v2(FULCIO_OID.runnerEnvironment),
    sourceRepository: v2(FULCIO_OID.sourceRepositoryUri),
    sourceRepositoryDigest: v2(FULCIO_OID.sourceRepositoryDigest),
    sourceRepositoryRef: v2(FULCIO_OID.sourceRepositoryRef),
    sourceRepositoryIdentifier: v2(FULCIO_OID.sourceRepositoryIdentifier),
    ownerUri: v2(FULCIO_OID.sourceRepositoryOwnerUri),
    ownerIdentifier: v2(FULCIO_OID.sourceRepositoryOwnerIdentifier),
    buildConfigUri: v2(FULCIO_OID.buildConfigUri),
    buildConfigDigest: v2(FULCIO_OID.buildConfigDigest),
    buildTrigger: v2(FULCIO_OID.buildTrigger),
    runInvocationUri: v2(FULCIO_OID.runInvocationUri),
    visibility: v2(FULCIO_OID.sourceRepositoryVisibilityAtSigning),
    deploymentEnvironment: v2(FULCIO_OID.deploymentEnvironment),
    legacy: {
      workflowTrigger: v1(FULCIO_OID.githubWorkflowTrigger),
      workflowSha: v1(FULCIO_OID.githubWorkflowSha),
      workflowName: v1(FULCIO_OID.githubWorkflowName),
      workflowRepository: v1(FULCIO_OID.githubWorkflowRepository),
      workflowRef: v1(FULCIO_OID.githubWorkflowRef),
    },
  };
  const pairs: [string, string | undefined, string, string | undefined][] = [
    [FULCIO_OID.githubWorkflowTrigger, identity.legacy.workflowTrigger, FULCIO_OID.buildTrigger, identity.buildTrigger],
    [FULCIO_OID.githubWorkflowSha, identity.legacy.workflowSha, FULCIO_OID.sourceRepositoryDigest, identity.sourceRepositoryDigest],
    [FULCIO_OID.githubWorkflowRef, identity.legacy.workflowRef, FULCIO_OID.sourceRepositoryRef, identity.sourceRepositoryRef],
  ];
  for (const [oldOid, oldValue, newOid, newValue] of pairs) {
    if (oldValue !== undefined && newValue !== undefined && oldValue !== newValue) {
      throw new IdentityError('ERR_FULCIO_EXTENSION', `certificate contradicts itself: ${oldOid} says "${oldValue}" but ${newOid} says "${newValue}"`);
    }
  }
  return identity;
}
