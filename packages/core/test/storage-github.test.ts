import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StorageError } from '../src/errors.ts';
import { attachReceipts } from '../src/receipt/transparent.ts';
import { parseSignedStatement } from '../src/statement/signed-statement.ts';
import { GitHubReleaseStore } from '../src/storage/github-release.ts';
import { type GitHubServer, startGitHubServer } from './helpers/storage-github-server.ts';
import { genericSub, hashEnvelopeStatement, hex, receiptFor, sha256Hex, statementItem, transparentStatement } from './helpers/storage-statements.ts';

const ARTIFACT = new TextEncoder().encode('app 1.0 tarball');
const artifact = { name: 'app-1.0.tgz', sha256: sha256Hex(ARTIFACT) };
const SBOM = new TextEncoder().encode('{"bomFormat":"CycloneDX","specVersion":"1.6"}');

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(StorageError);
    return (e as StorageError).code;
  }
  throw new Error('expected a StorageError, nothing was thrown');
}

let gh: GitHubServer;
let tagN = 0;
let tag: string;
let store: GitHubReleaseStore;
const open = (o: { token?: string; tag?: string; limits?: { statementBytes: number } } = {}) =>
  new GitHubReleaseStore({ owner: gh.owner, repo: gh.repo, tag: o.tag ?? tag, token: o.token ?? gh.token, baseUrl: gh.apiUrl, ...(o.limits ? { limits: o.limits } : {}) });
const names = () => gh.assetsOf(tag).map((a) => `${a.name}:${a.state}`).sort();

beforeAll(async () => {
  gh = await startGitHubServer();
});
afterAll(() => gh.close());
beforeEach(() => {
  tag = `v1.0.${tagN++}`;
  gh.addRelease(tag);
  gh.addAsset(tag, artifact.name, ARTIFACT);
  store = open();
});

describe('GitHub release assets', () => {
  it('uploads <asset>.scitt to the release upload_url and discovers it through the API download redirect', async () => {
    const s = await transparentStatement(genericSub(artifact.name, artifact.sha256));
    const from = gh.log.length;
    const stored = await store.attach(artifact, [statementItem(s.transparent)]);
    expect(stored[0]).toMatchObject({ kind: 'statement', name: 'app-1.0.tgz.in-toto.scitt', status: 'created', digest: { sha256: sha256Hex(s.transparent) } });
    expect(stored[0]!.location).toBe(`${gh.webOrigin}/${gh.owner}/${gh.repo}/releases/download/${tag}/app-1.0.tgz.in-toto.scitt`);
    const upload = gh.log.slice(from).find((r) => r.method === 'POST')!;
    expect(upload).toMatchObject({ origin: 'uploads', path: expect.stringMatching(/\/assets\?name=app-1\.0\.tgz\.in-toto\.scitt(&|$)/) });
    expect(gh.log.slice(from).filter((r) => r.origin !== 'web').every((r) => r.authorization === `token ${gh.token}`)).toBe(true);
    expect(hex(gh.assetsOf(tag).find((a) => a.name === 'app-1.0.tgz.in-toto.scitt')!.bytes)).toBe(hex(s.transparent));

    const before = gh.log.length;
    const found = await open().discover(artifact);
    expect(found.statements.map((f) => hex(f.bytes))).toEqual([hex(s.transparent)]);
    expect(found.statements[0]!.source).toMatchObject({ store: 'github-release', name: 'app-1.0.tgz.in-toto.scitt', location: stored[0]!.location });
    // release by tag, one asset page, and the download: API (302) then the browser URL
    expect(gh.log.slice(before).map((r) => `${r.origin} ${r.method}`)).toEqual(['api GET', 'api GET', 'api GET', 'web GET']);
    expect(found.requests).toBe(4);
  });

  it('does not duplicate a statement attached twice', async () => {
    const s = await transparentStatement(genericSub(artifact.name, artifact.sha256));
    await store.attach(artifact, [statementItem(s.transparent)]);
    const uploads = gh.log.filter((r) => r.method === 'POST').length;
    expect((await store.attach(artifact, [statementItem(s.transparent)]))[0]!.status).toBe('unchanged');
    expect(gh.log.filter((r) => r.method === 'POST').length).toBe(uploads);
    expect(names()).toEqual(['app-1.0.tgz.in-toto.scitt:uploaded', 'app-1.0.tgz:uploaded']);
  });

  it('adds receipts by uploading under a discoverable staging name, deleting the old asset, renaming', async () => {
    const s = await transparentStatement(genericSub(artifact.name, artifact.sha256));
    await store.attach(artifact, [statementItem(s.transparent)]);
    const from = gh.log.length;
    const more = attachReceipts(s.signed, [await receiptFor(s.signed, 'https://ts2.example')]);
    const stored = await store.attach(artifact, [statementItem(more)]);
    expect(stored[0]).toMatchObject({ name: 'app-1.0.tgz.in-toto.scitt', status: 'updated' });
    const writes = gh.log.slice(from).filter((r) => r.method !== 'GET');
    expect(writes.map((r) => r.method)).toEqual(['POST', 'DELETE', 'PATCH']);
    expect(writes[0]!.path).toMatch(/name=app-1\.0\.tgz\.[0-9a-f]{16}\.scitt(&|$)/);
    expect(names()).toEqual(['app-1.0.tgz.in-toto.scitt:uploaded', 'app-1.0.tgz:uploaded']);
    const held = parseSignedStatement(new Uint8Array(gh.assetsOf(tag).find((a) => a.name === 'app-1.0.tgz.in-toto.scitt')!.bytes));
    expect(held.receipts).toHaveLength(2);
  });

  it('keeps the old statement when the old asset cannot be deleted, and removes the staging copy', async () => {
    const s = await transparentStatement(genericSub(artifact.name, artifact.sha256));
    await store.attach(artifact, [statementItem(s.transparent)]);
    gh.inject({ origin: 'api', method: 'DELETE', status: 502 });
    const more = attachReceipts(s.signed, [await receiptFor(s.signed, 'https://ts2.example')]);
    expect(await code(store.attach(artifact, [statementItem(more)]))).toBe('ERR_STORAGE_UNAVAILABLE');
    expect(names()).toEqual(['app-1.0.tgz.in-toto.scitt:uploaded', 'app-1.0.tgz:uploaded']);
    expect(hex(gh.assetsOf(tag).find((a) => a.name === 'app-1.0.tgz.in-toto.scitt')!.bytes)).toBe(hex(s.transparent));
  });

  it('reports an upload cut off midway and leaves nothing half-attached', async () => {
    const s = await transparentStatement(genericSub(artifact.name, artifact.sha256));
    gh.inject({ origin: 'uploads', method: 'POST', drop: { afterBytes: 1 } });
    const err = await store.attach(artifact, [statementItem(s.transparent)]).catch((e: StorageError) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).code).toBe('ERR_STORAGE_INCOMPLETE');
    expect((err as StorageError).message).toMatch(/incomplete asset GitHub kept \(state starter.*was deleted/);
    expect(names()).toEqual(['app-1.0.tgz:uploaded']);
    expect((await store.discover(artifact)).statements).toEqual([]);
    // and attaching again works
    expect((await store.attach(artifact, [statementItem(s.transparent)]))[0]!.status).toBe('created');
  });

  it('keeps the old statement when the replacement upload is cut off', async () => {
    const s = await transparentStatement(genericSub(artifact.name, artifact.sha256));
    await store.attach(artifact, [statementItem(s.transparent)]);
    gh.inject({ origin: 'uploads', method: 'POST', drop: { afterBytes: 1 } });
    const more = attachReceipts(s.signed, [await receiptFor(s.signed, 'https://ts2.example')]);
    expect(await code(store.attach(artifact, [statementItem(more)]))).toBe('ERR_STORAGE_INCOMPLETE');
    expect(names()).toEqual(['app-1.0.tgz.in-toto.scitt:uploaded', 'app-1.0.tgz:uploaded']);
    expect(hex(gh.assetsOf(tag).find((a) => a.name === 'app-1.0.tgz.in-toto.scitt')!.bytes)).toBe(hex(s.transparent));
  });

  it('skips assets with a matching name but another subject, and objects that are not statements', async () => {
    const mine = await transparentStatement(genericSub(artifact.name, artifact.sha256));
    const other = await transparentStatement(genericSub(artifact.name, sha256Hex('a different build')));
    await store.attach(artifact, [statementItem(mine.transparent)]);
    gh.addAsset(tag, `app-1.0.tgz.${'a'.repeat(16)}.scitt`, other.transparent);
    gh.addAsset(tag, `app-1.0.tgz.${'b'.repeat(16)}.scitt`, new TextEncoder().encode('<html>not a statement</html>'));
    gh.addAsset(tag, 'app-1.0.tgz.sig', other.transparent); // not a statement name: not even read
    const found = await store.discover(artifact);
    expect(found.statements.map((f) => hex(f.bytes))).toEqual([hex(mine.transparent)]);
    expect(found.skipped.map((f) => [f.source.name, f.code]).sort()).toEqual([
      [`app-1.0.tgz.${'a'.repeat(16)}.scitt`, 'ERR_STORAGE_SUBJECT'],
      [`app-1.0.tgz.${'b'.repeat(16)}.scitt`, 'ERR_STORAGE_NOT_STATEMENT'],
    ]);
    // attaching next to an asset of that name that holds something else never overwrites it
    const stored = await store.attach(artifact, [statementItem(mine.transparent)]);
    expect(stored[0]!.status).toBe('unchanged');
  });

  it('stores a second statement under its content-derived name, and pages through many assets', async () => {
    for (let i = 0; i < 130; i++) gh.addAsset(tag, `file-${String(i).padStart(3, '0')}.bin`, new Uint8Array([i]));
    const a = await transparentStatement(genericSub(artifact.name, artifact.sha256));
    const b = await transparentStatement(genericSub(artifact.name, artifact.sha256));
    await store.attach(artifact, [statementItem(a.transparent)]);
    await store.attach(artifact, [statementItem(b.transparent)]);
    const found = await store.discover(artifact);
    expect(found.statements.map((f) => hex(f.bytes)).sort()).toEqual([hex(a.transparent), hex(b.transparent)].sort());
    expect(gh.log.some((r) => r.path.includes('/assets?per_page=100&page=2'))).toBe(true);
  });

  it('uploads Hash Envelope evidence named by its release download URL, and reads it back checked', async () => {
    const location = `${gh.webOrigin}/${gh.owner}/${gh.repo}/releases/download/${tag}/app-1.0.cdx.json`;
    const s = await hashEnvelopeStatement(genericSub(artifact.name, artifact.sha256), SBOM, location);
    const stored = await store.attach(artifact, [statementItem(s.transparent), { name: 'sbom.json', bytes: SBOM, mediaType: 'application/vnd.cyclonedx+json' }]);
    expect(stored.map((o) => [o.kind, o.name, o.location])).toEqual([
      ['evidence', 'app-1.0.cdx.json', location],
      ['statement', 'app-1.0.tgz.sbom.scitt', `${gh.webOrigin}/${gh.owner}/${gh.repo}/releases/download/${tag}/app-1.0.tgz.sbom.scitt`],
    ]);
    const found = await store.discover(artifact, { evidence: true });
    // not held: downloaded when asked for, and checked against the statement's digest then
    expect(found.statements[0]!.evidence?.bytes).toBeUndefined();
    expect(hex(await found.statements[0]!.evidence!.read())).toBe(hex(SBOM));
    const later = (await store.discover(artifact, { evidence: true })).statements[0]!.evidence!;
    const asset = gh.assetsOf(tag).find((a) => a.name === 'app-1.0.cdx.json')!;
    asset.bytes = Buffer.from(JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.7' }));
    expect(await code(later.read())).toBe('ERR_STORAGE_PROTOCOL'); // GitHub's recorded digest no longer matches
    asset.bytes = Buffer.from(SBOM);

    // an evidence asset of that name with other bytes is neither returned nor overwritten
    gh.assetsOf(tag).find((a) => a.name === 'app-1.0.cdx.json')!.bytes = Buffer.from('{"tampered":1}');
    const tampered = await store.discover(artifact, { evidence: true });
    expect(tampered.statements[0]!.evidence).toBeUndefined();
    expect(tampered.skipped.map((x) => x.code)).toEqual(['ERR_STORAGE_EVIDENCE']);
    expect(await code(store.attach(artifact, [statementItem(s.transparent), { name: 'sbom.json', bytes: SBOM, mediaType: 'application/json' }]))).toBe('ERR_STORAGE_CONFLICT');
  });

  it('refuses evidence whose payload-location points outside the release, before uploading anything', async () => {
    for (const location of ['https://example.com/app-1.0.cdx.json', `${gh.webOrigin}/${gh.owner}/${gh.repo}/releases/download/v9/app-1.0.cdx.json`, 'sboms/app.cdx.json']) {
      const s = await hashEnvelopeStatement(genericSub(artifact.name, artifact.sha256), SBOM, location);
      expect(await code(store.attach(artifact, [statementItem(s.transparent), { name: 'sbom.json', bytes: SBOM, mediaType: 'application/json' }]))).toBe('ERR_STORAGE_EVIDENCE');
    }
    expect(names()).toEqual(['app-1.0.tgz:uploaded']);
  });

  it('finds draft releases, which the tag endpoint does not show', async () => {
    const draft = `${tag}-draft`;
    gh.addRelease(draft, { draft: true });
    const s = await transparentStatement(genericSub(artifact.name, artifact.sha256));
    await open({ tag: draft }).attach(artifact, [statementItem(s.transparent)]);
    expect(gh.assetsOf(draft).map((a) => a.name)).toEqual(['app-1.0.tgz.in-toto.scitt']);
  });

  it('says what is wrong: no release, bad credentials, no write permission, a failing server, rate limits, a name taken meanwhile', async () => {
    const s = await transparentStatement(genericSub(artifact.name, artifact.sha256));
    expect(await code(open({ tag: 'v404' }).discover(artifact))).toBe('ERR_STORAGE_NOT_FOUND');
    expect(await code(open({ token: 'wrong' }).discover(artifact))).toBe('ERR_STORAGE_AUTH');
    const ro = await startGitHubServer({ readOnlyToken: 'ghs_read_only' });
    try {
      ro.addRelease('v1');
      const err = (await new GitHubReleaseStore({ owner: ro.owner, repo: ro.repo, tag: 'v1', token: 'ghs_read_only', baseUrl: ro.apiUrl }).attach(artifact, [statementItem(s.transparent)]).catch((e: unknown) => e)) as StorageError;
      expect(err.code).toBe('ERR_STORAGE_AUTH');
      expect(err.status).toBe(403);
      expect(err.message).toMatch(/Resource not accessible by integration.*permission/);
    } finally {
      await ro.close();
    }
    gh.inject({ origin: 'api', method: 'GET', pathIncludes: '/assets', status: 503 });
    expect(await code(store.discover(artifact))).toBe('ERR_STORAGE_UNAVAILABLE');
    gh.inject({ origin: 'api', status: 403, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1900000000' } });
    const limited = (await store.discover(artifact).catch((e: unknown) => e)) as StorageError;
    expect(limited.code).toBe('ERR_STORAGE_UNAVAILABLE');
    expect(limited.message).toMatch(/rate limited by GitHub .* wait until 2030/);
    gh.inject({ origin: 'uploads', status: 422 });
    expect(await code(store.attach(artifact, [statementItem(s.transparent)]))).toBe('ERR_STORAGE_CONFLICT');
  });

  it('bounds what it downloads', async () => {
    const s = await transparentStatement(genericSub(artifact.name, artifact.sha256));
    await store.attach(artifact, [statementItem(s.transparent)]);
    const found = await open({ limits: { statementBytes: 64 } }).discover(artifact);
    expect(found.statements).toEqual([]);
    expect(found.skipped.map((x) => x.code)).toEqual(['ERR_STORAGE_LIMIT']);
  });

  it('works with a caller-made Octokit (as @actions/github provides) and hashes release assets', async () => {
    const octokit = new Octokit({ auth: gh.token, baseUrl: gh.apiUrl });
    const s = await transparentStatement(genericSub(artifact.name, artifact.sha256));
    const own = new GitHubReleaseStore({ owner: gh.owner, repo: gh.repo, tag, octokit });
    await own.attach(artifact, [statementItem(s.transparent)]);
    expect(await own.assetSha256(artifact.name)).toBe(artifact.sha256);
    expect((await own.discover(artifact)).statements).toHaveLength(1);
  });
});
