import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PackageURL } from 'packageurl-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PayloadError } from '../src/errors.ts';
import { parseChecksums } from '../src/payload/checksums.ts';
import { parseOciReference } from '../src/payload/oci-reference.ts';
import { genericPurl, subjectSha256 } from '../src/payload/purl.ts';
import {
  MAX_SUBJECTS,
  collectSubjects,
  subjectFromDigest,
  subjectFromOciReference,
  subjectsFromChecksums,
  subjectsFromChecksumsFile,
  subjectsFromPaths,
  toInTotoSubject,
} from '../src/payload/subjects.ts';

const fixtures = new URL('./fixtures/payload/', import.meta.url).pathname;
const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

function thrown(fn: () => unknown): PayloadError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PayloadError);
    return e as PayloadError;
  }
  throw new Error('expected a PayloadError');
}
async function rejected(p: Promise<unknown>): Promise<PayloadError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PayloadError);
  return e as PayloadError;
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'payload-subjects-'));
  mkdirSync(join(work, 'dist', 'linux'), { recursive: true });
  mkdirSync(join(work, 'dist', 'mac'), { recursive: true });
  writeFileSync(join(work, 'dist', 'app-1.0.0.tgz'), 'tarball bytes');
  writeFileSync(join(work, 'dist', 'app-1.0.0.zip'), 'zip bytes');
  writeFileSync(join(work, 'dist', 'linux', 'app'), 'linux binary');
  writeFileSync(join(work, 'dist', 'mac', 'app'), 'mac binary');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('subjects from paths and globs', () => {
  it('hashes files matched by a glob, named by base name, with a generic purl pinning the digest', async () => {
    const subjects = await subjectsFromPaths(['dist/*.tgz', 'dist/*.zip'], { cwd: work, version: '1.0.0' });
    expect(subjects.map((s) => s.name)).toEqual(['app-1.0.0.tgz', 'app-1.0.0.zip']);
    expect(subjects[0]!.digest.sha256).toBe(sha256('tarball bytes'));
    expect(subjects[0]!.size).toBe('tarball bytes'.length);
    expect(subjects[0]!.purl).toBe(`pkg:generic/app-1.0.0.tgz@1.0.0?checksum=sha256:${sha256('tarball bytes')}`);
    expect(subjectSha256(subjects[0]!.purl)).toBe(subjects[0]!.digest.sha256);
    expect(toInTotoSubject(subjects[1]!)).toEqual({ name: 'app-1.0.0.zip', digest: { sha256: sha256('zip bytes') } });
  });

  it('accepts literal paths, relative or absolute', async () => {
    const [rel] = await subjectsFromPaths(['dist/app-1.0.0.zip'], { cwd: work });
    const [abs] = await subjectsFromPaths([join(work, 'dist', 'app-1.0.0.zip')]);
    expect(rel!.digest).toEqual(abs!.digest);
  });

  it('refuses a directory with a hint to use a glob', async () => {
    const e = await rejected(subjectsFromPaths(['dist'], { cwd: work }));
    expect(e.code).toBe('ERR_SUBJECT_DIRECTORY');
    expect(e.message).toBe('subject path dist is a directory; name the files, or use a glob such as dist/**');
  });

  it('refuses a glob that matches nothing', async () => {
    const e = await rejected(subjectsFromPaths(['dist/*.whl'], { cwd: work }));
    expect(e.code).toBe('ERR_SUBJECT_NO_MATCH');
    expect(e.message).toContain('the glob "dist/*.whl" matches no files under');
  });

  it('refuses a missing file', async () => {
    expect((await rejected(subjectsFromPaths(['dist/app-2.0.0.tgz'], { cwd: work }))).code).toBe('ERR_SUBJECT_NOT_FOUND');
  });

  it('refuses two files with one base name unless named by relative path', async () => {
    const e = await rejected(collectSubjects({ paths: ['dist/*/app'] }, { cwd: work }));
    expect(e.code).toBe('ERR_SUBJECT_INVALID');
    expect(e.message).toContain('two subjects are named "app" with different digests');
    const byPath = await collectSubjects({ paths: ['dist/*/app'] }, { cwd: work, nameFrom: 'relative-path' });
    expect(byPath.map((s) => s.name)).toEqual(['dist/linux/app', 'dist/mac/app']);
  });

  it(`enforces a subject limit before hashing; the default (${MAX_SUBJECTS}) is no cap a real release hits`, async () => {
    // actions/attest#164: 1,024 was too few for python-build-standalone's 1,131 artifacts
    expect(MAX_SUBJECTS).toBeGreaterThanOrEqual(100_000);
    const many = join(work, 'many');
    mkdirSync(many);
    for (let i = 0; i <= 1200; i++) writeFileSync(join(many, `f${i}.bin`), String(i));
    expect(await subjectsFromPaths(['many/*.bin'], { cwd: work })).toHaveLength(1201);
    const e = await rejected(subjectsFromPaths(['many/*.bin'], { cwd: work, limit: 1200 }));
    expect(e.code).toBe('ERR_SUBJECT_LIMIT');
    expect(e.message).toContain('1201 subjects; a statement may have at most 1200');
    // a smaller limit applies the same way
    expect((await rejected(subjectsFromPaths(['dist/*.tgz', 'dist/*.zip'], { cwd: work, limit: 1 }))).code).toBe('ERR_SUBJECT_LIMIT');
  });
});

describe('subjects from explicit digests', () => {
  it('takes sha256:<hex> with a name', () => {
    const s = subjectFromDigest('app.tgz', `sha256:${'A'.repeat(64)}`);
    expect(s).toEqual({ name: 'app.tgz', digest: { sha256: 'a'.repeat(64) }, purl: `pkg:generic/app.tgz?checksum=sha256:${'a'.repeat(64)}` });
  });

  it('refuses other algorithms, short digests and empty names', () => {
    expect(thrown(() => subjectFromDigest('app.tgz', `sha512:${'a'.repeat(128)}`)).code).toBe('ERR_SUBJECT_INVALID');
    expect(thrown(() => subjectFromDigest('app.tgz', `sha256:${'a'.repeat(63)}`)).message).toContain('is not sha256:<64 hex digits>');
    expect(thrown(() => subjectFromDigest(' ', `sha256:${'a'.repeat(64)}`)).code).toBe('ERR_SUBJECT_INVALID');
  });
});

describe('checksums files', () => {
  it('reads sha256sum output in text and binary mode, and escaped names, matching the files', async () => {
    const subjects = await subjectsFromChecksumsFile(join(fixtures, 'checksums', 'SHA256SUMS'));
    expect(subjects.map((s) => s.name)).toEqual(['core.cdx-1.6.json', 'core.spdx', 'eslint.sarif', 'attest-build-provenance.artifact', 'odd\\name.bin']);
    // the fixture was written by sha256sum: each digest must be the file's
    const files = ['cyclonedx/core.cdx-1.6.json', 'spdx/core.spdx', 'sarif/eslint.sarif', 'in-toto/attest-build-provenance.artifact'];
    files.forEach((f, i) => expect(subjects[i]!.digest.sha256).toBe(sha256(readFileSync(join(fixtures, f)))));
    expect(subjects[4]!.digest.sha256).toBe(sha256('x'));
  });

  it('reads the BSD / --tag form', () => {
    const entries = parseChecksums(readFileSync(join(fixtures, 'checksums', 'SHA256SUMS.tag'), 'utf8'));
    expect(entries.map((e) => [e.name, e.sha256])).toEqual([
      ['cyclonedx/core.cdx-1.4.json', sha256(readFileSync(join(fixtures, 'cyclonedx/core.cdx-1.4.json')))],
      ['sarif/eslint.sarif', sha256(readFileSync(join(fixtures, 'sarif/eslint.sarif')))],
    ]);
  });

  it('names the malformed line and what a line must look like', () => {
    const text = `${'a'.repeat(64)}  ok.tgz\n${'b'.repeat(64)} broken.tgz\n`;
    const e = thrown(() => subjectsFromChecksums(text, { what: 'SHA256SUMS' }));
    expect(e.code).toBe('ERR_CHECKSUMS_MALFORMED');
    expect(e.message).toMatch(/^SHA256SUMS line 2 is not a sha256sum line: expected "<64 hex>  <file>" \(text\) or "<64 hex> \*<file>" \(binary\)/);
  });

  it('recognises a SHA-1 list for what it is', () => {
    const e = thrown(() => parseChecksums(`${'c'.repeat(40)}  app.tgz\n`));
    expect(e.message).toContain('the digest is not 64 hex digits: is it SHA-256?');
  });

  it('refuses an empty checksums file', () => {
    expect(thrown(() => parseChecksums('\n\n')).code).toBe('ERR_CHECKSUMS_MALFORMED');
  });
});

describe('OCI image references', () => {
  const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;

  it('makes a pkg:oci purl with repository_url and tag', () => {
    const s = subjectFromOciReference(`ghcr.io/scitt-actions/scitt:1.2.3@${digest}`);
    expect(s.name).toBe('ghcr.io/scitt-actions/scitt');
    expect(s.digest.sha256).toBe(digest.slice(7));
    const purl = PackageURL.fromString(s.purl);
    expect([purl.type, purl.name, purl.version]).toEqual(['oci', 'scitt', digest]);
    expect(purl.qualifiers).toEqual({ repository_url: 'ghcr.io/scitt-actions/scitt', tag: '1.2.3' });
    expect(subjectSha256(s.purl)).toBe(s.digest.sha256);
  });

  it('expands Docker Hub short names and keeps registry ports', () => {
    expect(parseOciReference(`alpine@${digest}`)).toMatchObject({ registry: 'docker.io', repository: 'library/alpine' });
    expect(parseOciReference(`localhost:5000/team/app:v1@${digest}`)).toMatchObject({ registry: 'localhost:5000', repository: 'team/app', tag: 'v1' });
  });

  it('refuses a reference without a digest, saying how to pin it', () => {
    const e = thrown(() => subjectFromOciReference('ghcr.io/scitt-actions/scitt:1.2.3'));
    expect(e.code).toBe('ERR_OCI_REFERENCE');
    expect(e.message).toContain('has no digest; pin the image as registry/repository@sha256:<64 hex>');
  });

  it('refuses other digest algorithms, wrong lengths and invalid names', () => {
    expect(thrown(() => parseOciReference(`ghcr.io/a/b@sha512:${'a'.repeat(128)}`)).message).toContain('images are pinned by sha256');
    expect(thrown(() => parseOciReference(`ghcr.io/a/b@sha256:${'a'.repeat(40)}`)).message).toContain('40 hex digits');
    expect(thrown(() => parseOciReference(`ghcr.io/Owner/App@${digest}`)).message).toContain('invalid repository');
  });
});

describe('collectSubjects', () => {
  it('combines every source and collapses identical subjects', async () => {
    const tgz = sha256('tarball bytes');
    const subjects = await collectSubjects(
      {
        paths: ['dist/app-1.0.0.tgz'],
        digests: [{ name: 'app-1.0.0.tgz', digest: `sha256:${tgz}` }],
        images: [`ghcr.io/o/app@sha256:${'1'.repeat(64)}`],
        checksumFiles: [join(fixtures, 'checksums', 'SHA256SUMS.tag')],
      },
      { cwd: work },
    );
    expect(subjects.map((s) => s.name)).toEqual(['app-1.0.0.tgz', 'ghcr.io/o/app', 'core.cdx-1.4.json', 'eslint.sarif']);
  });

  it('refuses no subjects at all', async () => {
    expect((await rejected(collectSubjects({}))).code).toBe('ERR_SUBJECT_INVALID');
  });

  it('generic purls percent-encode what needs it', () => {
    expect(genericPurl('my app.tgz', 'a'.repeat(64))).toBe(`pkg:generic/my%20app.tgz?checksum=sha256:${'a'.repeat(64)}`);
  });
});
