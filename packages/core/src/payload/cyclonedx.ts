/**
 * CycloneDX SBOMs (ECMA-424): JSON recognised by `bomFormat`, XML by the root element's namespace
 * `http://cyclonedx.org/schema/bom/1.x`; both validated against the official schemas of that version.
 */
import { readFile } from 'node:fs/promises';
import { PayloadError } from '../errors.ts';
import { CYCLONEDX_XML_NAMESPACE_PREFIX } from './media-types.ts';
import { validateSchema, type SchemaName } from './schemas.ts';
import { validateXsd, type XmlRoot, type XsdSet } from './xml.ts';

/** CycloneDX versions with vendored schemas; an older BOM is refused rather than accepted unvalidated. */
const CYCLONEDX_VERSIONS = ['1.4', '1.5', '1.6', '1.7'] as const;
export type CycloneDxVersion = (typeof CYCLONEDX_VERSIONS)[number];

function supported(version: string, what: string): CycloneDxVersion {
  if ((CYCLONEDX_VERSIONS as readonly string[]).includes(version)) return version as CycloneDxVersion;
  throw new PayloadError(
    'ERR_PAYLOAD_UNSUPPORTED_VERSION',
    `${what} is CycloneDX ${version || '(no specVersion)'}; supported versions are ${CYCLONEDX_VERSIONS.join(', ')} — ask the generator for one of them (e.g. --spec-version 1.6)`,
  );
}

/** Validates a parsed CycloneDX JSON BOM; returns its spec version. */
export async function validateCycloneDxJson(document: Record<string, unknown>, what: string): Promise<CycloneDxVersion> {
  const version = supported(typeof document.specVersion === 'string' ? document.specVersion : '', what);
  await validateSchema(`CycloneDX ${version}` as SchemaName, document, what);
  return version;
}

/** The spec version named by a CycloneDX XML namespace, or undefined when the root is not a CycloneDX BOM. */
export function cycloneDxXmlVersion(root: XmlRoot): string | undefined {
  if (root.localName !== 'bom' || !root.namespace.startsWith(CYCLONEDX_XML_NAMESPACE_PREFIX)) return undefined;
  return root.namespace.slice(CYCLONEDX_XML_NAMESPACE_PREFIX.length);
}

const xsdCache = new Map<string, Promise<XsdSet>>();

function schemaFile(name: string): Promise<string> {
  return readFile(new URL(`../../schemas/cyclonedx/${name}`, import.meta.url), 'utf8');
}

function xsdFor(version: CycloneDxVersion): Promise<XsdSet> {
  let set = xsdCache.get(version);
  if (!set) {
    const main = `bom-${version}.SNAPSHOT.xsd`;
    // the vendored XSDs import the SPDX license list as schemaLocation="spdx.SNAPSHOT.xsd"
    set = Promise.all([schemaFile(main), schemaFile('spdx.SNAPSHOT.xsd')]).then(([m, spdx]) => ({
      main: { fileName: main, contents: m },
      imports: [{ fileName: 'spdx.SNAPSHOT.xsd', contents: spdx }],
    }));
    xsdCache.set(version, set);
  }
  return set;
}

/** Validates CycloneDX XML text against the official XSD of the version its namespace names; returns that version. */
export async function validateCycloneDxXml(text: string, root: XmlRoot, what: string): Promise<CycloneDxVersion> {
  const version = supported(cycloneDxXmlVersion(root) ?? '', what);
  await validateXsd(text, await xsdFor(version), what, `CycloneDX ${version} XML`);
  return version;
}
