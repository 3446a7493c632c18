import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scitt } from '../../../test/helpers/cli.ts';

describe('scitt CLI: keygen, statement create/verify, inspect', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scitt-cli-'));
  writeFileSync(join(dir, 'sbom.json'), '{"bomFormat":"CycloneDX","specVersion":"1.6"}');
  const sub = 'pkg:generic/app@1.0?checksum=sha256:' + '0'.repeat(64);

  it('keygen writes a 0600 private key and a public key, never printing the private key', async () => {
    const r = await scitt(['keygen', '--out', 'k.pem', '--json'], dir);
    expect(r.code).toBe(0);
    expect(statSync(join(dir, 'k.pem')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'k.pub.pem'), 'utf8')).toMatch(/BEGIN PUBLIC KEY/);
    expect(r.stdout).not.toMatch(/PRIVATE/);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, command: 'keygen', result: { alg: 'ES256' } });
    expect((await scitt(['keygen', '--out', 'k.pem'], dir)).code).toBe(2); // refuses to overwrite
  });

  it('creates and verifies an embedded and a hash-envelope statement', async () => {
    expect((await scitt(['statement', 'create', '--payload', 'sbom.json', '--key', 'k.pem', '--iss', 'https://e.x', '--sub', sub, '--content-type', 'application/vnd.cyclonedx+json', '--out', 's.cose'], dir)).code).toBe(0);
    const v = await scitt(['statement', 'verify', 's.cose', '--key', 'k.pub.pem', '--json'], dir);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout).result).toMatchObject({ verified: true, alg: 'ES256', iss: 'https://e.x', sub });
    expect((await scitt(['statement', 'create', '--payload', 'sbom.json', '--key', 'k.pem', '--iss', 'https://e.x', '--sub', sub, '--hash-envelope', '--location', 'sbom.json', '--out', 'h.cose'], dir)).code).toBe(0);
    expect((await scitt(['statement', 'verify', 'h.cose', '--key', 'k.pub.pem', '--payload', 'sbom.json'], dir)).code).toBe(0);
  });

  it('exit 1 when verification fails: wrong key, tampered payload', async () => {
    await scitt(['keygen', '--out', 'other.pem'], dir);
    const wrongKey = await scitt(['statement', 'verify', 's.cose', '--key', 'other.pub.pem'], dir);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/ERR_COSE_SIGNATURE_INVALID/);
    writeFileSync(join(dir, 'sbom2.json'), '{"bomFormat":"CycloneDX","specVersion":"1.5"}');
    const tampered = await scitt(['statement', 'verify', 'h.cose', '--key', 'k.pub.pem', '--payload', 'sbom2.json'], dir);
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toMatch(/does not match/);
    writeFileSync(join(dir, 'garbage.cose'), Buffer.from([0xd2, 0x84, 0x40]));
    expect((await scitt(['statement', 'verify', 'garbage.cose', '--key', 'k.pub.pem'], dir)).code).toBe(1);
  });

  it('exit 2 for usage and operational errors, with a message that says what to do', async () => {
    const missing = await scitt(['statement', 'verify', 'nope.cose', '--key', 'k.pub.pem'], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read statement nope.cose: no such file/);
    expect((await scitt(['statement', 'create', '--payload', 'sbom.json'], dir)).code).toBe(2);
    expect((await scitt(['statement', 'verify', 's.cose', '--key', 'sbom.json'], dir)).code).toBe(2);
    const notUri = await scitt(['statement', 'create', '--payload', 'sbom.json', '--key', 'k.pem', '--iss', 'x', '--sub', 's', '--location', 'y', '--out', 'z.cose'], dir);
    expect(notUri.code).toBe(2);
    expect(notUri.stderr).toMatch(/--location only applies with --hash-envelope/);
  });

  it('statement create --payload detects the content type as the subject mode does; none needs an explicit flag', async () => {
    expect((await scitt(['statement', 'create', '--payload', 'sbom.json', '--key', 'k.pem', '--iss', 'https://e.x', '--sub', sub, '--out', 'd.cose'], dir)).code).toBe(0);
    expect(JSON.parse((await scitt(['inspect', 'd.cose', '--json'], dir)).stdout).result.value.protected.contentType).toMatch(/cyclonedx\+json/);
    expect((await scitt(['statement', 'create', '--payload', 'sbom.json', '--key', 'k.pem', '--iss', 'https://e.x', '--sub', sub, '--type', 'provenance', '--out', 'e.cose'], dir)).stderr).toMatch(/ERR_PAYLOAD_KIND_MISMATCH|provenance/);
    writeFileSync(join(dir, 'notes.txt'), 'release notes\n');
    const unknown = await scitt(['statement', 'create', '--payload', 'notes.txt', '--key', 'k.pem', '--iss', 'https://e.x', '--sub', sub, '--out', 'n.cose'], dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--content-type TYPE, or pass --no-content-type \[ERR_USAGE\]/);
    expect((await scitt(['statement', 'create', '--payload', 'notes.txt', '--key', 'k.pem', '--iss', 'https://e.x', '--sub', sub, '--content-type', 'text/plain', '--out', 'n.cose'], dir)).code).toBe(0);
    expect((await scitt(['statement', 'create', '--payload', 'notes.txt', '--key', 'k.pem', '--iss', 'https://e.x', '--sub', sub, '--no-content-type', '--out', 'n2.cose'], dir)).code).toBe(0);
  });

  it('--help on every verb', async () => {
    for (const verb of [['keygen'], ['statement', 'create'], ['statement', 'verify'], ['inspect']]) {
      const r = await scitt([...verb, '--help'], dir);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage: scitt/);
    }
  });

  it('inspect names labels, claims and algorithms; --json gives the same structure', async () => {
    const text = await scitt(['inspect', 'h.cose'], dir);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/\/ alg \/ 1: -7 \/ ES256 \//);
    expect(text.stdout).toMatch(/\/ iss \/ 1: "https:\/\/e.x"/);
    expect(text.stdout).toMatch(/\/ payloadHashAlg \/ 258: -16 \/ SHA-256 \//);
    const json = JSON.parse((await scitt(['inspect', 'h.cose', '--json'], dir)).stdout).result;
    expect(json.kind).toMatch(/Hash Envelope/);
    expect(json.value.protected.cwtClaims).toMatchObject({ iss: 'https://e.x', sub });
    expect(json.value.protected.alg).toEqual({ value: -7, name: 'ES256' });
  });
});

describe('hostile statement text never reaches the terminal raw', () => {
  it('control characters in iss are escaped in human output, and a non-key --ts-keys file is a usage error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scitt-inject-'));
    await scitt(['keygen', '--out', 'k.pem'], dir);
    writeFileSync(join(dir, 'p.json'), '{}');
    const forged = 'x\n  ok    receipts  fine\nVERIFIED  release.scitt\n\u001b[8m';
    const made = await scitt(['statement', 'create', '--payload', 'p.json', '--key', 'k.pem', '--iss', forged, '--sub', 'pkg:generic/x', '--no-content-type', '--out', 's.cose'], dir);
    expect(made.code, made.stderr).toBe(0);
    const v = await scitt(['statement', 'verify', 's.cose', '--key', 'k.pub.pem'], dir);
    expect(v.code).toBe(0);
    expect(v.stdout).not.toMatch(/\u001b|\nVERIFIED/);
    expect(v.stdout).toMatch(/x\\u000a {2}ok/);
    writeFileSync(join(dir, 'garbage.bin'), Buffer.from([0xff, 0x00, 0x13, 0x37, 0x9f]));
    const keys = await scitt(['verify', 's.cose', '--ts-keys', 'garbage.bin', '--issuer-key', 'k.pub.pem'], dir);
    expect(keys.code).toBe(2);
    expect(keys.stderr).toMatch(/is not a Transparency Service key set/);
  });
});
