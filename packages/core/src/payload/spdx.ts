/**
 * SPDX SBOMs: 2.2/2.3 JSON (recognised by `spdxVersion`) and 3.0 JSON-LD (recognised by the SPDX
 * `@context`), each validated against the schema written for its version (packages/core/schemas/spdx).
 */
import { PayloadError } from '../errors.ts';
import { validateSchema } from './schemas.ts';
import { isObject } from './text.ts';

export const SPDX2_VERSIONS = ['2.2', '2.3'] as const;
export type Spdx2Version = (typeof SPDX2_VERSIONS)[number];

/** JSON-LD contexts of the SPDX 3.0 releases. */
const SPDX3_CONTEXTS: Record<string, string> = {
  'https://spdx.org/rdf/3.0.0/spdx-context.jsonld': '3.0.0',
  'https://spdx.org/rdf/3.0.1/spdx-context.jsonld': '3.0.1',
};

/** `SPDX-2.3` → `2.3`, refusing versions without a schema here. */
export function spdx2Version(spdxVersion: unknown, what: string): Spdx2Version {
  const v = typeof spdxVersion === 'string' ? spdxVersion.replace(/^SPDX-/, '') : '';
  if ((SPDX2_VERSIONS as readonly string[]).includes(v)) return v as Spdx2Version;
  throw new PayloadError(
    'ERR_PAYLOAD_UNSUPPORTED_VERSION',
    `${what} is ${typeof spdxVersion === 'string' ? spdxVersion : 'SPDX without a valid spdxVersion'}; supported SPDX 2 versions are ${SPDX2_VERSIONS.map((x) => `SPDX-${x}`).join(', ')} (or SPDX 3.0 JSON-LD)`,
  );
}

/** Validates an SPDX 2.2/2.3 JSON document; returns its version. */
export async function validateSpdx2Json(document: Record<string, unknown>, what: string): Promise<Spdx2Version> {
  const version = spdx2Version(document.spdxVersion, what);
  await validateSchema(`SPDX ${version}`, document, what);
  return version;
}

/** The SPDX 3 context URL of a JSON-LD document (`@context` is the URL, or a list that starts with it), if any. */
export function spdx3Context(document: Record<string, unknown>): string | undefined {
  const ctx = document['@context'];
  const first = Array.isArray(ctx) ? ctx[0] : ctx;
  return typeof first === 'string' && /^https?:\/\/spdx\.org\/rdf\/3\./.test(first) ? first : undefined;
}

/** The graph of an SPDX 3 document: `@graph`, or the document itself when it holds a single node. */
export function spdx3Graph(document: Record<string, unknown>): Record<string, unknown>[] {
  const graph = document['@graph'];
  return (Array.isArray(graph) ? graph : [document]).filter(isObject);
}

/** Validates SPDX 3.0 JSON-LD: the schema, then the serialization rule that a document holds at most one SpdxDocument. Returns the specVersion of its CreationInfo. */
export async function validateSpdx3(document: Record<string, unknown>, what: string): Promise<string> {
  const context = spdx3Context(document) ?? '';
  if (!SPDX3_CONTEXTS[context]) {
    throw new PayloadError(
      'ERR_PAYLOAD_UNSUPPORTED_VERSION',
      `${what} uses the SPDX context ${context || '(none)'}; supported are ${Object.keys(SPDX3_CONTEXTS).join(', ')}`,
    );
  }
  await validateSchema('SPDX 3.0', document, what);
  const graph = spdx3Graph(document);
  const documents = graph.filter((n) => n.type === 'SpdxDocument');
  if (documents.length > 1) {
    throw new PayloadError('ERR_PAYLOAD_SCHEMA', `${what} holds ${documents.length} SpdxDocument elements; an SPDX 3 serialization may hold at most one`);
  }
  const versions = new Set(graph.filter((n) => n.type === 'CreationInfo').map((n) => String(n.specVersion)));
  // CreationInfo may also be inlined in elements instead of being a graph node
  for (const n of graph) if (isObject(n.creationInfo) && typeof n.creationInfo.specVersion === 'string') versions.add(n.creationInfo.specVersion);
  const [specVersion] = [...versions].sort();
  if (!specVersion) throw new PayloadError('ERR_PAYLOAD_SCHEMA', `${what} has no CreationInfo with a specVersion; every SPDX 3 element needs one`);
  return specVersion;
}
