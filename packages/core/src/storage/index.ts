/**
 * Storage: where Transparent Statements (and the evidence of Hash Envelope statements) live, and
 * how verifiers find the statements about an artifact. One interface (StatementStore: attach,
 * discover), three backends:
 *
 *   FileStatementStore   <artifact>.scitt (+ <artifact>.<id16>.scitt) beside the artifact; evidence at
 *                        the statement's relative payload-location
 *   GitHubReleaseStore   the same names as release assets, through Octokit
 *   OciStatementStore    OCI referrers of the image manifest (referrers API, tag schema fallback)
 *
 * Discovery returns only objects that parse as Transparent Statements whose subject pins the
 * artifact's SHA-256; everything else is listed in `skipped` with a reason. Signatures and receipts
 * are verified by the verify module, not here.
 *
 * @example
 *   const { store, artifact } = await resolveArtifact('dist/app-1.0.tgz');        // or release:v1.0/app-1.0.tgz, oci://ghcr.io/o/app:v1
 *   const { statements, skipped } = await store.discover(artifact, { evidence: true });
 *
 *   await attachStatements('release:v1.0', [{ name: 'app.scitt', bytes, mediaType: 'application/scitt-statement+cose' }],
 *     { github: { owner: 'o', repo: 'app', token: process.env.GITHUB_TOKEN } });
 */
export {
  type ArtifactRef,
  type DiscoverOptions,
  type DiscoveredEvidence,
  type DiscoveredStatement,
  type DiscoveryResult,
  type SkippedObject,
  type StatementStore,
  type StorageItem,
  type StorageLimits,
  type StorageSource,
  type StoreKind,
  type StoredObject,
  DEFAULT_STORAGE_LIMITS,
} from './types.ts';
export { STATEMENT_EXTENSION, alternateStatementName, isStatementNameFor, statementName } from './naming.ts';
export { statementId } from './statements.ts';
export { artifactRef, fileArtifact } from './artifact.ts';
export { FileStatementStore, type FileStoreOptions } from './files.ts';
export { GitHubReleaseStore, type GitHubReleaseStoreOptions, type OctokitLike, type ReleaseAsset } from './github-release.ts';
export { OciStatementStore, type OciStoreOptions } from './oci/store.ts';
export { type RegistryCredentials, dockerCredentials } from './oci/auth.ts';
export { type ImageReference, parseImageReference } from './oci/reference.ts';
export { type StorageOptions, type StorageTarget, artifactFromSubject, attachStatements, discoverStatements, openStore, parseStorageTarget, resolveArtifact } from './target.ts';
export { type LocalStatement, readLocalStatement } from './local-items.ts';
