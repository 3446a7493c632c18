import { describe, expect, it } from 'vitest';
import { isStatementAbout, normaliseSha256, subjectSha256 } from '../src/payload/purl.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

describe('statement subject ↔ artifact digest', () => {
  it('reads the digest a generic purl pins in its checksum qualifier', () => {
    expect(subjectSha256(`pkg:generic/app.tgz@1.0?checksum=sha256:${A}`)).toBe(A);
    expect(subjectSha256(`pkg:generic/app.tgz@1.0?checksum=sha256:${B.toUpperCase()}`)).toBe(B);
    expect(subjectSha256(`pkg:generic/app.tgz@1.0?checksum=sha256%3A${A}`)).toBe(A);
    expect(subjectSha256(`pkg:npm/%40scope/app@1.0.0?checksum=sha256:${A}`)).toBe(A);
  });

  it('reads the digest a pkg:oci version pins', () => {
    expect(subjectSha256(`pkg:oci/app@sha256:${A}?repository_url=ghcr.io/o/app`)).toBe(A);
    expect(subjectSha256(`pkg:oci/app@sha256%3A${A}`)).toBe(A);
  });

  it('pins nothing when the purl does not, or contradicts itself', () => {
    expect(subjectSha256('pkg:generic/app@1.0')).toBeUndefined();
    expect(subjectSha256(`pkg:oci/app@sha256:${A}?checksum=sha256:${B}`)).toBeUndefined();
    expect(subjectSha256(`pkg:generic/app@1.0?checksum=sha256:${A},sha256:${B}`)).toBeUndefined();
    // two digests, even of different algorithms, are two claims: only one can be checked
    expect(subjectSha256(`pkg:generic/app.tgz@1.0?checksum=sha1:${'c'.repeat(40)},sha256:${B}`)).toBeUndefined();
    expect(subjectSha256(`pkg:generic/app@1.0?checksum=sha256:${A.slice(1)}`)).toBeUndefined();
    expect(subjectSha256(`pkg:generic/app@1.0?checksum=sha256:${A},sha256:abc`)).toBeUndefined();
    expect(subjectSha256(`https://example.com/app?checksum=sha256:${A}`)).toBeUndefined();
    expect(subjectSha256(`sha256:${A}`)).toBeUndefined();
    expect(subjectSha256('pkg:')).toBeUndefined();
  });

  it('does not match a digest that only appears elsewhere in the purl', () => {
    // a digest in the name, a qualifier other than checksum, or the version of a non-oci type pins nothing
    expect(isStatementAbout(`pkg:generic/${A}@1.0`, A)).toBe(false);
    expect(isStatementAbout(`pkg:generic/app@sha256:${A}`, A)).toBe(false);
    expect(isStatementAbout(`pkg:generic/app@1.0?download_url=https://x/${A}`, A)).toBe(false);
    expect(isStatementAbout(`pkg:generic/app@1.0?checksum=sha512:${A}${A}`, A)).toBe(false);
  });

  it('matches exactly the pinned digest', () => {
    expect(isStatementAbout(`pkg:generic/app@1.0?checksum=sha256:${A}`, A.toUpperCase())).toBe(true);
    expect(isStatementAbout(`pkg:generic/app@1.0?checksum=sha256:${A}`, B)).toBe(false);
    expect(isStatementAbout(`pkg:generic/app@1.0?checksum=sha256:${A}`, 'a'.repeat(63))).toBe(false);
  });

  it('normalises artifact digests', () => {
    expect(normaliseSha256(`sha256:${A.toUpperCase()}`)).toBe(A);
    expect(normaliseSha256(A)).toBe(A);
    expect(normaliseSha256(`sha512:${A}`)).toBeUndefined();
    expect(normaliseSha256('abc')).toBeUndefined();
  });
});
