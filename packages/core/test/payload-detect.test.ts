import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PayloadError } from '../src/errors.ts';
import { detectEvidence, readEvidenceFile, type Evidence } from '../src/payload/detect.ts';
import { MediaType } from '../src/payload/media-types.ts';

const dir = new URL('./fixtures/payload/', import.meta.url);
const fixture = (path: string): Buffer => readFileSync(new URL(path, dir));
const text = (path: string): string => fixture(path).toString('utf8');
const json = (path: string): Record<string, unknown> => JSON.parse(text(path)) as Record<string, unknown>;

async function rejection(p: Promise<unknown>): Promise<PayloadError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PayloadError);
  return e as PayloadError;
}

describe('evidence detection by content', () => {
  const cases: [string, Partial<Evidence>][] = [
    ['cyclonedx/core.cdx-1.6.json', { kind: 'sbom', format: 'cyclonedx-json', specVersion: '1.6', mediaType: MediaType.CycloneDxJson }],
    ['cyclonedx/core.cdx-1.4.json', { kind: 'sbom', format: 'cyclonedx-json', specVersion: '1.4', mediaType: MediaType.CycloneDxJson }],
    ['cyclonedx/npm-sbom.cdx-1.5.json', { kind: 'sbom', format: 'cyclonedx-json', specVersion: '1.5', mediaType: MediaType.CycloneDxJson }],
    ['cyclonedx/core.cdx-1.6.xml', { kind: 'sbom', format: 'cyclonedx-xml', specVersion: '1.6', mediaType: MediaType.CycloneDxXml }],
    ['cyclonedx/core.cdx-1.5.xml', { kind: 'sbom', format: 'cyclonedx-xml', specVersion: '1.5', mediaType: MediaType.CycloneDxXml }],
    ['spdx/npm-sbom.spdx-2.3.json', { kind: 'sbom', format: 'spdx-json', specVersion: '2.3', mediaType: MediaType.SpdxJson }],
    ['spdx/core.spdx', { kind: 'sbom', format: 'spdx-tag-value', specVersion: '2.3', mediaType: MediaType.SpdxTagValue }],
    ['spdx/core.spdx3.json', { kind: 'sbom', format: 'spdx3-json', specVersion: '3.0.1', mediaType: 'application/spdx3+json' }],
    ['sarif/eslint.sarif', { kind: 'scan', format: 'sarif', specVersion: '2.1.0', mediaType: MediaType.SarifJson }],
    ['in-toto/attest-build-provenance.statement.json', { kind: 'provenance', format: 'in-toto-statement', specVersion: '1', mediaType: MediaType.InTotoJson }],
    ['in-toto/attest-build-provenance.dsse.json', { kind: 'provenance', format: 'dsse-envelope', specVersion: '1', mediaType: 'application/vnd.dsse.envelope.v1+json' }],
    ['in-toto/npm-provenance.dsse.json', { kind: 'provenance', format: 'dsse-envelope', specVersion: '1', mediaType: MediaType.DsseEnvelopeJson }],
  ];
  for (const [file, expected] of cases) {
    it(`recognises ${file}`, async () => {
      // a neutral name: detection must not depend on the file name
      const evidence = await detectEvidence(fixture(file), { name: 'upload.bin' });
      expect(evidence).toMatchObject(expected);
    });
  }

  it('reads the in-toto subjects and predicate type of actions/attest-build-provenance output', async () => {
    const e = await detectEvidence(fixture('in-toto/attest-build-provenance.dsse.json'));
    expect(e.predicateType).toBe('https://slsa.dev/provenance/v1');
    expect(e.subjects).toEqual([{ name: 'artifact', digest: { sha256: 'afa27b44d43b02a9fea41d13cedc2e4016cfcf87c5dbf990e593669aa8ce286d' } }]);
    expect(e.statement).toEqual(json('in-toto/attest-build-provenance.statement.json'));
  });

  it('parses CycloneDX XML into objects (the root component of the BOM)', async () => {
    const e = await detectEvidence(fixture('cyclonedx/core.cdx-1.6.xml'));
    const bom = (e.document as { bom: { metadata: { component: { name: string }[] } } }).bom;
    expect(bom.metadata.component[0]!.name).toBe('core');
  });

  it('reads tag-value document creation fields and packages', async () => {
    const e = await detectEvidence(fixture('spdx/core.spdx'));
    const doc = e.document as { name: string; creationInfo: { creators: string[]; created: string }; packages: unknown[]; relationships: unknown[] };
    expect(doc.name).toBe('@scitt-actions/core@0.1.0');
    expect(doc.creationInfo).toEqual({ creators: ['Tool: npm/cli-11.19.1'], created: '2026-11-25T12:52:31Z' });
    // the tag-value fixture is the npm SPDX JSON converted: same packages and relationships
    const source = json('spdx/npm-sbom.spdx-2.3.json') as { packages: unknown[]; relationships: unknown[] };
    expect(doc.packages).toHaveLength(source.packages.length);
    expect(doc.relationships).toHaveLength(source.relationships.length);
  });

  it('readEvidenceFile returns the bytes and their SHA-256', async () => {
    const path = new URL('sarif/eslint.sarif', dir).pathname;
    const e = await readEvidenceFile(path);
    expect(e.kind).toBe('scan');
    expect(Buffer.from(e.bytes).equals(fixture('sarif/eslint.sarif'))).toBe(true);
    const { createHash } = await import('node:crypto');
    expect(e.sha256).toBe(createHash('sha256').update(fixture('sarif/eslint.sarif')).digest('hex'));
  });
});

describe('expected evidence type', () => {
  it('accepts the matching kind', async () => {
    await expect(detectEvidence(fixture('cyclonedx/core.cdx-1.6.json'), { expected: 'sbom' })).resolves.toMatchObject({ kind: 'sbom' });
    await expect(detectEvidence(fixture('sarif/eslint.sarif'), { expected: 'scan' })).resolves.toMatchObject({ kind: 'scan' });
    await expect(detectEvidence(fixture('in-toto/attest-build-provenance.dsse.json'), { expected: 'provenance' })).resolves.toMatchObject({ kind: 'provenance' });
  });

  it('treats provenance as in-toto when in-toto is expected (placement then embeds it)', async () => {
    const e = await detectEvidence(fixture('in-toto/attest-build-provenance.statement.json'), { expected: 'in-toto' });
    expect(e.kind).toBe('in-toto');
  });

  it('refuses a SARIF file where an SBOM is expected', async () => {
    const e = await rejection(detectEvidence(fixture('sarif/eslint.sarif'), { expected: 'sbom', name: 'results.sarif' }));
    expect(e.code).toBe('ERR_PAYLOAD_KIND_MISMATCH');
    expect(e.message).toMatch(/results\.sarif was expected to be an SBOM .* but is a SARIF scan result/);
  });

  it('refuses an SBOM where provenance is expected, and a non-provenance statement too', async () => {
    expect((await rejection(detectEvidence(fixture('spdx/core.spdx'), { expected: 'provenance' }))).code).toBe('ERR_PAYLOAD_KIND_MISMATCH');
    const sbomAttestation = {
      ...json('in-toto/attest-build-provenance.statement.json'),
      predicateType: 'https://spdx.dev/Document/v2.3',
      predicate: json('spdx/npm-sbom.spdx-2.3.json'),
    };
    const e = await rejection(detectEvidence(JSON.stringify(sbomAttestation), { expected: 'provenance' }));
    expect(e.code).toBe('ERR_PAYLOAD_KIND_MISMATCH');
    expect(e.message).toContain('https://spdx.dev/Document/v2.3');
    await expect(detectEvidence(JSON.stringify(sbomAttestation), { expected: 'in-toto' })).resolves.toMatchObject({ kind: 'in-toto', format: 'in-toto-statement' });
  });

  it('refuses an unknown expected type', async () => {
    expect((await rejection(detectEvidence('{}', { expected: 'bom' as never }))).code).toBe('ERR_USAGE');
  });
});

describe('malformed and unknown input', () => {
  it('refuses an empty file', async () => {
    const e = await rejection(detectEvidence(new Uint8Array(0), { name: 'sbom.json' }));
    expect(e.code).toBe('ERR_PAYLOAD_EMPTY');
    expect(e.message).toContain('sbom.json is empty');
  });

  it('refuses a whitespace-only file', async () => {
    expect((await rejection(detectEvidence(' \n\t\n'))).code).toBe('ERR_PAYLOAD_EMPTY');
  });

  it('reports truncated JSON with where it ends', async () => {
    const full = text('cyclonedx/core.cdx-1.6.json');
    const cut = full.slice(0, Math.floor(full.length / 2));
    const e = await rejection(detectEvidence(cut, { name: 'bom.json' }));
    expect(e.code).toBe('ERR_PAYLOAD_MALFORMED');
    expect(e.message).toMatch(/bom\.json is truncated JSON: it ends at line \d+, column \d+/);
  });

  it('reports malformed JSON with line and column', async () => {
    const e = await rejection(detectEvidence('{\n  "bomFormat": "CycloneDX",\n  "specVersion": "1.6",,\n}'));
    expect(e.code).toBe('ERR_PAYLOAD_MALFORMED');
    expect(e.message).toContain('line 3, column 24');
  });

  it('says what an SBOM needs when JSON of no known format is given with expected type sbom', async () => {
    const e = await rejection(detectEvidence(JSON.stringify({ name: 'left-pad', version: '1.3.0' }), { expected: 'sbom', name: 'package.json' }));
    expect(e.code).toBe('ERR_PAYLOAD_UNKNOWN_FORMAT');
    expect(e.message).toBe(
      'package.json is JSON but not an SBOM (CycloneDX or SPDX): expected CycloneDX ("bomFormat": "CycloneDX"), SPDX 2 ("spdxVersion") or SPDX 3 (an spdx.org "@context"); its top-level keys are name, version',
    );
  });

  it('points at .dsseEnvelope when handed a whole Sigstore bundle', async () => {
    const bundle = readFileSync('/work/shared/vectors/sigstore/custom-issuer.sigstore.json');
    const e = await rejection(detectEvidence(bundle));
    expect(e.code).toBe('ERR_PAYLOAD_UNKNOWN_FORMAT');
    expect(e.message).toContain('Sigstore bundle');
  });

  it('refuses text that is neither JSON, XML nor tag-value', async () => {
    expect((await rejection(detectEvidence('just some release notes\n'))).code).toBe('ERR_PAYLOAD_UNKNOWN_FORMAT');
  });

  it('refuses invalid UTF-8', async () => {
    expect((await rejection(detectEvidence(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])))).code).toBe('ERR_PAYLOAD_MALFORMED');
  });
});

describe('schema validation', () => {
  it('names the JSON path of the first CycloneDX schema error', async () => {
    const bom = json('cyclonedx/core.cdx-1.6.json') as { components: { type: string }[] };
    bom.components[2]!.type = 'gadget';
    const e = await rejection(detectEvidence(JSON.stringify(bom), { name: 'bom.json' }));
    expect(e.code).toBe('ERR_PAYLOAD_SCHEMA');
    expect(e.message).toMatch(/^bom\.json is not a valid CycloneDX 1\.6 document: \$\.components\[2\]\.type must be one of "application"/);
  });

  it('validates against the version the BOM declares', async () => {
    // `manufacturer` in metadata appeared in CycloneDX 1.6; a 1.4 BOM may not have it
    const bom = json('cyclonedx/core.cdx-1.4.json') as { metadata: Record<string, unknown> };
    bom.metadata.manufacturer = { name: 'ACME' };
    const e = await rejection(detectEvidence(JSON.stringify(bom)));
    expect(e.message).toContain('CycloneDX 1.4');
    expect(e.message).toContain('"manufacturer"');
  });

  it('refuses CycloneDX versions without a schema here', async () => {
    const bom = { ...json('cyclonedx/core.cdx-1.4.json'), specVersion: '1.2' };
    expect((await rejection(detectEvidence(JSON.stringify(bom)))).code).toBe('ERR_PAYLOAD_UNSUPPORTED_VERSION');
  });

  it('validates SPDX 2.2 and 2.3 by their own rules', async () => {
    const doc = json('spdx/npm-sbom.spdx-2.3.json') as { spdxVersion: string; packages: Record<string, unknown>[] };
    // the same document as 2.2: primaryPackagePurpose is 2.3-only
    doc.spdxVersion = 'SPDX-2.2';
    const e = await rejection(detectEvidence(JSON.stringify(doc)));
    expect(e.code).toBe('ERR_PAYLOAD_SCHEMA');
    expect(e.message).toContain('SPDX 2.2');
    // downgraded as 2.2 requires: no 2.3 fields; licenseConcluded and copyrightText present
    for (const p of doc.packages) {
      delete p.primaryPackagePurpose;
      p.licenseConcluded ??= 'NOASSERTION';
      p.copyrightText ??= 'NOASSERTION';
    }
    await expect(detectEvidence(JSON.stringify(doc))).resolves.toMatchObject({ format: 'spdx-json', specVersion: '2.2' });
  });

  it('refuses an SPDX 2 document without documentNamespace, naming it', async () => {
    const { documentNamespace: _ns, ...doc } = json('spdx/npm-sbom.spdx-2.3.json');
    const e = await rejection(detectEvidence(JSON.stringify(doc)));
    expect(e.message).toContain('$ is missing the required property "documentNamespace"');
  });

  it('refuses SPDX 3 documents with two SpdxDocument elements or a bad CreationInfo', async () => {
    const doc = json('spdx/core.spdx3.json') as { '@graph': Record<string, unknown>[] };
    const twice = { ...doc, '@graph': [...doc['@graph'], { ...doc['@graph'].find((n) => n.type === 'SpdxDocument')!, spdxId: 'urn:x:second' }] };
    expect((await rejection(detectEvidence(JSON.stringify(twice)))).message).toContain('2 SpdxDocument elements');
    const badDate = { ...doc, '@graph': doc['@graph'].map((n) => (n.type === 'CreationInfo' ? { ...n, created: '25/11/2026' } : n)) };
    const e = await rejection(detectEvidence(JSON.stringify(badDate)));
    expect(e.message).toContain('$["@graph"][0].created does not match');
  });

  it('refuses SARIF that breaks the schema', async () => {
    const log = json('sarif/eslint.sarif') as { runs: { results: { level: string }[] }[] };
    log.runs[0]!.results[0]!.level = 'fatal';
    const e = await rejection(detectEvidence(JSON.stringify(log)));
    expect(e.message).toMatch(/SARIF 2\.1\.0 document: \$\.runs\[0\]\.results\[0\]\.level must be one of "none", "note", "warning", "error"/);
  });

  it('refuses an in-toto statement without subjects, and a statement v0.1', async () => {
    const st = json('in-toto/attest-build-provenance.statement.json');
    expect((await rejection(detectEvidence(JSON.stringify({ ...st, subject: [] })))).message).toContain('$.subject must NOT have fewer than 1 items');
    const old = { ...st, _type: 'https://in-toto.io/Statement/v0.1' };
    expect((await rejection(detectEvidence(JSON.stringify(old)))).code).toBe('ERR_PAYLOAD_UNSUPPORTED_VERSION');
  });

  it('validates the SLSA predicate of a provenance statement', async () => {
    const st = json('in-toto/attest-build-provenance.statement.json') as { predicate: { runDetails: Record<string, unknown> } };
    delete st.predicate.runDetails.builder;
    const e = await rejection(detectEvidence(JSON.stringify(st)));
    expect(e.message).toContain('SLSA Provenance v1');
    expect(e.message).toContain('$.runDetails is missing the required property "builder"');
  });

  it('refuses a DSSE envelope whose payload is not an in-toto statement', async () => {
    const env = { ...json('in-toto/attest-build-provenance.dsse.json'), payloadType: 'application/vnd.example+json' };
    const e = await rejection(detectEvidence(JSON.stringify(env)));
    expect(e.code).toBe('ERR_PAYLOAD_UNKNOWN_FORMAT');
    expect(e.message).toContain('payloadType "application/vnd.example+json"');
  });

  it('refuses a DSSE envelope without signatures', async () => {
    const env = { ...json('in-toto/attest-build-provenance.dsse.json'), signatures: [] };
    expect((await rejection(detectEvidence(JSON.stringify(env)))).code).toBe('ERR_PAYLOAD_SCHEMA');
  });
});

describe('CycloneDX XML', () => {
  it('validates against the XSD and reports the line of the first error', async () => {
    const xml = text('cyclonedx/core.cdx-1.6.xml').replace('<component type="library"', '<component type="gadget"');
    const e = await rejection(detectEvidence(xml, { name: 'bom.xml' }));
    expect(e.code).toBe('ERR_PAYLOAD_SCHEMA');
    expect(e.message).toMatch(/^bom\.xml is not a valid CycloneDX 1\.6 XML document \(line \d+\): .*gadget/);
  });

  it('reports XML that is not well-formed', async () => {
    const xml = text('cyclonedx/core.cdx-1.6.xml').replace('</metadata>', '</metdata>');
    const e = await rejection(detectEvidence(xml));
    expect(e.code).toBe('ERR_PAYLOAD_MALFORMED');
    expect(e.message).toMatch(/not well-formed XML at line \d+/);
  });

  it('refuses XML of another namespace and a DOCTYPE', async () => {
    const other = await rejection(detectEvidence('<?xml version="1.0"?><project xmlns="http://maven.apache.org/POM/4.0.0"/>'));
    expect(other.code).toBe('ERR_PAYLOAD_UNKNOWN_FORMAT');
    expect(other.message).toContain('<project> in namespace http://maven.apache.org/POM/4.0.0');
    const dtd = '<?xml version="1.0"?><!DOCTYPE bom [<!ENTITY a "aaaa">]><bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"/>';
    expect((await rejection(detectEvidence(dtd))).message).toContain('DOCTYPE');
  });

  it('recognises a prefixed root element by its namespace', async () => {
    const xml = text('cyclonedx/core.cdx-1.5.xml')
      .replace('<bom xmlns="http://cyclonedx.org/schema/bom/1.5"', '<cdx:bom xmlns:cdx="http://cyclonedx.org/schema/bom/1.5"')
      .replace(/<(\/?)(?!\?|cdx:)([A-Za-z])/g, '<$1cdx:$2');
    const e = await detectEvidence(xml);
    expect(e).toMatchObject({ format: 'cyclonedx-xml', specVersion: '1.5' });
  });
});

describe('SPDX tag-value', () => {
  it('names the missing document creation tags', async () => {
    const tv = text('spdx/core.spdx').replace(/^DocumentNamespace: .*\n/m, '').replace(/^Created: .*\n/m, '');
    const e = await rejection(detectEvidence(tv, { name: 'core.spdx' }));
    expect(e.code).toBe('ERR_PAYLOAD_SCHEMA');
    expect(e.message).toBe('core.spdx lacks the required document creation tags DocumentNamespace, Created (SPDX 2.3 clause 6)');
  });

  it('checks Created and DataLicense values with their line numbers', async () => {
    const created = await rejection(detectEvidence(text('spdx/core.spdx').replace(/^Created: .*$/m, 'Created: 2026-11-25 12:52')));
    expect(created.message).toContain('line 7: Created must be UTC as YYYY-MM-DDThh:mm:ssZ');
    const license = await rejection(detectEvidence(text('spdx/core.spdx').replace('DataLicense: CC0-1.0', 'DataLicense: MIT')));
    expect(license.message).toContain('line 2: DataLicense must be CC0-1.0');
  });

  it('refuses an unclosed <text> block and lines that are not Tag: Value', async () => {
    expect((await rejection(detectEvidence(text('spdx/core.spdx').replace('</text>', '')))).message).toMatch(/<text> of PackageDescription is never closed/);
    expect((await rejection(detectEvidence(text('spdx/core.spdx').replace('FilesAnalyzed: false', 'FilesAnalyzed false')))).code).toBe('ERR_PAYLOAD_MALFORMED');
  });
});
