/**
 * Where Transparent Statements live (DESIGN.md, specs/statement-persistence.md): one interface,
 * three backends — files beside the artifact, GitHub release assets, OCI referrers. A store attaches
 * statements (and the evidence of Hash Envelope statements) to an artifact, and discovers the
 * statements about an artifact: those whose `sub` pins the artifact's SHA-256.
 */
import type { ErrorCode } from '../errors.ts';
import type { SignedStatement } from '../statement/signed-statement.ts';

/** The artifact statements are attached to or discovered for. */
export interface ArtifactRef {
  /**
   * files and release assets: the artifact's file (asset) name, which statement names derive from;
   * OCI: `registry/repository`, for messages only (the store is bound to the repository)
   */
  readonly name: string;
  /** lower-case hex SHA-256 of the artifact's bytes (for an OCI image: of its manifest) */
  readonly sha256: string;
}

/** Something to attach: a Transparent Statement (`application/scitt-statement+cose`) or evidence. */
export interface StorageItem {
  /** file name; for a statement only a hint (stores name statements after the artifact) */
  readonly name: string;
  readonly bytes: Uint8Array;
  /** `application/scitt-statement+cose` for a statement; the evidence's media type otherwise */
  readonly mediaType: string;
}

export type StoreKind = 'files' | 'github-release' | 'oci';

/** What attach stored (or found already stored): usable as a SCAI Object Reference (name, digest, locationURI, objectType). */
export interface StoredObject {
  readonly kind: 'statement' | 'evidence';
  readonly name: string;
  /** of the bytes as stored */
  readonly digest: { readonly sha256: string };
  readonly mediaType: string;
  /** a URI: `file:///…`, the release asset's download URL, `oci://registry/repository@sha256:<manifest>` */
  readonly location: string;
  /** created; updated (receipts were added to the same signed statement); unchanged (already there) */
  readonly status: 'created' | 'updated' | 'unchanged';
}

/** Where a discovered object came from. */
export interface StorageSource {
  readonly store: StoreKind;
  /** a URI as in StoredObject.location */
  readonly location: string;
  /** file or asset name, or the OCI layer title / manifest digest */
  readonly name: string;
}

/** Evidence of a Hash Envelope statement, found in the store and checked against the statement's payload digest. */
export interface DiscoveredEvidence {
  /** the bytes, when the store fetched them (release assets, OCI referrers); files leave evidence where it is */
  readonly bytes?: Uint8Array;
  /** the bytes: held ones, or a capped read of the file, checked against the statement's digest again */
  readonly read: () => Promise<Uint8Array>;
  readonly mediaType?: string;
  readonly source: StorageSource;
}

/**
 * A Transparent Statement about the artifact: it parses as a Signed Statement with receipts, and its
 * subject pins the artifact's digest. Signatures and receipts are NOT verified here — that is the
 * verify module's job, with trusted keys.
 */
export interface DiscoveredStatement {
  readonly bytes: Uint8Array;
  readonly statement: SignedStatement;
  /** hex SHA-256 of the statement's log entry (the statement without its unprotected header) */
  readonly id: string;
  readonly source: StorageSource;
  /** only with `evidence: true`, for a Hash Envelope whose evidence the store holds and whose digest matches */
  readonly evidence?: DiscoveredEvidence;
}

/** Something a store held that was not returned as a statement, and why. */
export interface SkippedObject {
  readonly source: StorageSource;
  /** why, as an error code: ERR_STORAGE_SUBJECT (about another artifact), ERR_STORAGE_NOT_STATEMENT, ERR_STORAGE_NOT_TRANSPARENT, ERR_STORAGE_EVIDENCE, ERR_STORAGE_LIMIT, ERR_STORAGE_DUPLICATE, … */
  readonly code: ErrorCode;
  readonly reason: string;
}

export interface DiscoveryResult {
  readonly artifact: ArtifactRef;
  readonly statements: DiscoveredStatement[];
  /** objects looked at and not returned: other subjects, not statements, too large, duplicates, unmatched evidence */
  readonly skipped: SkippedObject[];
  /** HTTP requests made (0 for files) */
  readonly requests: number;
}

export interface DiscoverOptions {
  /** also fetch the evidence of Hash Envelope statements and check it against their digest; default false */
  evidence?: boolean;
}

/** One interface, three backends. */
export interface StatementStore {
  readonly kind: StoreKind;
  /** where this store writes, for messages: a directory, `owner/repo@tag`, `registry/repository` */
  readonly description: string;
  /**
   * Stores Transparent Statements about `artifact` and the evidence of Hash Envelope statements
   * among them. Every statement must parse, carry receipts and have a subject that pins the
   * artifact's digest; every evidence item must be the preimage of one of the statements.
   * Attaching a statement that is already there changes nothing; attaching it with more receipts
   * adds them. Nothing else is ever overwritten.
   */
  attach(artifact: ArtifactRef, items: readonly StorageItem[]): Promise<StoredObject[]>;
  /** The Transparent Statements about `artifact` that the store holds. */
  discover(artifact: ArtifactRef, options?: DiscoverOptions): Promise<DiscoveryResult>;
}

/** Bounds on what is read into memory from a store. */
export interface StorageLimits {
  /** one Transparent Statement */
  statementBytes: number;
  /** one evidence object */
  evidenceBytes: number;
  /** one JSON document: OCI manifest or index, registry token, GitHub API response */
  documentBytes: number;
  /** candidate statements considered for one artifact */
  statements: number;
  /**
   * statements and evidence one discovery holds in memory at once, however many objects the store
   * offers (DiscoveryBudget, statements.ts): what would pass it is skipped, so the gate fails rather than grows
   */
  discoveryBytes: number;
}

export const DEFAULT_STORAGE_LIMITS: Readonly<StorageLimits> = Object.freeze({
  statementBytes: 16 * 1024 * 1024,
  evidenceBytes: 64 * 1024 * 1024,
  documentBytes: 4 * 1024 * 1024,
  statements: 1000,
  discoveryBytes: 96 * 1024 * 1024,
});

export function storageLimits(partial: Partial<StorageLimits> = {}): StorageLimits {
  return { ...DEFAULT_STORAGE_LIMITS, ...partial };
}
