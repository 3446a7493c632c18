import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PayloadError } from '../src/errors.ts';
import { checkSubjectBinding, declaredSubjectDigests, normaliseAlgorithm } from '../src/payload/binding.ts';
import { detectEvidence, type Evidence } from '../src/payload/detect.ts';
import { sha256Hex } from '../src/payload/hashing.ts';

const dir = new URL('./fixtures/payload/', import.meta.url);
const fixture = (path: string): Buffer => readFileSync(new URL(path, dir));
const text = (path: string): string => fixture(path).toString('utf8');

/** the artifact actions/attest-build-provenance attested (11 bytes) and another one */
const artifact = fixture('in-toto/attest-build-provenance.artifact');
const artifactSha256 = sha256Hex(artifact);
const otherSha256 = sha256Hex(fixture('sarif/eslint.sarif'));

function thrown(fn: () => unknown): PayloadError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PayloadError);
    return e as PayloadError;
  }
  throw new Error('expected a PayloadError');
}

describe('in-toto subjects', () => {
  it('binds the real attestation to the artifact it was made for', async () => {
    const evidence = await detectEvidence(fixture('in-toto/attest-build-provenance.dsse.json'));
    expect(artifactSha256).toBe('afa27b44d43b02a9fea41d13cedc2e4016cfcf87c5dbf990e593669aa8ce286d');
    expect(checkSubjectBinding(evidence, { digest: { sha256: artifactSha256 } })).toEqual({
      algorithm: 'sha256',
      value: artifactSha256,
      name: 'artifact',
      source: 'in-toto subject',
    });
  });

  it('refuses another artifact, showing both digests', async () => {
    const evidence = await detectEvidence(fixture('in-toto/attest-build-provenance.statement.json'));
    const e = thrown(() => checkSubjectBinding(evidence, { digest: { sha256: otherSha256 }, name: 'eslint.sarif' }, 'provenance.json'));
    expect(e.code).toBe('ERR_SUBJECT_MISMATCH');
    expect(e.message).toBe(
      `provenance.json is about different bytes: it declares sha256:${artifactSha256} (artifact) (in-toto subject), but the artifact eslint.sarif is sha256:${otherSha256}; regenerate the evidence from this artifact or pick the evidence that belongs to it`,
    );
  });

  it('says when there is no algorithm in common (npm provenance uses sha512)', async () => {
    const evidence = await detectEvidence(fixture('in-toto/npm-provenance.dsse.json'));
    const e = thrown(() => checkSubjectBinding(evidence, { digest: { sha256: artifactSha256 } }));
    expect(e.message).toContain('declares subject digests only in sha512');
    const sha512 = evidence.subjects![0]!.digest.sha512!;
    expect(checkSubjectBinding(evidence, { digest: { sha256: artifactSha256, sha512 } }).algorithm).toBe('sha512');
  });
});

describe('SBOM subject digests', () => {
  /** The real SBOMs describe a source tree and carry no hash of it; the tests add the artifact's hash where each format declares it. */
  async function cyclonedxJson(sha256: string): Promise<Evidence> {
    const bom = JSON.parse(text('cyclonedx/core.cdx-1.6.json')) as { metadata: { component: Record<string, unknown> } };
    bom.metadata.component.hashes = [
      { alg: 'SHA-512', content: 'ab'.repeat(64) },
      { alg: 'SHA-256', content: sha256 },
    ];
    return detectEvidence(JSON.stringify(bom));
  }

  it('reads nothing from SBOMs that do not hash what they describe', async () => {
    for (const f of ['cyclonedx/core.cdx-1.6.json', 'cyclonedx/core.cdx-1.6.xml', 'spdx/npm-sbom.spdx-2.3.json', 'spdx/core.spdx', 'spdx/core.spdx3.json']) {
      const evidence = await detectEvidence(fixture(f));
      expect(declaredSubjectDigests(evidence)).toEqual([]);
      expect(thrown(() => checkSubjectBinding(evidence, { digest: { sha256: artifactSha256 } })).code).toBe('ERR_SUBJECT_UNDECLARED');
    }
  });

  it('CycloneDX JSON: metadata.component.hashes', async () => {
    const evidence = await cyclonedxJson(artifactSha256);
    expect(checkSubjectBinding(evidence, { digest: { sha256: artifactSha256 } })).toMatchObject({ source: 'CycloneDX metadata.component.hashes', name: '@scitt-actions/core@0.1.0' });
    const e = thrown(() => checkSubjectBinding(evidence, { digest: { sha256: otherSha256 } }));
    expect(e.code).toBe('ERR_SUBJECT_MISMATCH');
    expect(e.message).toContain(`declares sha256:${artifactSha256}`);
  });

  it('CycloneDX XML: metadata/component/hashes/hash', async () => {
    const xml = text('cyclonedx/core.cdx-1.6.xml');
    // the BOM's own component follows </tools>; in the XSD's sequence, hashes come right after description
    const bound = xml.replace(
      /(<\/tools>\s*<component [^>]*>[\s\S]*?<\/description>)/,
      (head: string) => `${head}\n      <hashes><hash alg="SHA-256">${artifactSha256}</hash></hashes>`,
    );
    expect(bound).not.toBe(xml);
    const evidence = await detectEvidence(bound);
    expect(checkSubjectBinding(evidence, { digest: { sha256: artifactSha256 } }).source).toBe('CycloneDX metadata.component.hashes');
    expect(thrown(() => checkSubjectBinding(evidence, { digest: { sha256: otherSha256 } })).code).toBe('ERR_SUBJECT_MISMATCH');
  });

  it('SPDX 2.3 JSON: checksums of the described package', async () => {
    const doc = JSON.parse(text('spdx/npm-sbom.spdx-2.3.json')) as { documentDescribes: string[]; packages: { SPDXID: string; checksums?: unknown[] }[] };
    const root = doc.packages.find((p) => p.SPDXID === doc.documentDescribes[0])!;
    root.checksums = [{ algorithm: 'SHA256', checksumValue: artifactSha256 }];
    const evidence = await detectEvidence(JSON.stringify(doc));
    expect(checkSubjectBinding(evidence, { digest: { sha256: artifactSha256 } })).toMatchObject({ name: '@scitt-actions/core', source: `SPDX checksum of the described ${root.SPDXID}` });
    expect(thrown(() => checkSubjectBinding(evidence, { digest: { sha256: otherSha256 } })).code).toBe('ERR_SUBJECT_MISMATCH');
    // a dependency's checksum does not bind the document: only what it describes counts
    const dep = doc.packages.find((p) => p.SPDXID !== root.SPDXID && p.checksums)!;
    dep.checksums = [{ algorithm: 'SHA256', checksumValue: otherSha256 }];
    const withDependencyHash = await detectEvidence(JSON.stringify(doc));
    expect(thrown(() => checkSubjectBinding(withDependencyHash, { digest: { sha256: otherSha256 } })).code).toBe('ERR_SUBJECT_MISMATCH');
    expect(checkSubjectBinding(withDependencyHash, { digest: { sha256: artifactSha256 } }).value).toBe(artifactSha256);
  });

  it('SPDX tag-value: PackageChecksum of the package the document DESCRIBES', async () => {
    const tv = text('spdx/core.spdx').replace('PackageVersion: 0.1.0\n', `PackageVersion: 0.1.0\nPackageChecksum: SHA256: ${artifactSha256}\n`);
    const evidence = await detectEvidence(tv);
    expect(checkSubjectBinding(evidence, { digest: { sha256: artifactSha256 } }).name).toBe('@scitt-actions/core');
    expect(thrown(() => checkSubjectBinding(evidence, { digest: { sha256: otherSha256 } })).code).toBe('ERR_SUBJECT_MISMATCH');
  });

  it('SPDX 3: verifiedUsing of the Sbom root element', async () => {
    const doc = JSON.parse(text('spdx/core.spdx3.json')) as { '@graph': Record<string, unknown>[] };
    const sbom = doc['@graph'].find((n) => n.type === 'software_Sbom')!;
    const root = doc['@graph'].find((n) => n.spdxId === (sbom.rootElement as string[])[0])!;
    root.verifiedUsing = [{ type: 'Hash', algorithm: 'sha256', hashValue: artifactSha256 }];
    const evidence = await detectEvidence(JSON.stringify(doc));
    expect(checkSubjectBinding(evidence, { digest: { sha256: artifactSha256 } }).name).toBe('@scitt-actions/core');
    expect(thrown(() => checkSubjectBinding(evidence, { digest: { sha256: otherSha256 } })).code).toBe('ERR_SUBJECT_MISMATCH');
  });

  it('SARIF declares no subjects', async () => {
    const evidence = await detectEvidence(fixture('sarif/eslint.sarif'));
    expect(thrown(() => checkSubjectBinding(evidence, { digest: { sha256: artifactSha256 } })).code).toBe('ERR_SUBJECT_UNDECLARED');
  });
});

describe('algorithm names', () => {
  it('maps CycloneDX, SPDX 2 and SPDX 3 spellings to in-toto names', () => {
    expect(['SHA-256', 'SHA256', 'sha256'].map(normaliseAlgorithm)).toEqual(['sha256', 'sha256', 'sha256']);
    expect(['SHA3-256', 'sha3_256', 'BLAKE2b-512', 'blake2b512', 'SHA-1', 'SHA1'].map(normaliseAlgorithm)).toEqual([
      'sha3_256',
      'sha3_256',
      'blake2b512',
      'blake2b512',
      'sha1',
      'sha1',
    ]);
  });
});
