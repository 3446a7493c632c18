import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageError } from '../src/errors.ts';
import { artifactFromSubject, attachStatements, discoverStatements, parseStorageTarget } from '../src/storage/target.ts';
import { type GitHubServer, startGitHubServer } from './helpers/storage-github-server.ts';
import { type RegistryProcess, pushTestImage, startRegistry } from './helpers/storage-registry.ts';
import { genericSub, hashEnvelopeStatement, hex, ociSub, sha256Hex, statementItem, transparentStatement } from './helpers/storage-statements.ts';

const APP = new TextEncoder().encode('app tarball');
const LIB = new TextEncoder().encode('lib tarball');
const SBOM = new TextEncoder().encode('{"bomFormat":"CycloneDX"}');

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(StorageError);
    return (e as StorageError).code;
  }
  throw new Error('expected a StorageError, nothing was thrown');
}

describe('storage targets as the CLI and the actions name them', () => {
  it('parses DIR, release:TAG[/ASSET] and oci://REF', () => {
    expect(parseStorageTarget('dist')).toEqual({ kind: 'files', path: 'dist' });
    expect(parseStorageTarget('release:v1.2.0')).toEqual({ kind: 'github-release', tag: 'v1.2.0' });
    expect(parseStorageTarget('release:releases/v1')).toEqual({ kind: 'github-release', tag: 'releases/v1' });
    expect(parseStorageTarget('release:releases/v1/app.tgz', { artifact: true })).toEqual({ kind: 'github-release', tag: 'releases/v1', asset: 'app.tgz' });
    expect(parseStorageTarget('oci://ghcr.io/o/app:v1')).toEqual({ kind: 'oci', reference: 'oci://ghcr.io/o/app:v1' });
    expect(() => parseStorageTarget('release:v1', { artifact: true })).toThrow(StorageError);
    expect(() => parseStorageTarget('release:')).toThrow(StorageError);
    expect(() => parseStorageTarget('')).toThrow(StorageError);
  });

  it('names the artifact a subject pins', () => {
    expect(artifactFromSubject(genericSub('app.tgz', sha256Hex(APP)))).toEqual({ name: 'app.tgz', sha256: sha256Hex(APP) });
    expect(() => artifactFromSubject('pkg:generic/app@1.0')).toThrow(StorageError);
  });

  it('attaches to a directory by subject, with evidence, and discovers from the artifact path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scitt-target-'));
    await writeFile(join(dir, 'app.tgz'), APP);
    await writeFile(join(dir, 'lib.tgz'), LIB);
    const app = await hashEnvelopeStatement(genericSub('app.tgz', sha256Hex(APP)), SBOM, 'app.cdx.json');
    const lib = await transparentStatement(genericSub('lib.tgz', sha256Hex(LIB)));
    const stored = await attachStatements(dir, [statementItem(app.transparent), statementItem(lib.transparent), { name: 'app.cdx.json', bytes: SBOM, mediaType: 'application/vnd.cyclonedx+json' }]);
    expect(stored.map((s) => s.name).sort()).toEqual(['app.cdx.json', 'app.tgz.sbom.scitt', 'lib.tgz.in-toto.scitt']);
    expect((await readdir(dir)).sort()).toEqual(['app.cdx.json', 'app.tgz', 'app.tgz.sbom.scitt', 'lib.tgz', 'lib.tgz.in-toto.scitt']);
    const found = await discoverStatements(join(dir, 'app.tgz'), { evidence: true });
    expect(found.statements.map((s) => hex(s.bytes))).toEqual([hex(app.transparent)]);
    expect(hex(await found.statements[0]!.evidence!.read())).toBe(hex(SBOM));
  });

  it('attaches to a named artifact file only statements about it; refuses stray evidence', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scitt-target-'));
    await writeFile(join(dir, 'app.tgz'), APP);
    const lib = await transparentStatement(genericSub('lib.tgz', sha256Hex(LIB)));
    expect(await code(attachStatements(join(dir, 'app.tgz'), [statementItem(lib.transparent)]))).toBe('ERR_STORAGE_SUBJECT');
    const app = await transparentStatement(genericSub('app.tgz', sha256Hex(APP)));
    expect(await code(attachStatements(dir, [statementItem(app.transparent), { name: 'x.json', bytes: SBOM, mediaType: 'application/json' }]))).toBe('ERR_STORAGE_EVIDENCE');
    expect(await code(attachStatements(join(dir, 'missing'), [statementItem(app.transparent)]))).toBe('ERR_STORAGE_NOT_FOUND');
  });

  describe('with a GitHub API and a registry', () => {
    let gh: GitHubServer;
    let registry: RegistryProcess;
    beforeAll(async () => {
      gh = await startGitHubServer();
      registry = await startRegistry();
    });
    afterAll(async () => {
      await gh?.close();
      await registry?.stop();
    });

    it('attaches to release:TAG and discovers from release:TAG/ASSET (the asset hashed)', async () => {
      gh.addRelease('v2.0.0');
      gh.addAsset('v2.0.0', 'app.tgz', APP);
      const github = { owner: gh.owner, repo: gh.repo, token: gh.token, baseUrl: gh.apiUrl };
      const s = await transparentStatement(genericSub('app.tgz', sha256Hex(APP)));
      await attachStatements('release:v2.0.0', [statementItem(s.transparent)], { github });
      const found = await discoverStatements('release:v2.0.0/app.tgz', { github });
      expect(found.artifact).toEqual({ name: 'app.tgz', sha256: sha256Hex(APP) });
      expect(found.statements.map((f) => hex(f.bytes))).toEqual([hex(s.transparent)]);
      expect(await code(attachStatements('release:v2.0.0', [statementItem(s.transparent)]))).toBe('ERR_STORAGE_TARGET');
    });

    it('attaches to oci://REF:TAG and discovers from oci://REF@DIGEST', async () => {
      const subject = await pushTestImage(registry.url, 'target/app', 'v1');
      const s = await transparentStatement(ociSub('app', subject.digest.slice(7), `${registry.host}/target/app`));
      await attachStatements(`oci://${registry.host}/target/app:v1`, [statementItem(s.transparent)]);
      const found = await discoverStatements(`oci://${registry.host}/target/app@${subject.digest}`);
      expect(found.statements.map((f) => hex(f.bytes))).toEqual([hex(s.transparent)]);
    });
  });
});
