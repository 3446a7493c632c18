import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PayloadError } from '../src/errors.ts';
import { detectEvidence } from '../src/payload/detect.ts';
import { sha256Hex } from '../src/payload/hashing.ts';
import { choosePlacement, defaultPlacement, locationBeside } from '../src/payload/placement.ts';
import { scaiObjectReference } from '../src/payload/scai.ts';

const dir = new URL('./fixtures/payload/', import.meta.url);

describe('payload placement (statement-persistence.md)', () => {
  it('puts SBOMs, scan results and provenance in a Hash Envelope and embeds in-toto attestations', () => {
    expect(defaultPlacement('sbom')).toBe('hash-envelope');
    expect(defaultPlacement('scan')).toBe('hash-envelope');
    expect(defaultPlacement('provenance')).toBe('hash-envelope');
    expect(defaultPlacement('in-toto')).toBe('embedded');
  });

  it('follows the detected kind of real evidence', async () => {
    const sbom = await detectEvidence(readFileSync(new URL('spdx/core.spdx', dir)));
    const attestation = await detectEvidence(readFileSync(new URL('in-toto/attest-build-provenance.dsse.json', dir)), { expected: 'in-toto' });
    expect(choosePlacement({ kind: sbom.kind })).toEqual({ placement: 'hash-envelope', overridden: false });
    expect(choosePlacement({ kind: attestation.kind })).toEqual({ placement: 'embedded', overridden: false });
  });

  it('stores the evidence beside the artifact: URL or path', () => {
    expect(
      choosePlacement({ kind: 'sbom', artifactLocation: 'https://github.com/o/r/releases/download/v1.0.0/app-1.0.0.tgz?x=1', evidenceName: 'app-1.0.0.tgz.cdx.json' }),
    ).toEqual({ placement: 'hash-envelope', payloadLocation: 'https://github.com/o/r/releases/download/v1.0.0/app-1.0.0.tgz.cdx.json', overridden: false });
    expect(locationBeside('dist/app-1.0.0.tgz', 'app-1.0.0.tgz.sarif')).toBe('dist/app-1.0.0.tgz.sarif');
    expect(locationBeside('app.tgz', 'app.tgz.spdx.json')).toBe('app.tgz.spdx.json');
    expect(locationBeside('https://example.com/files/my app.tgz', 'my app.tgz.cdx.json')).toBe('https://example.com/files/my%20app.tgz.cdx.json');
  });

  it('accepts an override of placement and location', () => {
    expect(choosePlacement({ kind: 'sbom', override: 'embedded', artifactLocation: 'dist/a.tgz', evidenceName: 'a.cdx.json' })).toEqual({ placement: 'embedded', overridden: true });
    expect(choosePlacement({ kind: 'in-toto', override: 'hash-envelope', location: 'oci://ghcr.io/o/app@sha256:abc' })).toEqual({
      placement: 'hash-envelope',
      payloadLocation: 'oci://ghcr.io/o/app@sha256:abc',
      overridden: true,
    });
    expect(() => choosePlacement({ kind: 'sbom', override: 'detached' as never })).toThrow(PayloadError);
    expect(() => locationBeside('dist/a.tgz', '../a.cdx.json')).toThrow(/plain file name/);
  });
});

describe('SCAI Object References', () => {
  const bytes = readFileSync(new URL('sarif/eslint.sarif', dir));

  it('describes evidence by name, digest, location and type', () => {
    const ref = scaiObjectReference({
      name: 'eslint.sarif',
      digest: `sha256:${sha256Hex(bytes)}`,
      locationURI: 'https://github.com/o/r/releases/download/v1/eslint.sarif',
      objectType: 'application/sarif+json',
    });
    expect(JSON.stringify(ref)).toBe(
      `{"name":"eslint.sarif","digest":{"sha256":"${sha256Hex(bytes)}"},"locationURI":"https://github.com/o/r/releases/download/v1/eslint.sarif","objectType":"application/sarif+json"}`,
    );
  });

  it('leaves optional fields out and normalises hex to lower case', () => {
    expect(scaiObjectReference({ name: 'statement.cose', digest: { sha256: 'AB'.repeat(32), sha512: 'cd'.repeat(64) } })).toEqual({
      name: 'statement.cose',
      digest: { sha256: 'ab'.repeat(32), sha512: 'cd'.repeat(64) },
    });
  });

  it('refuses relative locations, malformed digests and missing names', () => {
    expect(() => scaiObjectReference({ name: 'a', digest: `sha256:${'a'.repeat(64)}`, locationURI: 'dist/a.sarif' })).toThrow(/not an absolute URI/);
    expect(() => scaiObjectReference({ name: 'a', digest: `sha256:${'a'.repeat(60)}` })).toThrow(/64 lower-case hex digits/);
    expect(() => scaiObjectReference({ name: 'a', digest: {} })).toThrow(/at least one digest/);
    expect(() => scaiObjectReference({ name: '', digest: `sha256:${'a'.repeat(64)}` })).toThrow(/needs a name/);
  });
});
