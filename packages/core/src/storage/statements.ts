/**
 * What every backend does with statements, whatever the medium: checks items before they are
 * attached (each statement parses, carries receipts and is about the artifact; each evidence object
 * is the preimage of one of them), decides whether two statements are the same signed statement
 * (same log entry) and merges their receipts, and screens what discovery finds.
 */
import { createHash } from 'node:crypto';
import { compareBytes } from '../cbor.ts';
import { type ErrorCode, StorageError, isScittError } from '../errors.ts';
import { statementEntrySha256 } from '../receipt/entry.ts';
import { attachReceipts, extractReceipts } from '../receipt/transparent.ts';
import { hashAlgorithm, STATEMENT_MEDIA_TYPE } from '../statement/profile.ts';
import { type SignedStatement, parseSignedStatement } from '../statement/signed-statement.ts';
import { isStatementAbout } from '../payload/purl.ts';
import { sha256Hex } from '../payload/hashing.ts';
import type { ArtifactRef, DiscoveredStatement, SkippedObject, StorageItem, StorageLimits, StorageSource } from './types.ts';

export { STATEMENT_MEDIA_TYPE, sha256Hex };

/** Identity of a signed statement regardless of its receipts: SHA-256 of its log entry. */
export function statementId(statement: SignedStatement | Uint8Array): string {
  return statementEntrySha256(statement).toString('hex');
}

export interface PreparedEvidence {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly mediaType: string;
  readonly sha256: string;
}

export interface PreparedStatement {
  readonly bytes: Uint8Array;
  readonly statement: SignedStatement;
  readonly id: string;
  readonly sha256: string;
  /** for a Hash Envelope, its preimage when it was given alongside */
  readonly evidence?: PreparedEvidence;
}

function short(s: string, n = 60): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/** Parses a statement for storage; throws StorageError with the parse failure as cause. */
function parseForStorage(item: StorageItem, artifact: ArtifactRef, limits: StorageLimits): SignedStatement {
  if (item.bytes.length > limits.statementBytes) {
    throw new StorageError('ERR_STORAGE_LIMIT', `statement ${JSON.stringify(item.name)} is ${item.bytes.length} bytes; at most ${limits.statementBytes} are stored`);
  }
  let statement: SignedStatement;
  try {
    statement = parseSignedStatement(item.bytes);
  } catch (cause) {
    const why = isScittError(cause) ? `${cause.code}: ${cause.message}` : String(cause);
    throw new StorageError('ERR_STORAGE_NOT_STATEMENT', `${JSON.stringify(item.name)} is not a Signed Statement (${why}); only ${STATEMENT_MEDIA_TYPE} objects are stored as statements`, { cause });
  }
  if (statement.receipts.length === 0) {
    throw new StorageError(
      'ERR_STORAGE_NOT_TRANSPARENT',
      `${JSON.stringify(item.name)} has no receipts (unprotected 394): it is a Signed Statement, not a Transparent Statement — register it and attach the receipts first (scitt register, scitt attach)`,
    );
  }
  if (!isStatementAbout(statement.sub, artifact.sha256)) {
    throw new StorageError(
      'ERR_STORAGE_SUBJECT',
      `statement ${JSON.stringify(item.name)} is about ${JSON.stringify(short(statement.sub, 120))}, which does not pin sha256:${artifact.sha256} of ${artifact.name}; attach it to the artifact it names`,
    );
  }
  return statement;
}

/**
 * Checks what is to be attached and pairs evidence with its statement. Statements given twice
 * (same signed statement) are merged into one with the union of their receipts.
 */
export function prepareItems(artifact: ArtifactRef, items: readonly StorageItem[], limits: StorageLimits): PreparedStatement[] {
  if (items.length === 0) throw new StorageError('ERR_USAGE', 'nothing to attach: give at least one Transparent Statement');
  const statements = new Map<string, { bytes: Uint8Array; statement: SignedStatement }>();
  const evidence: StorageItem[] = [];
  for (const item of items) {
    if (item.mediaType !== STATEMENT_MEDIA_TYPE) {
      evidence.push(item);
      continue;
    }
    const statement = parseForStorage(item, artifact, limits);
    const id = statementId(statement);
    const seen = statements.get(id);
    if (!seen) {
      statements.set(id, { bytes: item.bytes, statement });
    } else {
      const merged = mergeStatements(seen.bytes, item.bytes);
      if (merged.changed) statements.set(id, { bytes: merged.bytes, statement: parseSignedStatement(merged.bytes) });
    }
  }
  if (statements.size === 0) throw new StorageError('ERR_USAGE', `nothing to attach: no item has media type ${STATEMENT_MEDIA_TYPE}; evidence is stored only with its statement`);

  const paired = new Map<string, PreparedEvidence>();
  for (const item of evidence) {
    if (item.bytes.length > limits.evidenceBytes) {
      throw new StorageError('ERR_STORAGE_LIMIT', `evidence ${JSON.stringify(item.name)} is ${item.bytes.length} bytes; at most ${limits.evidenceBytes} are stored`);
    }
    if (!item.name) throw new StorageError('ERR_STORAGE_EVIDENCE', 'evidence needs a name');
    const owners = [...statements.entries()].filter(([, s]) => {
      const he = s.statement.hashEnvelope;
      const h = he && hashAlgorithm(he.hashAlg);
      if (!he || !h || he.digest.length !== h.length) return false;
      return compareBytes(createHash(h.node).update(item.bytes).digest(), he.digest) === 0;
    });
    if (owners.length === 0) {
      throw new StorageError(
        'ERR_STORAGE_EVIDENCE',
        `evidence ${JSON.stringify(item.name)} is not the preimage of any Hash Envelope statement given with it (its digest matches no payload); evidence is stored only when a statement vouches for it`,
      );
    }
    const value: PreparedEvidence = { name: item.name, bytes: item.bytes, mediaType: item.mediaType, sha256: sha256Hex(item.bytes) };
    for (const [id] of owners) {
      const prior = paired.get(id);
      if (prior && prior.sha256 !== value.sha256) throw new StorageError('ERR_STORAGE_EVIDENCE', `two evidence objects given for the same statement`);
      paired.set(id, value);
    }
  }
  return [...statements.entries()].map(([id, s]) => {
    const ev = paired.get(id);
    return { bytes: s.bytes, statement: s.statement, id, sha256: sha256Hex(s.bytes), ...(ev ? { evidence: ev } : {}) };
  });
}

/**
 * Merges the receipts of `incoming` into `existing` (the same signed statement): existing bytes are
 * kept as they are when every incoming receipt is already there.
 */
export function mergeStatements(existing: Uint8Array, incoming: Uint8Array): { bytes: Uint8Array; changed: boolean } {
  const have = extractReceipts(existing);
  const add = extractReceipts(incoming).filter((r) => !have.some((h) => compareBytes(h, r) === 0));
  if (add.length === 0) return { bytes: existing, changed: false };
  const merged = attachReceipts(existing, add);
  return { bytes: new Uint8Array(merged.buffer, merged.byteOffset, merged.byteLength), changed: true };
}

/**
 * What one discovery may hold in memory (StorageLimits.discoveryBytes): each statement or evidence
 * object is reserved before it is read or downloaded and released when it is dropped, so the memory
 * a discovery takes is bounded however many objects an attacker adds beside an artifact, among
 * release assets or as referrers. Reads are sequential (or a small pool) under it.
 */
export class DiscoveryBudget {
  readonly total: number;
  #left: number;

  constructor(limits: StorageLimits) {
    this.total = limits.discoveryBytes;
    this.#left = limits.discoveryBytes;
  }

  /** Counts `bytes` as held and returns true, or returns false (nothing counted) when they do not fit. */
  reserve(bytes: number): boolean {
    if (!(bytes >= 0) || bytes > this.#left) return false;
    this.#left -= bytes;
    return true;
  }

  release(bytes: number): void {
    this.#left = Math.min(this.total, this.#left + bytes);
  }

  /** the reason an object is skipped when it does not fit */
  refusal(bytes: number): { code: ErrorCode; reason: string } {
    return { code: 'ERR_STORAGE_LIMIT', reason: `${bytes} more bytes would take this discovery past its ${this.total}-byte memory budget (discoveryBytes); not read` };
  }
}

/** Objects a discovery fetches at once: enough to hide latency, few enough that sockets and memory in flight stay bounded. */
export const DISCOVERY_CONCURRENCY = 8;

/** `fn` over `items`, at most `n` at a time, results in order. */
export async function inPool<T, R>(items: readonly T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

export interface Examined {
  readonly statement?: DiscoveredStatement;
  readonly skipped?: SkippedObject;
}

/** Screens bytes a store returned: a Transparent Statement about the artifact, or a note why not. */
export function examineStatement(bytes: Uint8Array, artifact: ArtifactRef, source: StorageSource, limits: StorageLimits): Examined {
  const skip = (code: ErrorCode, reason: string): Examined => ({ skipped: { source, code, reason } });
  if (bytes.length > limits.statementBytes) return skip('ERR_STORAGE_LIMIT', `${bytes.length} bytes exceed the ${limits.statementBytes}-byte statement limit`);
  let statement: SignedStatement;
  try {
    statement = parseSignedStatement(bytes);
  } catch (e) {
    return skip('ERR_STORAGE_NOT_STATEMENT', `not a Signed Statement: ${isScittError(e) ? `${e.code}: ${e.message}` : String(e)}`);
  }
  if (statement.receipts.length === 0) return skip('ERR_STORAGE_NOT_TRANSPARENT', 'a Signed Statement without receipts, not a Transparent Statement');
  if (!isStatementAbout(statement.sub, artifact.sha256)) {
    return skip('ERR_STORAGE_SUBJECT', `about ${JSON.stringify(short(statement.sub, 120))}, not sha256:${artifact.sha256}`);
  }
  return { statement: { bytes, statement, id: statementId(statement), source } };
}

/**
 * One statement per signed statement: when the store holds the same signed statement more than
 * once (e.g. an OCI referrer pushed again with more receipts), those whose receipts another copy
 * already carries are dropped with a note.
 */
export function dedupeStatements(found: DiscoveredStatement[]): { statements: DiscoveredStatement[]; skipped: SkippedObject[] } {
  const skipped: SkippedObject[] = [];
  const receiptsOf = new Map(found.map((f) => [f, f.statement.receipts]));
  const covers = (a: DiscoveredStatement, b: DiscoveredStatement) => receiptsOf.get(b)!.every((r) => receiptsOf.get(a)!.some((x) => compareBytes(x, r) === 0));
  const kept: DiscoveredStatement[] = [];
  for (const f of found) {
    const twins = found.filter((g) => g !== f && g.id === f.id);
    // dropped when another copy covers it and is strictly larger, or covers it equally and comes first
    const by = twins.find((g) => covers(g, f) && (!covers(f, g) || found.indexOf(g) < found.indexOf(f)));
    if (by) skipped.push({ source: f.source, code: 'ERR_STORAGE_DUPLICATE', reason: `same signed statement as ${by.source.location}, whose receipts include all of these` });
    else kept.push(f);
  }
  return { statements: kept, skipped };
}
