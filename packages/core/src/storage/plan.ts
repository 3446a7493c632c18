/**
 * Where a statement goes among the statement objects an artifact already has (files in a directory,
 * assets of a release), by the naming scheme of naming.ts: onto the object that holds the same
 * signed statement (merging receipts), else the canonical name when free, else its content-derived
 * name. Never onto an object that holds something else.
 */
import { StorageError } from '../errors.ts';
import { parseSignedStatement } from '../statement/signed-statement.ts';
import { candidateNames, statementKindForName } from './naming.ts';
import { type PreparedStatement, mergeStatements, statementId } from './statements.ts';

export interface ExistingObject {
  readonly name: string;
  /** undefined when the object could not be read (too large, unreadable): it is never replaced */
  readonly bytes?: Uint8Array;
}

export interface Placement {
  readonly action: 'create' | 'update' | 'unchanged';
  readonly name: string;
  /** what the object holds after the action */
  readonly bytes: Uint8Array;
}

function idOf(bytes: Uint8Array | undefined): string | undefined {
  if (!bytes) return undefined;
  try {
    return statementId(parseSignedStatement(bytes));
  } catch {
    return undefined;
  }
}

/** Decides one statement's placement; `existing` lists the artifact's statement objects. */
function placeStatement(artifactName: string, s: PreparedStatement, existing: readonly ExistingObject[]): Placement {
  const same = existing.find((o) => idOf(o.bytes) === s.id);
  if (same) {
    const merged = mergeStatements(same.bytes!, s.bytes);
    return { action: merged.changed ? 'update' : 'unchanged', name: same.name, bytes: merged.bytes };
  }
  const [canonical, alternate] = candidateNames(artifactName, s.id, statementKindForName(s.statement, s.evidence?.bytes));
  if (!existing.some((o) => o.name === canonical)) return { action: 'create', name: canonical, bytes: s.bytes };
  if (!existing.some((o) => o.name === alternate)) return { action: 'create', name: alternate, bytes: s.bytes };
  throw new StorageError(
    'ERR_STORAGE_CONFLICT',
    `${alternate} already exists and holds something other than this statement; it is not overwritten — remove it if it is stale`,
  );
}

/** Places several statements one after another, each seeing the names the previous ones took. */
export function placeStatements(artifactName: string, statements: readonly PreparedStatement[], existing: readonly ExistingObject[]): Placement[] {
  const seen = [...existing];
  return statements.map((s) => {
    const p = placeStatement(artifactName, s, seen);
    const i = seen.findIndex((o) => o.name === p.name);
    if (i === -1) seen.push({ name: p.name, bytes: p.bytes });
    else seen[i] = { name: p.name, bytes: p.bytes };
    return p;
  });
}
