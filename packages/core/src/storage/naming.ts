/**
 * Names of statement files and release assets. Every `.scitt` object holds exactly one Transparent
 * Statement (a COSE_Sign1, media type application/scitt-statement+cose), so any SCITT tool reads it:
 *
 *   <artifact>.scitt            the first statement attached to the artifact — the name consumers fetch
 *   <artifact>.<id16>.scitt     each further statement; id16 = the first 16 hex digits of the SHA-256
 *                               of the statement's log entry (the statement without its receipts)
 *
 * The set of these names is the index: discovery lists the directory (or the release's assets) once
 * and reads the names that match. Content-derived names make attach idempotent — the same signed
 * statement always lands on the same name, and attaching it again only merges receipts — and
 * cannot collide with another statement of the same artifact.
 */
import { StorageError } from '../errors.ts';

export const STATEMENT_EXTENSION = '.scitt';
const ID_LENGTH = 16;

/** A plain file name: no separators, no `.`/`..`, no control characters. */
export function assertPlainName(name: string, what: string): string {
  if (!name || name === '.' || name === '..' || /[/\\\u0000-\u001f\u007f]/.test(name)) {
    throw new StorageError('ERR_STORAGE_TARGET', `${what} ${JSON.stringify(name)} must be a plain file name (no /, \\, . or ..)`);
  }
  return name;
}

/** `<artifact>.scitt` */
export function statementName(artifactName: string): string {
  return `${artifactName}${STATEMENT_EXTENSION}`;
}

/** `<artifact>.<id16>.scitt` for a statement whose log-entry SHA-256 is `id` (hex). */
export function alternateStatementName(artifactName: string, id: string): string {
  return `${artifactName}.${id.slice(0, ID_LENGTH)}${STATEMENT_EXTENSION}`;
}

/** True when `candidate` is one of the artifact's statement names. */
export function isStatementNameFor(artifactName: string, candidate: string): boolean {
  if (candidate === statementName(artifactName)) return true;
  if (!candidate.startsWith(`${artifactName}.`) || !candidate.endsWith(STATEMENT_EXTENSION)) return false;
  const middle = candidate.slice(artifactName.length + 1, candidate.length - STATEMENT_EXTENSION.length);
  return middle.length === ID_LENGTH && /^[0-9a-f]+$/.test(middle);
}

/** Where a statement goes, given the names already taken: its own names first, the canonical name when free. */
export function candidateNames(artifactName: string, id: string): [canonical: string, alternate: string] {
  return [statementName(artifactName), alternateStatementName(artifactName, id)];
}
