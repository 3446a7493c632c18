/**
 * Evidence detection: what a build output is, decided from its content (never its file name),
 * validated against the schema of its format and version, and checked against the kind the
 * caller expects (sbom | in-toto | provenance | scan) before anything is signed.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { PayloadError } from '../errors.ts';
import { cycloneDxXmlVersion, validateCycloneDxJson, validateCycloneDxXml } from './cyclonedx.ts';
import { looksLikeDsse, openDsseEnvelope, validateStatement, type InTotoStatement, type InTotoSubject } from './in-toto.ts';
import { IN_TOTO_STATEMENT_V01, IN_TOTO_STATEMENT_V1, MediaType, SLSA_PROVENANCE_V1 } from './media-types.ts';
import { looksLikeSarif, validateSarif } from './sarif.ts';
import { spdx3Context, validateSpdx2Json, validateSpdx3 } from './spdx.ts';
import { looksLikeSpdxTagValue, parseSpdxTagValue } from './spdx-tag-value.ts';
import { decodeUtf8, assertNotEmpty, isObject, parseJson } from './text.ts';
import { parseXml } from './xml.ts';
import { EVIDENCE_KINDS, type EvidenceKind } from './evidence-kinds.ts';

export { EVIDENCE_KINDS, type EvidenceKind } from './evidence-kinds.ts';

/** Format and encoding of the evidence. */
export type EvidenceFormat =
  | 'cyclonedx-json'
  | 'cyclonedx-xml'
  | 'spdx-json'
  | 'spdx-tag-value'
  | 'spdx3-json'
  | 'in-toto-statement'
  | 'dsse-envelope'
  | 'sarif';

export interface Evidence {
  kind: EvidenceKind;
  format: EvidenceFormat;
  /** version of the format's specification: '1.6' (CycloneDX), '2.3' / '3.0.1' (SPDX), '1' (in-toto Statement), '2.1.0' (SARIF) */
  specVersion: string;
  mediaType: MediaType;
  /** the parsed document: JSON as parsed; XML as plain objects (xml.ts); tag-value in SPDX JSON field names; for DSSE the envelope */
  document: unknown;
  /** in-toto only: the statement (for DSSE, the decoded payload) */
  statement?: InTotoStatement;
  /** in-toto only: the statement's subjects */
  subjects?: InTotoSubject[];
  /** in-toto only */
  predicateType?: string;
}

export interface DetectOptions {
  /** refuse evidence of another kind; 'auto' (the default) accepts any known kind */
  expected?: EvidenceKind | 'auto';
  /** how messages name the input, e.g. its path */
  name?: string;
}

const KIND_WORDS: Record<EvidenceKind, string> = {
  sbom: 'an SBOM (CycloneDX or SPDX)',
  'in-toto': 'an in-toto attestation (Statement v1, plain or in a DSSE envelope)',
  provenance: `SLSA provenance (an in-toto Statement with predicateType ${SLSA_PROVENANCE_V1})`,
  scan: 'a scan result (SARIF 2.1.0)',
};

/** Rejects evidence whose kind differs from the expected one; an in-toto expectation accepts any statement, provenance included. */
function checkKind(found: EvidenceKind, description: string, expected: EvidenceKind | 'auto', what: string): EvidenceKind {
  if (expected === 'auto' || expected === found) return found;
  if (expected === 'in-toto' && found === 'provenance') return 'in-toto';
  throw new PayloadError(
    'ERR_PAYLOAD_KIND_MISMATCH',
    `${what} was expected to be ${KIND_WORDS[expected]} but is ${description}; pass the right file, or expect type "${found}" (or "auto")`,
  );
}

function statementKind(predicateType: unknown): EvidenceKind {
  return predicateType === SLSA_PROVENANCE_V1 ? 'provenance' : 'in-toto';
}

function unknownJson(doc: unknown, expected: EvidenceKind | 'auto', what: string): PayloadError {
  const keys = isObject(doc) ? Object.keys(doc).slice(0, 8) : [];
  const found = isObject(doc) ? (keys.length ? `its top-level keys are ${keys.join(', ')}` : 'it is an empty object') : `its top level is ${Array.isArray(doc) ? 'an array' : typeof doc}`;
  const markers: Record<EvidenceKind, string> = {
    sbom: 'CycloneDX ("bomFormat": "CycloneDX"), SPDX 2 ("spdxVersion") or SPDX 3 (an spdx.org "@context")',
    'in-toto': `an in-toto Statement ("_type": "${IN_TOTO_STATEMENT_V1}") or a DSSE envelope ("payloadType", "payload", "signatures")`,
    provenance: `an in-toto Statement with "predicateType": "${SLSA_PROVENANCE_V1}", plain or in a DSSE envelope`,
    scan: 'SARIF ("version": "2.1.0" and "runs")',
  };
  const bundle = isObject(doc) && typeof doc.mediaType === 'string' && doc.mediaType.startsWith('application/vnd.dev.sigstore.bundle') && isObject(doc.dsseEnvelope);
  const hint = bundle ? '; it is a Sigstore bundle — pass its .dsseEnvelope (e.g. jq .dsseEnvelope) instead' : '';
  const wanted = expected === 'auto' ? Object.values(markers).join('; or ') : markers[expected];
  const is = expected === 'auto' ? 'is JSON of no known evidence format' : `is JSON but not ${KIND_WORDS[expected]}`;
  return new PayloadError('ERR_PAYLOAD_UNKNOWN_FORMAT', `${what} ${is}: expected ${wanted}; ${found}${hint}`);
}

async function detectJson(text: string, expected: EvidenceKind | 'auto', what: string): Promise<Evidence> {
  const doc = parseJson(text, what);
  if (!isObject(doc)) throw unknownJson(doc, expected, what);
  if (doc.bomFormat === 'CycloneDX') {
    const kind = checkKind('sbom', 'a CycloneDX SBOM', expected, what);
    return { kind, format: 'cyclonedx-json', specVersion: await validateCycloneDxJson(doc, what), mediaType: MediaType.CycloneDxJson, document: doc };
  }
  if (typeof doc.spdxVersion === 'string') {
    const kind = checkKind('sbom', `an SPDX ${doc.spdxVersion} SBOM`, expected, what);
    return { kind, format: 'spdx-json', specVersion: await validateSpdx2Json(doc, what), mediaType: MediaType.SpdxJson, document: doc };
  }
  if (spdx3Context(doc)) {
    const kind = checkKind('sbom', 'an SPDX 3 SBOM', expected, what);
    return { kind, format: 'spdx3-json', specVersion: await validateSpdx3(doc, what), mediaType: MediaType.Spdx3Json, document: doc };
  }
  if (doc._type === IN_TOTO_STATEMENT_V1 || doc._type === IN_TOTO_STATEMENT_V01) {
    const kind = checkKind(statementKind(doc.predicateType), `an in-toto Statement of predicateType ${JSON.stringify(doc.predicateType)}`, expected, what);
    const statement = await validateStatement(doc, what);
    return {
      kind,
      format: 'in-toto-statement',
      specVersion: '1',
      mediaType: MediaType.InTotoJson,
      document: doc,
      statement,
      subjects: statement.subject,
      predicateType: statement.predicateType,
    };
  }
  if (looksLikeDsse(doc)) {
    const { statement } = await openDsseEnvelope(doc, what);
    const kind = checkKind(statementKind(statement.predicateType), `a DSSE envelope with an in-toto Statement of predicateType ${statement.predicateType}`, expected, what);
    return {
      kind,
      format: 'dsse-envelope',
      specVersion: '1',
      mediaType: MediaType.DsseEnvelopeJson,
      document: doc,
      statement,
      subjects: statement.subject,
      predicateType: statement.predicateType,
    };
  }
  if (looksLikeSarif(doc)) {
    const kind = checkKind('scan', 'a SARIF scan result', expected, what);
    return { kind, format: 'sarif', specVersion: await validateSarif(doc, what), mediaType: MediaType.SarifJson, document: doc };
  }
  throw unknownJson(doc, expected, what);
}

async function detectXml(text: string, expected: EvidenceKind | 'auto', what: string): Promise<Evidence> {
  const { root, document } = parseXml(text, what);
  if (cycloneDxXmlVersion(root) === undefined) {
    const ns = root.namespace ? ` in namespace ${root.namespace}` : ' without a namespace';
    throw new PayloadError(
      'ERR_PAYLOAD_UNKNOWN_FORMAT',
      `${what} is XML of no known evidence format: its root element is <${root.localName}>${ns}; the only XML evidence accepted is a CycloneDX BOM (<bom xmlns="http://cyclonedx.org/schema/bom/1.x">)`,
    );
  }
  const kind = checkKind('sbom', 'a CycloneDX SBOM (XML)', expected, what);
  return { kind, format: 'cyclonedx-xml', specVersion: await validateCycloneDxXml(text, root, what), mediaType: MediaType.CycloneDxXml, document };
}

/**
 * Detects and validates evidence from its bytes. Throws PayloadError: ERR_PAYLOAD_EMPTY, ERR_PAYLOAD_MALFORMED
 * (truncated or broken JSON/XML), ERR_PAYLOAD_UNKNOWN_FORMAT, ERR_PAYLOAD_UNSUPPORTED_VERSION, ERR_PAYLOAD_SCHEMA,
 * ERR_PAYLOAD_KIND_MISMATCH.
 */
export async function detectEvidence(input: Uint8Array | string, options: DetectOptions = {}): Promise<Evidence> {
  const what = options.name ?? 'the evidence';
  const expected = options.expected ?? 'auto';
  if (expected !== 'auto' && !EVIDENCE_KINDS.includes(expected)) {
    throw new PayloadError('ERR_USAGE', `unknown evidence type ${JSON.stringify(expected)}; use one of ${EVIDENCE_KINDS.join(', ')} or auto`);
  }
  const text = decodeUtf8(input, what);
  assertNotEmpty(text, what);
  const first = text.trimStart()[0];
  if (first === '{' || first === '[') return detectJson(text, expected, what);
  if (first === '<') return detectXml(text, expected, what);
  if (looksLikeSpdxTagValue(text)) {
    const { version, document } = parseSpdxTagValue(text, what);
    const kind = checkKind('sbom', `an SPDX ${version} SBOM (tag-value)`, expected, what);
    return { kind, format: 'spdx-tag-value', specVersion: version, mediaType: MediaType.SpdxTagValue, document };
  }
  const found = /^[\x20-\x7e\s]*$/.test(text.slice(0, 64)) ? `it starts with ${JSON.stringify(text.trimStart().slice(0, 24))}` : 'it looks binary';
  throw new PayloadError(
    'ERR_PAYLOAD_UNKNOWN_FORMAT',
    `${what} is not ${expected === 'auto' ? 'a known evidence format' : KIND_WORDS[expected]}: it is neither JSON, XML nor SPDX tag-value (${found})`,
  );
}

/** Evidence read from a file, with the bytes and SHA-256 a statement needs. */
export interface EvidenceFile extends Evidence {
  path: string;
  bytes: Uint8Array;
  /** lower-case hex SHA-256 of `bytes` */
  sha256: string;
}

/** Evidence larger than this is refused: it is parsed in memory, and V8 strings stop near 512 MiB. */
export const MAX_EVIDENCE_BYTES = 256 * 1024 * 1024;

/** Reads, detects and validates an evidence file. */
export async function readEvidenceFile(path: string, options: DetectOptions & { maxBytes?: number } = {}): Promise<EvidenceFile> {
  const what = options.name ?? path;
  const max = options.maxBytes ?? MAX_EVIDENCE_BYTES;
  let info;
  try {
    info = await stat(path);
  } catch (cause) {
    throw new PayloadError('ERR_IO', `cannot read the evidence file ${path}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, { cause });
  }
  if (info.isDirectory()) throw new PayloadError('ERR_USAGE', `${path} is a directory; pass the evidence file itself (an SBOM, attestation or SARIF file)`);
  if (info.size > max) throw new PayloadError('ERR_PAYLOAD_TOO_LARGE', `${what} is ${info.size} bytes; evidence files are limited to ${max} bytes`);
  const bytes = await readFile(path);
  const evidence = await detectEvidence(bytes, { ...options, name: what });
  return { ...evidence, path, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}
