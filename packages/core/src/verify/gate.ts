/**
 * The release gate: every artifact about to be released must have Transparent Statements that
 * verify (receipts from trusted services, a trusted issuer, about exactly these bytes) and, among
 * them, the evidence kinds the policy requires (e.g. sbom and provenance). Where statements come
 * from is injected (files beside the artifact, release assets, OCI referrers: storage/).
 */
import { ScittError } from '../errors.ts';
import { assertArray, assertObject, assertString } from '../guard.ts';
import type { Evidence, EvidenceKind } from '../payload/detect.ts';
import type { DiscoveryResult } from '../storage/types.ts';
import type { SignedStatement } from '../statement/signed-statement.ts';
import { type TransparentVerifyOptions, type VerificationResult, verifyTransparentWithStatement } from './pipeline.ts';

export interface GateArtifact {
  name: string;
  /** lower-case hex */
  sha256: string;
  /** the file, for an artifact named by path (its statements are beside it) */
  path?: string;
}

export interface FoundStatement {
  bytes: Uint8Array;
  /** where it was found, for the report (a path or URL) */
  location: string;
  /** the hash-envelope evidence, as the store fetched it (storage/*: checked against the signed digest) */
  evidence?: Uint8Array;
  /** or, for evidence the store left where it is (files): reads it, only once the statement has verified */
  readEvidence?: () => Promise<Uint8Array>;
}

export interface GatePolicy extends Omit<TransparentVerifyOptions, 'artifactSha256' | 'evidence'> {
  /** evidence kinds that must be present, verified, for every artifact */
  require?: readonly EvidenceKind[];
}

export interface StatementVerdict {
  location: string;
  kind?: EvidenceKind;
  /** why the evidence, though verified, does not count for this artifact (its own subjects name other bytes) */
  evidenceProblem?: string;
  result: VerificationResult;
}

export interface ArtifactVerdict {
  artifact: GateArtifact;
  ok: boolean;
  statements: StatementVerdict[];
  /** kinds present among verified statements */
  evidence: EvidenceKind[];
  /** why the artifact is refused, in words a release engineer acts on */
  problems: string[];
  /** what discovery passed over */
  skipped: string[];
  /** passed as listed in this verified checksums manifest (`NAME:LINE`, verify/manifest.ts), not by statements of its own */
  coveredBy?: string;
}

export interface GateReport {
  ok: boolean;
  artifacts: ArtifactVerdict[];
}

export interface Discovered {
  statements: FoundStatement[];
  /** objects the store looked at and did not return, with the reason (e.g. a statement without receipts) */
  skipped?: string[];
}

export async function runGate(artifacts: readonly GateArtifact[], discover: (a: GateArtifact) => Promise<Discovered>, policy: GatePolicy): Promise<GateReport> {
  assertArray(artifacts, 'the gate\'s artifacts');
  if (artifacts.length === 0) throw new ScittError('ERR_USAGE', 'the gate has no artifact to check: name the release artifacts');
  for (const a of artifacts) {
    assertObject(a, 'a gate artifact');
    assertString(a.name, 'a gate artifact\'s name');
    assertString(a.sha256, 'a gate artifact\'s sha256');
  }
  if (typeof discover !== 'function') throw new ScittError('ERR_USAGE', 'the gate needs a discover function');
  const verdicts: ArtifactVerdict[] = [];
  for (const artifact of artifacts) {
    const found: unknown = await discover(artifact);
    assertObject(found, 'what discovery returned');
    assertArray(found.statements, 'the statements discovery returned');
    const { statements, skipped = [] } = found as unknown as Discovered;
    verdicts.push(await gateArtifact(artifact, statements, skipped, policy));
  }
  return { ok: verdicts.every((v) => v.ok), artifacts: verdicts };
}

async function gateArtifact(artifact: GateArtifact, found: FoundStatement[], skipped: string[], policy: GatePolicy): Promise<ArtifactVerdict> {
  const statements: StatementVerdict[] = [];
  for (const f of found) {
    // fetched by the store and checked against the statement's digest; evidence left in place is read only if the statement verifies
    const read = f.readEvidence && once(f.readEvidence);
    const evidence = f.evidence ?? (read && { async *[Symbol.asyncIterator]() { yield await read(); } });
    const { result, statement } = await verifyTransparentWithStatement(f.bytes, { ...policy, artifactSha256: artifact.sha256, ...(evidence ? { evidence } : {}) });
    const carried = result.ok && statement ? await evidenceOf(f, statement, f.evidence ?? (await read?.()), artifact) : {};
    statements.push({ location: f.location, ...carried, result });
  }
  const verified = statements.filter((s) => s.result.ok);
  const evidence = [...new Set(verified.flatMap((s) => (s.kind && !s.evidenceProblem ? [s.kind] : [])))];
  const problems: string[] = [];
  if (found.length === 0) {
    const why = skipped.length ? ` (skipped: ${skipped.join('; ')})` : '';
    problems.push(`no Transparent Statement found for ${artifact.name}${why}: issue, register and attach statements before releasing it`);
  }
  else if (verified.length === 0) problems.push(`none of the ${found.length} statement(s) for ${artifact.name} verifies: ${firstFailure(statements)}`);
  for (const kind of policy.require ?? []) {
    if (evidence.includes(kind)) continue;
    const notAbout = verified.filter((s) => s.kind === kind && s.evidenceProblem).map((s) => `${s.location}: ${s.evidenceProblem}`);
    problems.push(`required ${kind} evidence is missing for ${artifact.name}: ${notAbout.length ? `the ${kind} evidence found is not about it (${notAbout.join('; ')})` : 'no verified statement carries it'}`);
  }
  return { artifact, ok: problems.length === 0, statements, evidence, problems, skipped };
}

function firstFailure(statements: StatementVerdict[]): string {
  const c = statements.flatMap((s) => s.result.checks.filter((x) => !x.ok))[0];
  return c ? `${c.name}: ${c.message}${c.code ? ` [${c.code}]` : ''}` : 'unknown reason';
}

/**
 * What kind of evidence a verified statement carries, from the evidence itself (embedded or verified
 * preimage), and whether that evidence is about this artifact: evidence that names its subjects
 * (in-toto subjects, SBOM component hashes) must name the artifact's digest, as issuing requires, and
 * in-toto evidence always names them. Otherwise it proves nothing about the artifact and does not count.
 */
async function evidenceOf(f: FoundStatement, s: SignedStatement, evidence: Uint8Array | undefined, artifact: GateArtifact): Promise<{ kind?: EvidenceKind; evidenceProblem?: string }> {
  const body = s.hashEnvelope ? evidence : (s.sign1.payload ?? undefined);
  if (!body) return {};
  // the evidence formats and their validators, loaded only when a statement carries evidence
  const [{ detectEvidence }, { checkSubjectBinding, declaredSubjectDigests }] = await Promise.all([import('../payload/detect.ts'), import('../payload/binding.ts')]);
  let ev: Evidence;
  try {
    ev = await detectEvidence(body, { name: f.location });
  } catch {
    return {};
  }
  if (declaredSubjectDigests(ev).length === 0) {
    return ev.kind === 'in-toto' || ev.kind === 'provenance' ? { kind: ev.kind, evidenceProblem: `its ${ev.kind} names no subject, so it is not about sha256:${artifact.sha256}` } : { kind: ev.kind };
  }
  try {
    checkSubjectBinding(ev, { digest: { sha256: artifact.sha256 }, name: artifact.name }, `its ${ev.kind}`);
    return { kind: ev.kind };
  } catch (e) {
    return { kind: ev.kind, evidenceProblem: (e as Error).message };
  }
}

/** A read done at most once, its result shared. */
function once<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= f());
}

/** A store's discovery result as the gate takes it: statements with their evidence, and what was skipped and why. */
export function asDiscovered(found: DiscoveryResult): Discovered {
  return {
    statements: found.statements.map((d) => ({ bytes: d.bytes, location: d.source.location, ...(d.evidence?.bytes ? { evidence: d.evidence.bytes } : d.evidence ? { readEvidence: d.evidence.read } : {}) })),
    skipped: found.skipped.map((s) => `${s.source.name}: ${s.reason}`),
  };
}
