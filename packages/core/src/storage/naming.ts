/**
 * Names of statement files and release assets. Every `.scitt` object holds exactly one Transparent
 * Statement (a COSE_Sign1, media type application/scitt-statement+cose), so any SCITT tool reads it.
 * A name says what the statement holds, when that is known from the statement itself:
 *
 *   <artifact>.<kind>.scitt         the first statement of that evidence kind (sbom, provenance,
 *                                   in-toto, scan): app.tgz.sbom.scitt, app.tgz.provenance.scitt
 *   <artifact>.<kind>.<id12>.scitt  each further statement of the same kind; id12 = the first 12 hex
 *                                   digits of the SHA-256 of its log entry (the statement without receipts)
 *   <artifact>.scitt                a statement whose kind is not known (another content type)
 *   <artifact>.<id16>.scitt         each further one of those
 *
 * The last two are also the names earlier versions gave every statement: discovery reads all four.
 * The set of these names is the index: discovery lists the directory (or the release's assets) once
 * and reads the names that match. Content-derived names make attach idempotent — the same signed
 * statement always lands on the same name, and attaching it again only merges receipts — and
 * cannot collide with another statement of the same artifact.
 */
import { StorageError } from '../errors.ts';
import type { EvidenceKind } from '../payload/detect.ts';
import { MediaType, SLSA_PROVENANCE_V1 } from '../payload/media-types.ts';
import type { SignedStatement } from '../statement/signed-statement.ts';

export const STATEMENT_EXTENSION = '.scitt';
const ID_LENGTH = 16;
const KIND_ID_LENGTH = 12;
// the kinds of payload/detect.ts, listed here so that naming does not load the validators
const KINDS: readonly EvidenceKind[] = ['sbom', 'provenance', 'in-toto', 'scan'];

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

/** `<artifact>.<kind>.scitt`, or `<artifact>.<kind>.<id12>.scitt` with the statement's log-entry SHA-256 `id`. */
export function kindStatementName(artifactName: string, kind: EvidenceKind, id?: string): string {
  return `${artifactName}.${kind}${id === undefined ? '' : `.${id.slice(0, KIND_ID_LENGTH)}`}${STATEMENT_EXTENSION}`;
}

const isHex = (s: string, n: number) => s.length === n && /^[0-9a-f]+$/.test(s);

/** True when `candidate` is one of the artifact's statement names (either scheme). */
export function isStatementNameFor(artifactName: string, candidate: string): boolean {
  if (candidate === statementName(artifactName)) return true;
  if (!candidate.startsWith(`${artifactName}.`) || !candidate.endsWith(STATEMENT_EXTENSION)) return false;
  const middle = candidate.slice(artifactName.length + 1, candidate.length - STATEMENT_EXTENSION.length);
  if (isHex(middle, ID_LENGTH)) return true;
  const [kind, id, extra] = middle.split('.');
  return KINDS.includes(kind as EvidenceKind) && extra === undefined && (id === undefined || isHex(id, KIND_ID_LENGTH));
}

const MAX_SNIFF_BYTES = 4 * 1024 * 1024;

/** The predicateType of an in-toto Statement (bare, or the payload of a DSSE envelope), when it reads as one. */
function predicateTypeOf(bytes: Uint8Array | undefined, dsse: boolean): string | undefined {
  if (!bytes || bytes.length > MAX_SNIFF_BYTES) return undefined;
  try {
    let doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as { predicateType?: unknown; payload?: unknown };
    if (dsse && typeof doc.payload === 'string') doc = JSON.parse(Buffer.from(doc.payload, 'base64').toString('utf8')) as typeof doc;
    return typeof doc.predicateType === 'string' ? doc.predicateType : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The evidence kind a statement's name shows, from what the statement says it holds: its content type
 * (a hash envelope's preimage content type), and for in-toto the predicate type of the embedded
 * payload or of the evidence given with it. Undefined when unknown: the statement keeps the plain name.
 */
export function statementKindForName(statement: SignedStatement, evidence?: Uint8Array): EvidenceKind | undefined {
  const ct = statement.hashEnvelope ? statement.hashEnvelope.preimageContentType : statement.contentType;
  if (typeof ct !== 'string') return undefined;
  const type = ct.split(';')[0]!.trim().toLowerCase();
  const sboms: readonly string[] = [MediaType.CycloneDxJson, MediaType.CycloneDxXml, MediaType.SpdxJson, MediaType.SpdxTagValue, MediaType.Spdx3Json];
  if (sboms.includes(type)) return 'sbom';
  if (type === MediaType.SarifJson) return 'scan';
  if (type === MediaType.InTotoJson || type === MediaType.DsseEnvelopeJson) {
    const body = statement.hashEnvelope ? evidence : (statement.sign1.payload ?? undefined);
    return predicateTypeOf(body, type === MediaType.DsseEnvelopeJson) === SLSA_PROVENANCE_V1 ? 'provenance' : 'in-toto';
  }
  return undefined;
}

/**
 * Where a statement goes, given the names already taken: its canonical name when free, else its own
 * content-derived name. With a kind: `<artifact>.<kind>.scitt`, then `<artifact>.<kind>.<id12>.scitt`.
 */
export function candidateNames(artifactName: string, id: string, kind?: EvidenceKind): [canonical: string, alternate: string] {
  if (kind) return [kindStatementName(artifactName, kind), kindStatementName(artifactName, kind, id)];
  return [statementName(artifactName), alternateStatementName(artifactName, id)];
}
