import { describe, expect, it } from 'vitest';
import { StorageError } from '../src/errors.ts';
import { parseChallenges } from '../src/storage/oci/auth.ts';
import { readDescriptor, referrersTag } from '../src/storage/oci/media-types.ts';
import { formatImageReference, isLoopback, parseImageReference, registryHost } from '../src/storage/oci/reference.ts';

const D = `sha256:${'ab'.repeat(32)}`;

describe('OCI image references', () => {
  it('parses registry, repository, tag and digest', () => {
    expect(parseImageReference('ghcr.io/octo/app:v1')).toEqual({ registry: 'ghcr.io', repository: 'octo/app', tag: 'v1' });
    expect(parseImageReference(`oci://127.0.0.1:5000/a/b/c@${D.toUpperCase().replace('SHA256', 'sha256')}`)).toEqual({ registry: '127.0.0.1:5000', repository: 'a/b/c', digest: D });
    expect(parseImageReference(`localhost/app:1.0@${D}`)).toEqual({ registry: 'localhost', repository: 'app', tag: '1.0', digest: D });
    expect(parseImageReference('ubuntu:24.04')).toEqual({ registry: 'docker.io', repository: 'library/ubuntu', tag: '24.04' });
    expect(formatImageReference(parseImageReference(`ghcr.io/o/app:v1@${D}`))).toBe(`ghcr.io/o/app:v1@${D}`);
  });

  it('refuses references it cannot use', () => {
    for (const bad of ['ghcr.io/o/app', 'ghcr.io/O/App:v1', `ghcr.io/o/app@sha512:${'a'.repeat(128)}`, 'ghcr.io/o/app@sha256:abc', 'ghcr.io/o/app:-bad', 'ghcr.io//app:v1', 'bad_host:5000/app:v1']) {
      expect(() => parseImageReference(bad), bad).toThrow(StorageError);
    }
  });

  it('knows where Docker Hub is served and which registries are loopback', () => {
    expect(registryHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryHost('ghcr.io')).toBe('ghcr.io');
    expect(isLoopback('127.0.0.1:5000')).toBe(true);
    expect(isLoopback('localhost')).toBe(true);
    expect(isLoopback('[::1]:5000')).toBe(true);
    expect(isLoopback('registry.example:5000')).toBe(false);
  });
});

describe('WWW-Authenticate challenges', () => {
  it('reads Bearer and Basic challenges, quoted and not', () => {
    expect(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/ubuntu:pull' } },
    ]);
    expect(parseChallenges('Basic realm="Registry Realm", Bearer realm=https://x/token, service=x')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm' } },
      { scheme: 'bearer', params: { realm: 'https://x/token', service: 'x' } },
    ]);
    expect(parseChallenges('Bearer realm="a \\"quoted\\" realm"')[0]!.params.realm).toBe('a "quoted" realm');
    expect(parseChallenges(null)).toEqual([]);
    expect(parseChallenges('')).toEqual([]);
  });
});

describe('referrers tag schema and descriptors', () => {
  it('derives the referrers tag from a digest', () => {
    expect(referrersTag(D)).toBe(`sha256-${'ab'.repeat(32)}`);
    // the spec's own example: algorithm truncated to 32, encoded to 64, invalid characters as '-'
    expect(
      referrersTag(
        'test+algorithm+using+algorithm+separators+and+lots+of+characters+to+excercise+overall+truncation:alsoSome=InTheEncodedSectionToShowHyphenReplacementAndLotsAndLotsOfCharactersToExcerciseEncodedTruncation',
      ),
    ).toBe('test-algorithm-using-algorithm-s-alsoSome-InTheEncodedSectionToShowHyphenReplacementAndLotsAndLot');
  });

  it('accepts only well-formed descriptors', () => {
    expect(readDescriptor({ mediaType: 'a', digest: D, size: 3, artifactType: 'b', annotations: { k: 'v', n: 1 } })).toEqual({ mediaType: 'a', digest: D, size: 3, artifactType: 'b', annotations: { k: 'v' } });
    for (const bad of [null, {}, { mediaType: 'a', digest: 'sha256:xyz', size: 1 }, { mediaType: 'a', digest: D, size: -1 }, { mediaType: 'a', digest: D, size: 1.5 }, { mediaType: 'a', digest: D, size: 1, artifactType: 3 }]) {
      expect(readDescriptor(bad)).toBeUndefined();
    }
  });
});
