/**
 * Subject binding: evidence that names the digest of what it describes must name the artifact's.
 * Declared digests are in-toto subjects, CycloneDX `metadata.component.hashes`, and the checksums of
 * the package(s) or file(s) an SPDX document describes. Digests match when any shared algorithm
 * matches (the SCAI/in-toto DigestSet rule).
 */
import { PayloadError } from '../errors.ts';
import type { Evidence } from './detect.ts';
import { spdx3Graph } from './spdx.ts';
import { isObject } from './text.ts';

export interface DeclaredDigest {
  /** in-toto DigestSet algorithm name: sha256, sha512, sha3_256, blake2b256, ... */
  algorithm: string;
  /** lower-case hex */
  value: string;
  /** what the evidence calls the subject */
  name?: string;
  /** where in the evidence it was declared, for messages */
  source: string;
}

/** CycloneDX `SHA-256`, SPDX 2 `SHA256` / `SHA3-256` / `BLAKE2b-256`, SPDX 3 `sha3_256` → in-toto names. */
export function normaliseAlgorithm(alg: string): string {
  const a = alg.trim().toLowerCase();
  const sha3 = /^sha3[-_](\d+)$/.exec(a);
  if (sha3) return `sha3_${sha3[1]}`;
  return a.replace(/^sha-(\d+)$/, 'sha$1').replace(/^blake2b-(\d+)$/, 'blake2b$1');
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
}

function cycloneDx(evidence: Evidence): DeclaredDigest[] {
  const doc = evidence.document as Record<string, unknown>;
  // XML parses to { bom: { metadata: { component: [ { hashes: { hash: [ { '#text', '@alg' } ] } } ] } } }
  const bom = evidence.format === 'cyclonedx-xml' ? (doc.bom as Record<string, unknown>) : doc;
  const metadata = isObject(bom?.metadata) ? bom.metadata : {};
  const out: DeclaredDigest[] = [];
  for (const component of asArray(metadata.component).filter(isObject)) {
    const text = (v: unknown): string => (typeof v === 'string' ? v : '');
    const name = `${text(component.group) ? `${text(component.group)}/` : ''}${text(component.name)}${text(component.version) ? `@${text(component.version)}` : ''}`;
    const hashes = evidence.format === 'cyclonedx-xml' ? asArray(isObject(component.hashes) ? component.hashes.hash : undefined) : asArray(component.hashes);
    for (const h of hashes.filter(isObject)) {
      const alg = h.alg ?? h['@alg'];
      const content = h.content ?? h['#text'];
      if (typeof alg === 'string' && typeof content === 'string') {
        out.push({ algorithm: normaliseAlgorithm(alg), value: content.trim().toLowerCase(), name: name || undefined, source: 'CycloneDX metadata.component.hashes' });
      }
    }
  }
  return out;
}

function spdx2(evidence: Evidence): DeclaredDigest[] {
  const doc = evidence.document as Record<string, unknown>;
  const described = new Set<string>(asArray(doc.documentDescribes).filter((x): x is string => typeof x === 'string'));
  for (const r of asArray(doc.relationships).filter(isObject)) {
    if (r.spdxElementId === 'SPDXRef-DOCUMENT' && r.relationshipType === 'DESCRIBES' && typeof r.relatedSpdxElement === 'string') described.add(r.relatedSpdxElement);
    if (r.relatedSpdxElement === 'SPDXRef-DOCUMENT' && r.relationshipType === 'DESCRIBED_BY' && typeof r.spdxElementId === 'string') described.add(r.spdxElementId);
  }
  const out: DeclaredDigest[] = [];
  for (const element of [...asArray(doc.packages), ...asArray(doc.files)].filter(isObject)) {
    if (typeof element.SPDXID !== 'string' || !described.has(element.SPDXID)) continue;
    const name = typeof element.name === 'string' ? element.name : typeof element.fileName === 'string' ? element.fileName : element.SPDXID;
    for (const c of asArray(element.checksums).filter(isObject)) {
      if (typeof c.algorithm === 'string' && typeof c.checksumValue === 'string') {
        out.push({ algorithm: normaliseAlgorithm(c.algorithm), value: c.checksumValue.toLowerCase(), name, source: `SPDX checksum of the described ${element.SPDXID}` });
      }
    }
  }
  return out;
}

function spdx3(evidence: Evidence): DeclaredDigest[] {
  const graph = spdx3Graph(evidence.document as Record<string, unknown>);
  const byId = new Map(graph.filter((n) => typeof n.spdxId === 'string').map((n) => [n.spdxId as string, n]));
  const ids = (v: unknown): string[] => asArray(v).map((x) => (typeof x === 'string' ? x : isObject(x) && typeof x.spdxId === 'string' ? x.spdxId : '')).filter(Boolean);
  // the document's root elements; an Sbom among them contributes its own roots (what the SBOM describes)
  const containers = graph.filter((n) => n.type === 'SpdxDocument' || n.type === 'software_Sbom');
  const described = new Set<string>();
  for (const c of containers) for (const id of ids(c.rootElement)) described.add(id);
  for (const id of [...described]) {
    const n = byId.get(id);
    if (n?.type === 'software_Sbom') for (const inner of ids(n.rootElement)) described.add(inner);
  }
  for (const r of graph) {
    if (r.type === 'Relationship' && r.relationshipType === 'describes' && typeof r.from === 'string' && containers.some((c) => c.spdxId === r.from)) {
      for (const id of ids(r.to)) described.add(id);
    }
  }
  const out: DeclaredDigest[] = [];
  for (const id of described) {
    const n = byId.get(id);
    if (!n || n.type === 'software_Sbom' || n.type === 'SpdxDocument') continue;
    for (const h of asArray(n.verifiedUsing).filter(isObject)) {
      if (h.type === 'Hash' && typeof h.algorithm === 'string' && typeof h.hashValue === 'string') {
        out.push({ algorithm: normaliseAlgorithm(h.algorithm), value: h.hashValue.toLowerCase(), name: typeof n.name === 'string' ? n.name : id, source: `SPDX 3 verifiedUsing of the root element ${id}` });
      }
    }
  }
  return out;
}

/** The subject digests the evidence declares (none for SARIF, and none for SBOMs that do not hash what they describe). */
export function declaredSubjectDigests(evidence: Evidence): DeclaredDigest[] {
  switch (evidence.format) {
    case 'in-toto-statement':
    case 'dsse-envelope':
      return (evidence.subjects ?? []).flatMap((s) =>
        Object.entries(s.digest).map(([algorithm, value]) => ({ algorithm: normaliseAlgorithm(algorithm), value: value.toLowerCase(), name: s.name, source: 'in-toto subject' })),
      );
    case 'cyclonedx-json':
    case 'cyclonedx-xml':
      return cycloneDx(evidence);
    case 'spdx-json':
    case 'spdx-tag-value':
      return spdx2(evidence);
    case 'spdx3-json':
      return spdx3(evidence);
    case 'sarif':
      return [];
  }
}

export interface ArtifactDigest {
  /** DigestSet of the artifact, e.g. { sha256: '…' } */
  digest: Record<string, string>;
  /** for messages */
  name?: string;
}

/**
 * Checks that the evidence declares the artifact's digest; returns the matching declaration.
 * Throws ERR_SUBJECT_UNDECLARED when it declares none, ERR_SUBJECT_MISMATCH when none matches.
 */
export function checkSubjectBinding(evidence: Evidence, artifact: ArtifactDigest, what = 'the evidence'): DeclaredDigest {
  const declared = declaredSubjectDigests(evidence);
  const label = artifact.name ? `the artifact ${artifact.name}` : 'the artifact';
  if (!declared.length) {
    throw new PayloadError(
      'ERR_SUBJECT_UNDECLARED',
      `${what} declares no subject digest, so it cannot be bound to ${label}; generate it with the artifact's hash (e.g. CycloneDX metadata.component.hashes, SPDX package checksums)`,
    );
  }
  const mine = new Map(Object.entries(artifact.digest).map(([a, v]) => [normaliseAlgorithm(a), v.toLowerCase()]));
  const comparable = declared.filter((d) => mine.has(d.algorithm));
  const match = comparable.find((d) => d.value === mine.get(d.algorithm));
  if (match) return match;
  if (!comparable.length) {
    throw new PayloadError(
      'ERR_SUBJECT_MISMATCH',
      `${what} declares subject digests only in ${[...new Set(declared.map((d) => d.algorithm))].join(', ')}, but ${label} was hashed with ${[...mine.keys()].join(', ')}; no algorithm in common to compare`,
    );
  }
  const shown = comparable.slice(0, 3).map((d) => `${d.algorithm}:${d.value}${d.name ? ` (${d.name})` : ''}`).join(', ');
  const actual = [...mine].map(([a, v]) => `${a}:${v}`).join(', ');
  throw new PayloadError(
    'ERR_SUBJECT_MISMATCH',
    `${what} is about different bytes: it declares ${shown}${comparable.length > 3 ? ` and ${comparable.length - 3} more` : ''} (${comparable[0]!.source}), but ${label} is ${actual}; regenerate the evidence from this artifact or pick the evidence that belongs to it`,
  );
}
