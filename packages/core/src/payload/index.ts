export { MediaType, IN_TOTO_STATEMENT_V1, SLSA_PROVENANCE_V1, GITHUB_WORKFLOW_BUILD_TYPE } from './media-types.ts';
export {
  detectEvidence,
  readEvidenceFile,
  EVIDENCE_KINDS,
  MAX_EVIDENCE_BYTES,
  type Evidence,
  type EvidenceFile,
  type EvidenceKind,
  type EvidenceFormat,
  type DetectOptions,
} from './detect.ts';
export { type InTotoStatement, type InTotoSubject, type DsseEnvelope } from './in-toto.ts';
export { defaultPlacement, choosePlacement, locationBeside, type PayloadPlacement, type PlacementDecision, type PlacementOptions } from './placement.ts';
export {
  collectSubjects,
  subjectsFromPaths,
  resolveSubjectPaths,
  subjectFromDigest,
  subjectFromOciReference,
  subjectsFromChecksums,
  subjectsFromChecksumsFile,
  toInTotoSubject,
  MAX_SUBJECTS,
  type Subject,
  type SubjectInputs,
  type SubjectOptions,
  type PathSubjectOptions,
} from './subjects.ts';
export { parseChecksums, type ChecksumEntry } from './checksums.ts';
export { parseOciReference, type OciReference } from './oci-reference.ts';
export { genericPurl, ociPurl, type SubjectPin, subjectPin, subjectSha256, assertSubjectUnambiguous, isStatementAbout, normaliseSha256 } from './purl.ts';
export { sha256File, sha256Files, sha256Hex, HASH_BUFFER_BYTES, type FileDigest, type HashOptions, type HashProgress, type ProgressCallback } from './hashing.ts';
export { createProgressRenderer, formatBytes, type ProgressRenderer, type ProgressRendererOptions } from './progress.ts';
export {
  buildProvenancePredicate,
  buildProvenanceStatement,
  REQUIRED_GITHUB_ENV,
  type GitHubActionsEnv,
  type ProvenanceOptions,
  type SlsaProvenanceV1,
} from './provenance.ts';
export { scaiObjectReference, type ScaiObjectReference, type ScaiInput } from './scai.ts';
export { checkSubjectBinding, declaredSubjectDigests, type DeclaredDigest, type ArtifactDigest } from './binding.ts';
