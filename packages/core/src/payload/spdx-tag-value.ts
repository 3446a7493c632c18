/**
 * SPDX 2.2/2.3 tag-value documents (`text/spdx`): a line-oriented `Tag: Value` format with
 * `<text>…</text>` for multi-line values. The document creation fields the specification
 * requires (clause 6) are checked; packages, files and relationships are read into the same
 * shape as SPDX JSON so that later checks (subject binding) treat both alike.
 */
import { PayloadError } from '../errors.ts';
import { spdx2Version, type Spdx2Version } from './spdx.ts';

export interface TagValueEntry {
  tag: string;
  value: string;
  /** 1-based line of the tag */
  line: number;
}

export interface SpdxChecksum {
  algorithm: string;
  checksumValue: string;
}

/** A tag-value document in SPDX JSON field names. */
export interface SpdxTagValueDocument {
  spdxVersion: string;
  dataLicense: string;
  SPDXID: string;
  name: string;
  documentNamespace: string;
  creationInfo: { creators: string[]; created: string; licenseListVersion?: string };
  packages: { SPDXID: string; name: string; versionInfo?: string; downloadLocation?: string; checksums: SpdxChecksum[] }[];
  files: { SPDXID: string; fileName: string; checksums: SpdxChecksum[] }[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
}

/** Splits tag-value text into entries; `<text>` values may span lines. */
function tagValueEntries(text: string, what: string): TagValueEntry[] {
  const lines = text.split(/\r?\n/);
  const entries: TagValueEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const m = /^([A-Za-z][A-Za-z0-9]*):\s?(.*)$/.exec(line);
    if (!m) throw new PayloadError('ERR_PAYLOAD_MALFORMED', `${what} line ${i + 1} is not "Tag: Value": ${JSON.stringify(line.slice(0, 80))}`);
    const [, tag, rest] = m as unknown as [string, string, string];
    let value = rest.trim();
    const start = i + 1;
    if (value.startsWith('<text>')) {
      let body = value.slice('<text>'.length);
      while (!body.includes('</text>')) {
        if (++i >= lines.length) throw new PayloadError('ERR_PAYLOAD_MALFORMED', `${what} line ${start}: <text> of ${tag} is never closed with </text>`);
        body += `\n${lines[i]!}`;
      }
      value = body.slice(0, body.indexOf('</text>'));
    }
    entries.push({ tag, value, line: start });
  }
  return entries;
}

const CREATED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const CREATOR = /^(Person|Organization|Tool): .+$/;

function checksum(entry: TagValueEntry, what: string): SpdxChecksum {
  const m = /^([A-Za-z0-9-]+):\s*([0-9a-fA-F]+)$/.exec(entry.value);
  if (!m) throw new PayloadError('ERR_PAYLOAD_SCHEMA', `${what} line ${entry.line}: ${entry.tag} must be "ALGORITHM: hexvalue", got ${JSON.stringify(entry.value)}`);
  return { algorithm: m[1]!, checksumValue: m[2]!.toLowerCase() };
}

type Package = SpdxTagValueDocument['packages'][number];
type File = SpdxTagValueDocument['files'][number];

/** Parses and checks an SPDX tag-value document. */
export function parseSpdxTagValue(text: string, what: string): { version: Spdx2Version; document: SpdxTagValueDocument } {
  const entries = tagValueEntries(text, what);
  const header: Partial<Pick<SpdxTagValueDocument, 'spdxVersion' | 'dataLicense' | 'SPDXID' | 'name' | 'documentNamespace'>> = {};
  const creationInfo: SpdxTagValueDocument['creationInfo'] = { creators: [], created: '' };
  const packages: Package[] = [];
  const files: File[] = [];
  const relationships: SpdxTagValueDocument['relationships'] = [];
  // SPDXID and checksum tags belong to the package or file section they follow
  let current: Package | File | undefined;
  const single: Record<string, TagValueEntry> = {};
  const once = (e: TagValueEntry): string => {
    if (single[e.tag]) throw new PayloadError('ERR_PAYLOAD_SCHEMA', `${what} line ${e.line}: ${e.tag} appears twice (first on line ${single[e.tag]!.line})`);
    single[e.tag] = e;
    return e.value;
  };
  for (const e of entries) {
    switch (e.tag) {
      case 'SPDXVersion':
        header.spdxVersion = once(e);
        break;
      case 'DataLicense':
        header.dataLicense = once(e);
        break;
      case 'DocumentName':
        header.name = once(e);
        break;
      case 'DocumentNamespace':
        header.documentNamespace = once(e);
        break;
      case 'LicenseListVersion':
        creationInfo.licenseListVersion = once(e);
        break;
      case 'Creator':
        if (!CREATOR.test(e.value)) throw new PayloadError('ERR_PAYLOAD_SCHEMA', `${what} line ${e.line}: Creator must start with "Person: ", "Organization: " or "Tool: "`);
        creationInfo.creators.push(e.value);
        break;
      case 'Created':
        if (!CREATED.test(e.value)) throw new PayloadError('ERR_PAYLOAD_SCHEMA', `${what} line ${e.line}: Created must be UTC as YYYY-MM-DDThh:mm:ssZ, got ${JSON.stringify(e.value)}`);
        creationInfo.created = once(e);
        break;
      case 'SPDXID':
        if (current) current.SPDXID = e.value;
        else header.SPDXID = once(e);
        break;
      case 'PackageName':
        packages.push((current = { SPDXID: '', name: e.value, checksums: [] }));
        break;
      case 'PackageVersion':
        if (current && 'name' in current) current.versionInfo = e.value;
        break;
      case 'PackageDownloadLocation':
        if (current && 'name' in current) current.downloadLocation = e.value;
        break;
      case 'FileName':
        files.push((current = { SPDXID: '', fileName: e.value, checksums: [] }));
        break;
      case 'PackageChecksum':
      case 'FileChecksum':
        if (current) current.checksums.push(checksum(e, what));
        break;
      case 'Relationship': {
        const m = /^(\S+)\s+([A-Z_]+)\s+(\S+)$/.exec(e.value);
        if (!m) throw new PayloadError('ERR_PAYLOAD_SCHEMA', `${what} line ${e.line}: Relationship must be "SPDXRef-A TYPE SPDXRef-B"`);
        relationships.push({ spdxElementId: m[1]!, relationshipType: m[2]!, relatedSpdxElement: m[3]! });
        break;
      }
      case 'SnippetSPDXID':
      case 'LicenseID':
        // snippet and licensing sections: later tags no longer belong to the last package or file
        current = undefined;
        break;
      default:
        break;
    }
  }
  const doc = { ...header, creationInfo, packages, files, relationships };
  const version = spdx2Version(doc.spdxVersion, what);
  const missing = (['spdxVersion', 'dataLicense', 'SPDXID', 'name', 'documentNamespace'] as const)
    .filter((k) => !doc[k])
    .map((k) => ({ spdxVersion: 'SPDXVersion', dataLicense: 'DataLicense', SPDXID: 'SPDXID', name: 'DocumentName', documentNamespace: 'DocumentNamespace' })[k]);
  if (!creationInfo.creators.length) missing.push('Creator');
  if (!creationInfo.created) missing.push('Created');
  if (missing.length) {
    throw new PayloadError('ERR_PAYLOAD_SCHEMA', `${what} lacks the required document creation tag${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (SPDX ${version} clause 6)`);
  }
  if (doc.dataLicense !== 'CC0-1.0') throw new PayloadError('ERR_PAYLOAD_SCHEMA', `${what} line ${single.DataLicense!.line}: DataLicense must be CC0-1.0`);
  if (doc.SPDXID !== 'SPDXRef-DOCUMENT') throw new PayloadError('ERR_PAYLOAD_SCHEMA', `${what} line ${single.SPDXID!.line}: the document SPDXID must be SPDXRef-DOCUMENT`);
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:[^#\s]+$/.test(doc.documentNamespace ?? '')) {
    throw new PayloadError('ERR_PAYLOAD_SCHEMA', `${what} line ${single.DocumentNamespace!.line}: DocumentNamespace must be an absolute URI without a "#" part`);
  }
  for (const p of packages) {
    if (!p.SPDXID) throw new PayloadError('ERR_PAYLOAD_SCHEMA', `${what}: package ${JSON.stringify(p.name)} has no SPDXID`);
  }
  return { version, document: doc as SpdxTagValueDocument };
}

/** True when `text` looks like SPDX tag-value (an `SPDXVersion:` tag on a line of its own). */
export function looksLikeSpdxTagValue(text: string): boolean {
  return /^SPDXVersion:\s*SPDX-/m.test(text);
}
