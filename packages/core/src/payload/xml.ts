/**
 * XML evidence: well-formedness and the root element's namespace (fast-xml-parser), and
 * W3C XML Schema validation with libxml2 compiled to WebAssembly (xmllint-wasm), so no native
 * module and no network: imported schemas are handed over in memory.
 */
import { fastXmlParser, xmllintWasm } from '../lazy-deps.cjs';
import { PayloadError } from '../errors.ts';

export interface XmlRoot {
  /** local name of the root element, without a prefix */
  localName: string;
  /** namespace URI of the root element ('' when none is declared) */
  namespace: string;
}

export interface ParsedXml {
  root: XmlRoot;
  /** the document as plain objects: attributes under `@name`, text under `#text`, namespace prefixes removed */
  document: Record<string, unknown>;
}

/** Elements that may repeat; always parsed as arrays so readers need not care whether there is one or many. */
const REPEATING = new Set(['component', 'hash', 'service', 'dependency', 'reference', 'property', 'license', 'tool', 'vulnerability', 'lifecycle']);

/** Parses XML text, refusing DOCTYPE declarations (entity expansion and external entities have no place in evidence). */
export function parseXml(text: string, what: string): ParsedXml {
  const { XMLParser, XMLValidator } = fastXmlParser();
  const checked = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (checked !== true) {
    const { line, col, msg } = checked.err;
    throw new PayloadError('ERR_PAYLOAD_MALFORMED', `${what} is not well-formed XML at line ${line}, column ${col}: ${msg}`);
  }
  const doctype = /<!DOCTYPE/i.exec(text);
  if (doctype) {
    throw new PayloadError('ERR_PAYLOAD_MALFORMED', `${what} has a DOCTYPE declaration; evidence XML must not declare a DTD or entities — regenerate it without one`, {
      offset: doctype.index,
    });
  }
  const options = { ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, parseAttributeValue: false, processEntities: true };
  const raw = new XMLParser({ ...options, removeNSPrefix: false }).parse(text) as Record<string, unknown>;
  const rootKey = Object.keys(raw).find((k) => !k.startsWith('?') && !k.startsWith('#'));
  if (!rootKey) throw new PayloadError('ERR_PAYLOAD_MALFORMED', `${what} has no root element`);
  const colon = rootKey.indexOf(':');
  const prefix = colon === -1 ? '' : rootKey.slice(0, colon);
  const rootValue = raw[rootKey];
  const attrs = typeof rootValue === 'object' && rootValue !== null ? (rootValue as Record<string, unknown>) : {};
  const ns = attrs[prefix ? `@xmlns:${prefix}` : '@xmlns'];
  const root: XmlRoot = { localName: colon === -1 ? rootKey : rootKey.slice(colon + 1), namespace: typeof ns === 'string' ? ns : '' };
  const document = new XMLParser({ ...options, removeNSPrefix: true, isArray: (name) => REPEATING.has(name) }).parse(text) as Record<string, unknown>;
  return { root, document };
}

export interface XsdSet {
  /** the schema to validate against, first */
  main: { fileName: string; contents: string };
  /** schemas it imports, under the file names its schemaLocation attributes use */
  imports: { fileName: string; contents: string }[];
}

/** Validates XML against a W3C XML Schema; throws ERR_PAYLOAD_SCHEMA with xmllint's first error and its line. */
export async function validateXsd(text: string, xsd: XsdSet, what: string, schemaName: string): Promise<void> {
  const bytes = Buffer.byteLength(text);
  // libxml2 keeps the tree, the compiled schemas and the text in wasm memory: allow ~8x the document, at least 64 MiB
  const needed = Math.ceil((8 * bytes) / (1 << 20)) + 64;
  // loaded on first use: libxml2 in wasm is only for XML evidence
  const { validateXML, memoryPages } = xmllintWasm();
  const result = await validateXML({
    xml: [{ fileName: 'evidence.xml', contents: text }],
    schema: [xsd.main],
    preload: xsd.imports,
    initialMemoryPages: memoryPages.defaultInitialMemoryPages,
    maxMemoryPages: Math.min(memoryPages.max, needed * memoryPages.MiB),
  });
  if (result.valid) return;
  const first = result.errors[0];
  const where = first?.loc ? ` (line ${first.loc.lineNumber})` : '';
  const detail = (first?.message ?? result.rawOutput).replace(/^element [^:]+: Schemas validity error : /, '').trim();
  throw new PayloadError('ERR_PAYLOAD_SCHEMA', `${what} is not a valid ${schemaName} document${where}: ${detail}`);
}
