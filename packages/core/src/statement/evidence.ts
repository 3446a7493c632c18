/**
 * From build outputs to Signed Statements: for each subject (artifact) and each piece of evidence,
 * one statement whose `sub` pins the artifact's digest (DESIGN.md "Subjects bind to bytes"), with
 * the payload embedded or as a Hash Envelope by evidence kind (specs/statement-persistence.md), the
 * evidence stored beside the statement, and SCAI Object References for both
 * (specs/scai-object-reference.md). The CLI and the issue-statement action both call this.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PayloadError } from '../errors.ts';
import type { IssuerSigner } from '../identity/signer.ts';
import { checkSubjectBinding, declaredSubjectDigests } from '../payload/binding.ts';
import { type Evidence, type EvidenceKind, detectEvidence, readEvidenceFile } from '../payload/detect.ts';
import { sha256Hex } from '../payload/hashing.ts';
import { MediaType } from '../payload/media-types.ts';
import { type PayloadPlacement, choosePlacement } from '../payload/placement.ts';
import { type GitHubActionsEnv, type ProvenanceOptions, buildProvenanceStatement } from '../payload/provenance.ts';
import { type ScaiObjectReference, scaiObjectReference } from '../payload/scai.ts';
import { type VerifiedSigstoreBundle, isSigstoreBundle, verifySigstoreBundle } from '../payload/sigstore-bundle.ts';
import type { IdentityPolicy } from '../identity/policy.ts';
import { type Subject, toInTotoSubject } from '../payload/subjects.ts';
import { STATEMENT_MEDIA_TYPE } from './profile.ts';
import { issueSignedStatement } from './issue.ts';
import { parseSignedStatement } from './signed-statement.ts';

export interface EvidenceSource {
  /** an evidence file; its kind is detected from its content */
  path?: string;
  /** generate SLSA provenance for the subjects from the GitHub Actions environment instead */
  provenance?: { env: GitHubActionsEnv; options?: ProvenanceOptions };
  /** refuse evidence of another kind (default: auto) */
  expected?: EvidenceKind | 'auto';
}

export interface IssueEvidenceInput {
  subjects: readonly Subject[];
  evidence: readonly EvidenceSource[];
  signer: IssuerSigner;
  /** required for key signers; keyless derives it */
  iss?: string;
  /** where statements (and copies of hash-envelope evidence) are written */
  outputDir: string;
  /** embedded or hash-envelope; default by evidence kind */
  placement?: PayloadPlacement;
  /** base URL where the artifacts and their evidence will be published, for payload-location and SCAI locationURI */
  publishBase?: string;
  /** Sigstore trusted_root.json (text or object) that Sigstore bundles given as evidence are verified against */
  sigstoreTrustedRoot?: string | object | (() => Promise<string | object>);
  /** who must have signed the Sigstore bundles given as evidence (their Fulcio certificates), as verification's identity policy; with it, every evidence file must be a bundle */
  sigstoreIdentity?: IdentityPolicy;
}

export interface IssuedStatement {
  subject: Subject;
  kind: EvidenceKind;
  format: string;
  mediaType: string;
  placement: PayloadPlacement;
  statementPath: string;
  /** the evidence as stored beside the statement (hash envelope) */
  evidencePath?: string;
  sub: string;
  iss: string;
  scai: { statement: ScaiObjectReference; evidence: ScaiObjectReference };
}

const EXTENSION: Record<string, string> = {
  [MediaType.CycloneDxJson]: 'cdx.json',
  [MediaType.CycloneDxXml]: 'cdx.xml',
  [MediaType.SpdxJson]: 'spdx.json',
  [MediaType.SpdxTagValue]: 'spdx',
  [MediaType.Spdx3Json]: 'spdx3.json',
  [MediaType.SarifJson]: 'sarif',
  [MediaType.InTotoJson]: 'intoto.json',
  [MediaType.DsseEnvelopeJson]: 'dsse.json',
};

const fileUrl = (path: string) => pathToFileURL(resolve(path)).href;
const published = (base: string, name: string) => new URL(encodeURIComponent(name), base.endsWith('/') ? base : `${base}/`).href;

interface LoadedEvidence {
  evidence: Evidence;
  bytes: Uint8Array;
  name: string;
  sha256: string;
  /** the evidence came out of a verified Sigstore bundle: who signed it and where Rekor logged it */
  bundle?: Record<string, string>;
}

/** A Sigstore bundle is verified, and its in-toto statement (the signed DSSE payload) is the evidence. */
async function loadBundle(path: string, raw: Uint8Array, source: EvidenceSource, trustedRoot: IssueEvidenceInput['sigstoreTrustedRoot'], identity?: IdentityPolicy): Promise<LoadedEvidence> {
  if (trustedRoot === undefined) throw new PayloadError('ERR_USAGE', `${path} is a Sigstore bundle: it is verified before use, so give the Sigstore trusted root (--trusted-root trusted_root.json, or the public-good root through TUF)`);
  const root = typeof trustedRoot === 'function' ? await trustedRoot() : trustedRoot;
  const v = verifySigstoreBundle(raw, root);
  if (identity) await checkBundleSigner(basename(path), v, identity);
  const evidence = await detectEvidence(v.statement, { expected: source.expected ?? 'auto', name: `the in-toto statement of ${basename(path)}` });
  const rekor = v.tlog[0];
  return {
    evidence,
    bytes: v.statement,
    name: basename(path),
    sha256: sha256Hex(v.statement),
    bundle: {
      'sigstore.bundle.name': basename(path),
      'sigstore.bundle.sha256': sha256Hex(raw),
      'sigstore.bundle.mediaType': v.mediaType,
      ...(v.identity.san ? { 'sigstore.identity.san': v.identity.san } : {}),
      ...(v.identity.issuer ? { 'sigstore.identity.issuer': v.identity.issuer } : {}),
      ...(rekor ? { 'rekor.logIndex': rekor.logIndex, 'rekor.logId': rekor.logId } : {}),
    },
  };
}

/** The bundle's Fulcio certificate meets the identity required of its signer (a key-signed bundle has none to meet it with). */
async function checkBundleSigner(name: string, v: VerifiedSigstoreBundle, identity: IdentityPolicy): Promise<void> {
  const who = `${v.identity.san ?? 'a key'}${v.identity.issuer ? ` (OIDC issuer ${v.identity.issuer})` : ''}`;
  if (!v.certificate) throw new PayloadError('ERR_SIGSTORE_BUNDLE', `Sigstore bundle ${name} refused: it is signed with a key, not a Fulcio certificate, so it has no identity to meet the one required`);
  // loaded only when an identity is required: issuing otherwise never parses a certificate
  const { checkIdentityPolicy } = await import('../identity/policy.ts');
  const { fulcioIdentity } = await import('../identity/fulcio.ts');
  try {
    checkIdentityPolicy(fulcioIdentity(v.certificate), identity);
  } catch (e) {
    throw new PayloadError('ERR_SIGSTORE_BUNDLE', `Sigstore bundle ${name} refused: signed by ${who}, not by the identity required: ${(e as Error).message}`, { cause: e });
  }
}

async function load(source: EvidenceSource, subjects: readonly Subject[], trustedRoot?: IssueEvidenceInput['sigstoreTrustedRoot'], identity?: IdentityPolicy): Promise<LoadedEvidence> {
  if (source.provenance) {
    const statement = buildProvenanceStatement(subjects.map(toInTotoSubject), source.provenance.env, source.provenance.options);
    const bytes = new TextEncoder().encode(`${JSON.stringify(statement, null, 2)}\n`);
    const evidence = await detectEvidence(bytes, { expected: 'provenance', name: 'generated provenance' });
    return { evidence, bytes, name: 'provenance', sha256: sha256Hex(bytes) };
  }
  if (!source.path) throw new PayloadError('ERR_USAGE', 'each evidence needs a file path or provenance generation');
  const size = await stat(source.path).then((s) => s.size, () => Infinity);
  if (size <= 16 * 1024 * 1024) {
    const raw = new Uint8Array(await readFile(source.path));
    if (isSigstoreBundle(raw)) return loadBundle(source.path, raw, source, trustedRoot, identity);
  }
  // an identity required of a bundle's signer is never dropped quietly because the evidence is something else
  if (identity) throw new PayloadError('ERR_USAGE', `${source.path} is not a Sigstore bundle, so no bundle signer's identity can be checked: drop the bundle identity options or give the bundle`);
  const f = await readEvidenceFile(source.path, { expected: source.expected ?? 'auto' });
  return { evidence: f, bytes: f.bytes, name: basename(source.path), sha256: f.sha256 };
}

export async function issueEvidenceStatements(input: IssueEvidenceInput): Promise<IssuedStatement[]> {
  if (input.subjects.length === 0) throw new PayloadError('ERR_SUBJECT_NOT_FOUND', 'no subject: name the artifacts (subject paths, digests, checksums or image references)');
  if (input.evidence.length === 0) throw new PayloadError('ERR_USAGE', 'no evidence: give an evidence file (SBOM, in-toto, SARIF) or generate provenance');
  await mkdir(input.outputDir, { recursive: true });
  const out: IssuedStatement[] = [];
  for (const source of input.evidence) {
    const ev = await load(source, input.subjects, input.sigstoreTrustedRoot, input.sigstoreIdentity);
    // Evidence that names its subjects must name each artifact it is issued about.
    const declares = declaredSubjectDigests(ev.evidence).length > 0;
    for (const subject of input.subjects) {
      if (declares) checkSubjectBinding(ev.evidence, { digest: subject.digest, name: subject.name }, ev.name);
      out.push(await issueOne(input, ev, subject));
    }
  }
  return out;
}

async function issueOne(input: IssueEvidenceInput, ev: LoadedEvidence, subject: Subject): Promise<IssuedStatement> {
  const { kind } = ev.evidence;
  const base = `${subject.name.replace(/[/\\]/g, '_')}.${kind}`;
  const evidenceName = `${base}.${EXTENSION[ev.evidence.mediaType] ?? 'json'}`;
  const decision = choosePlacement({
    kind,
    ...(input.placement ? { override: input.placement } : {}),
    // beside the artifact: a relative location resolves from where the statement is fetched
    location: input.publishBase ? published(input.publishBase, evidenceName) : evidenceName,
  });
  const hashEnvelope = decision.placement === 'hash-envelope';
  const statement = await issueSignedStatement({
    payload: hashEnvelope ? new Uint8Array(Buffer.from(ev.sha256, 'hex')) : ev.bytes,
    signer: input.signer,
    ...(input.iss ? { iss: input.iss } : {}),
    sub: subject.purl,
    ...(hashEnvelope
      ? { hashEnvelope: { hashAlg: -16 as const, preimageContentType: ev.evidence.mediaType, ...(decision.payloadLocation ? { location: decision.payloadLocation } : {}) } }
      : { contentType: ev.evidence.mediaType }),
  });
  const statementPath = join(input.outputDir, `${base}.cose`);
  await writeFile(statementPath, statement);
  let evidencePath: string | undefined;
  if (hashEnvelope) {
    evidencePath = join(input.outputDir, evidenceName);
    await writeFile(evidencePath, ev.bytes);
  }
  const iss = parseSignedStatement(statement).iss;
  const location = (name: string, path: string) => (input.publishBase ? published(input.publishBase, name) : fileUrl(path));
  return {
    subject,
    kind,
    format: ev.evidence.format,
    mediaType: ev.evidence.mediaType,
    placement: decision.placement,
    statementPath,
    ...(evidencePath ? { evidencePath } : {}),
    sub: subject.purl,
    iss,
    scai: {
      statement: scaiObjectReference({ name: `${base}.cose`, digest: `sha256:${sha256Hex(statement)}`, locationURI: location(`${base}.cose`, statementPath), objectType: STATEMENT_MEDIA_TYPE }),
      evidence: scaiObjectReference({
        name: evidenceName,
        digest: `sha256:${ev.sha256}`,
        ...(evidencePath ? { locationURI: location(evidenceName, evidencePath) } : {}),
        objectType: ev.evidence.mediaType,
        ...(ev.bundle ? { annotations: ev.bundle } : {}),
      }),
    },
  };
}
