/**
 * OCI referrers against a real registry process (Debian's docker-registry, CNCF Distribution 2.8,
 * which has no referrers API: the tag schema fallback is what it gets), and the referrers API path
 * against the same registry behind a proxy that adds the API exactly as distribution-spec 1.1 says.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageError } from '../src/errors.ts';
import { attachReceipts } from '../src/receipt/transparent.ts';
import { OciStatementStore } from '../src/storage/oci/store.ts';
import { type RegistryProcess, pushTestImage, rawPushBlob, rawPutManifest, startRegistry } from './helpers/storage-registry.ts';
import { type ReferrersProxy, startReferrersProxy } from './helpers/storage-referrers-server.ts';
import { hashEnvelopeStatement, hex, ociSub, receiptFor, sha256Hex, statementItem, transparentStatement } from './helpers/storage-statements.ts';

const SBOM = new TextEncoder().encode('{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}');
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const SCITT = 'application/scitt-statement+cose';

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(StorageError);
    return (e as StorageError).code;
  }
  throw new Error('expected a StorageError, nothing was thrown');
}

let registry: RegistryProcess;
let proxy: ReferrersProxy;
let n = 0;

beforeAll(async () => {
  registry = await startRegistry();
  proxy = await startReferrersProxy({ upstream: registry.url });
});
afterAll(async () => {
  await proxy?.close();
  await registry?.stop();
});

/** A fresh repository with a real image in it, and a statement subject for it. */
async function image(host = registry.host, url = registry.url) {
  const repository = `scitt/app${n++}`;
  const subject = await pushTestImage(url, repository, 'v1');
  const sha256 = subject.digest.slice(7);
  return { repository, subject, sha256, artifact: { name: `${host}/${repository}`, sha256 }, sub: ociSub('app', sha256, `${host}/${repository}`) };
}

async function tagIndex(repository: string, digest: string): Promise<{ status: number; index?: { manifests: { digest: string; artifactType?: string; annotations?: Record<string, string> }[] } }> {
  const res = await fetch(`${registry.url}/v2/${repository}/manifests/${digest.replace(':', '-')}`, { headers: { accept: OCI_INDEX } });
  return res.ok ? { status: res.status, index: (await res.json()) as never } : { status: res.status };
}

/** A referrer of `subject` pushed the way another tool would: blobs, a manifest, an entry in the tag index. */
async function foreignReferrer(repository: string, subject: { mediaType: string; digest: string; size: number }, artifactType: string, layer: Uint8Array, layerMediaType = artifactType) {
  const empty = await rawPushBlob(registry.url, repository, new TextEncoder().encode('{}'));
  const layerDigest = await rawPushBlob(registry.url, repository, layer);
  const m = await rawPutManifest(registry.url, repository, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
    layers: [{ mediaType: layerMediaType, digest: layerDigest, size: layer.length }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  });
  const current = await tagIndex(repository, subject.digest);
  const manifests = [...(current.index?.manifests ?? []), { mediaType: OCI_MANIFEST, digest: m.digest, size: m.size, artifactType }];
  await rawPutManifest(registry.url, repository, { schemaVersion: 2, mediaType: OCI_INDEX, manifests }, subject.digest.replace(':', '-'));
  return m.digest;
}

describe('docker-registry 2.8 (a real registry without the referrers API): the tag schema fallback', () => {
  it('has no referrers API', async () => {
    const { repository, subject } = await image();
    expect((await fetch(`${registry.url}/v2/${repository}/referrers/${subject.digest}`)).status).toBe(404);
  });

  it('attaches a statement to an image resolved from its tag, and discovers it byte for byte', async () => {
    const { repository, subject, sub } = await image();
    const s = await transparentStatement(sub);
    const { store, artifact } = await OciStatementStore.open(`oci://${registry.host}/${repository}:v1`);
    expect(artifact.sha256).toBe(subject.digest.slice(7));
    const stored = await store.attach(artifact, [statementItem(s.transparent)]);
    expect(stored).toEqual([expect.objectContaining({ kind: 'statement', status: 'created', digest: { sha256: sha256Hex(s.transparent) }, location: expect.stringMatching(new RegExp(`^oci://${registry.host}/${repository}@sha256:[0-9a-f]{64}$`)) })]);

    // the referrers tag index lists the artifact manifest, with its artifactType and annotations
    const { index } = await tagIndex(repository, subject.digest);
    expect(index!.manifests).toHaveLength(1);
    expect(index!.manifests[0]).toMatchObject({ mediaType: OCI_MANIFEST, artifactType: SCITT, digest: stored[0]!.location.split('@')[1] });
    expect(index!.manifests[0]!.annotations!['dev.scitt-actions.statement.digest']).toBe(`sha256:${sha256Hex(s.transparent)}`);

    // the artifact manifest itself: empty config, the statement layer, the image as subject
    const manifest = (await (await fetch(`${registry.url}/v2/${repository}/manifests/${index!.manifests[0]!.digest}`, { headers: { accept: OCI_MANIFEST } })).json()) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      mediaType: OCI_MANIFEST,
      artifactType: SCITT,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', size: 2 },
      layers: [{ mediaType: SCITT, digest: `sha256:${sha256Hex(s.transparent)}`, size: s.transparent.length }],
      subject,
    });

    const fresh = new OciStatementStore({ registry: registry.host, repository });
    const found = await fresh.discover(artifact);
    expect(found.statements.map((f) => hex(f.bytes))).toEqual([hex(s.transparent)]);
    expect(found.statements[0]!.source.location).toBe(stored[0]!.location);
    // referrers API (404), the tag index, one blob
    expect(found.requests).toBe(3);
    expect(found.skipped).toEqual([]);
  });

  it('does not duplicate a statement attached twice; merging receipts keeps one statement in discovery', async () => {
    const { repository, subject, sub, artifact } = await image();
    const store = new OciStatementStore({ registry: registry.host, repository });
    const s = await transparentStatement(sub);
    await store.attach(artifact, [statementItem(s.transparent)]);
    expect((await store.attach(artifact, [statementItem(s.transparent)]))[0]!.status).toBe('unchanged');
    expect((await tagIndex(repository, subject.digest)).index!.manifests).toHaveLength(1);

    const more = attachReceipts(s.signed, [await receiptFor(s.signed, 'https://ts2.example')]);
    expect((await store.attach(artifact, [statementItem(more)]))[0]!.status).toBe('updated');
    expect((await store.attach(artifact, [statementItem(s.transparent)]))[0]!.status).toBe('unchanged');
    const found = await store.discover(artifact);
    expect(found.statements).toHaveLength(1);
    expect(found.statements[0]!.statement.receipts).toHaveLength(2);
    expect(found.skipped.map((x) => x.code)).toEqual(['ERR_STORAGE_DUPLICATE']);
  });

  it('merges with what the tag index already lists, and skips referrers that are not SCITT statements', async () => {
    const { repository, subject, sub, artifact } = await image();
    const sig = await foreignReferrer(repository, subject, 'application/vnd.dev.cosign.artifact.sig.v1+json', new TextEncoder().encode('a signature'));
    const garbage = await foreignReferrer(repository, subject, SCITT, new TextEncoder().encode('not a COSE_Sign1'));
    const elsewhere = await transparentStatement(ociSub('app', sha256Hex('another image'), `${registry.host}/${repository}`));
    const otherSubject = await foreignReferrer(repository, subject, SCITT, elsewhere.transparent);

    const store = new OciStatementStore({ registry: registry.host, repository });
    const a = await transparentStatement(sub);
    const b = await transparentStatement(sub);
    await store.attach(artifact, [statementItem(a.transparent), statementItem(b.transparent)]);
    const listed = (await tagIndex(repository, subject.digest)).index!.manifests.map((m) => m.digest);
    expect(listed).toHaveLength(5);
    expect(listed.slice(0, 3)).toEqual([sig, garbage, otherSubject]);

    const found = await new OciStatementStore({ registry: registry.host, repository }).discover(artifact);
    expect(found.statements.map((f) => hex(f.bytes)).sort()).toEqual([hex(a.transparent), hex(b.transparent)].sort());
    expect(found.skipped.map((x) => [x.source.name, x.code]).sort()).toEqual(
      [
        [sig, 'ERR_STORAGE_NOT_STATEMENT'],
        [garbage, 'ERR_STORAGE_NOT_STATEMENT'],
        [otherSubject, 'ERR_STORAGE_SUBJECT'],
      ].sort(),
    );
  });

  it('carries Hash Envelope evidence as a second layer and returns it only when it matches', async () => {
    const { repository, sub, artifact } = await image();
    const store = new OciStatementStore({ registry: registry.host, repository });
    const s = await hashEnvelopeStatement(sub, SBOM, 'app.cdx.json');
    const stored = await store.attach(artifact, [statementItem(s.transparent), { name: 'app.cdx.json', bytes: SBOM, mediaType: 'application/vnd.cyclonedx+json' }]);
    expect(stored.map((o) => o.kind)).toEqual(['evidence', 'statement']);
    const found = await store.discover(artifact, { evidence: true });
    // not held: fetched (and checked against its digest) when asked for
    expect(found.statements[0]!.evidence?.bytes).toBeUndefined();
    expect(hex(await found.statements[0]!.evidence!.read())).toBe(hex(SBOM));
    expect(found.statements[0]!.evidence?.mediaType).toBe('application/vnd.cyclonedx+json');
  });

  it('refuses what it must not attach, and leaves a foreign tag at the referrers tag alone', async () => {
    const { repository, subject, sub, artifact } = await image();
    const store = new OciStatementStore({ registry: registry.host, repository });
    const other = await transparentStatement(ociSub('app', sha256Hex('another image'), `${registry.host}/${repository}`));
    expect(await code(store.attach(artifact, [statementItem(other.transparent)]))).toBe('ERR_STORAGE_SUBJECT');
    const s = await transparentStatement(sub);
    expect(await code(store.attach(artifact, [statementItem(s.signed)]))).toBe('ERR_STORAGE_NOT_TRANSPARENT');
    // a manifest that does not exist
    const missing = { name: artifact.name, sha256: sha256Hex('no such manifest') };
    const ghost = await transparentStatement(ociSub('app', missing.sha256, `${registry.host}/${repository}`));
    expect(await code(store.attach(missing, [statementItem(ghost.transparent)]))).toBe('ERR_STORAGE_NOT_FOUND');
    expect(await code(OciStatementStore.open(`${registry.host}/${repository}:no-such-tag`))).toBe('ERR_STORAGE_NOT_FOUND');
    // an image manifest sits where the referrers index would: not ours to replace
    await pushTestImage(registry.url, repository, subject.digest.replace(':', '-'));
    expect(await code(store.attach(artifact, [statementItem(s.transparent)]))).toBe('ERR_STORAGE_CONFLICT');
    expect(await code(store.discover(artifact))).toBe('ERR_STORAGE_CONFLICT');
  });
});

describe('the referrers API (distribution-spec 1.1), in front of the same registry', () => {
  it('lists pushed statements through the API: OCI-Subject on push, no tag index, one request plus one per statement', async () => {
    const { repository, subject, sub, artifact } = await image(proxy.host, proxy.url);
    const store = new OciStatementStore({ registry: proxy.host, repository });
    const statements = await Promise.all([1, 2, 3].map(() => transparentStatement(sub)));
    await store.attach(artifact, statements.map((s) => statementItem(s.transparent)));
    expect((await tagIndex(repository, subject.digest)).status).toBe(404);

    const from = proxy.log.length;
    const found = await new OciStatementStore({ registry: proxy.host, repository }).discover(artifact);
    expect(found.statements.map((f) => hex(f.bytes)).sort()).toEqual(statements.map((s) => hex(s.transparent)).sort());
    expect(found.requests).toBe(1 + 3);
    const listing = proxy.log.slice(from)[0]!;
    expect(listing.path).toBe(`/v2/${repository}/referrers/${subject.digest}?artifactType=${encodeURIComponent(SCITT)}`);
  });

  it('filters client-side when the registry does not apply the artifactType filter, and follows Link pages', async () => {
    const plain = await startReferrersProxy({ upstream: registry.url, filter: false, pageSize: 2 });
    try {
      const { repository, subject, sub, artifact } = await image(plain.host, plain.url);
      const store = new OciStatementStore({ registry: plain.host, repository });
      const statements = await Promise.all([1, 2, 3, 4].map(() => transparentStatement(sub)));
      await store.attach(artifact, statements.map((s) => statementItem(s.transparent)));
      // a non-SCITT referrer pushed through the API
      const empty = await rawPushBlob(plain.url, repository, new TextEncoder().encode('{}'));
      const sig = await rawPutManifest(plain.url, repository, {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/vnd.example.signature',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
        layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 }],
        subject,
      });
      expect(sig.response.headers.get('oci-subject')).toBe(subject.digest);
      const from = plain.log.length;
      const found = await new OciStatementStore({ registry: plain.host, repository }).discover(artifact);
      expect(found.statements).toHaveLength(4);
      expect(found.skipped).toEqual([expect.objectContaining({ code: 'ERR_STORAGE_NOT_STATEMENT', source: expect.objectContaining({ name: sig.digest }) })]);
      // five referrers in pages of two
      expect(plain.log.slice(from).filter((r) => r.path.includes('/referrers/')).length).toBe(3);
    } finally {
      await plain.close();
    }
  });

  it('reports a refusing or failing registry', async () => {
    const { repository, sub, artifact } = await image(proxy.host, proxy.url);
    const store = new OciStatementStore({ registry: proxy.host, repository });
    const s = await transparentStatement(sub);
    proxy.inject({ pathIncludes: '/referrers/', status: 401 });
    const unauthorized = (await store.discover(artifact).catch((e: unknown) => e)) as StorageError;
    expect(unauthorized.code).toBe('ERR_STORAGE_AUTH');
    expect(unauthorized.message).toMatch(/docker login/);
    proxy.inject({ pathIncludes: '/referrers/', status: 403 });
    expect(await code(store.discover(artifact))).toBe('ERR_STORAGE_AUTH');
    proxy.inject({ pathIncludes: '/referrers/', status: 503 });
    expect(await code(store.discover(artifact))).toBe('ERR_STORAGE_UNAVAILABLE');
    proxy.inject({ method: 'PUT', pathIncludes: '/manifests/', status: 500 });
    expect(await code(store.attach(artifact, [statementItem(s.transparent)]))).toBe('ERR_STORAGE_UNAVAILABLE');
    expect((await store.discover(artifact)).statements).toEqual([]);
  });

  it('leaves nothing attached when the connection drops during an upload', async () => {
    const { repository, sub, artifact } = await image(proxy.host, proxy.url);
    const store = new OciStatementStore({ registry: proxy.host, repository });
    const s = await transparentStatement(sub);
    proxy.inject({ method: 'PUT', pathIncludes: '/blobs/uploads/', drop: true });
    expect(await code(store.attach(artifact, [statementItem(s.transparent)]))).toBe('ERR_STORAGE_UNAVAILABLE');
    expect((await store.discover(artifact)).statements).toEqual([]);
    // a retry completes it
    expect((await store.attach(artifact, [statementItem(s.transparent)]))[0]!.status).toBe('created');
    expect((await store.discover(artifact)).statements).toHaveLength(1);
  });

  it('refuses an upload Location on another origin: nothing (and no credential) goes there', async () => {
    const storage = await startReferrersProxy({ upstream: registry.url });
    const front = await startReferrersProxy({ upstream: registry.url, uploadOrigin: storage.url });
    try {
      const { repository, sub, artifact } = await image(front.host, front.url);
      const s = await transparentStatement(sub);
      const from = front.log.length;
      const fromStorage = storage.log.length;
      const store = new OciStatementStore({ registry: front.host, repository, credentials: { registryToken: 'registry-secret' } });
      const e = (await store.attach(artifact, [statementItem(s.transparent)]).catch((err: unknown) => err)) as StorageError;
      expect(e.code).toBe('ERR_ORIGIN');
      expect(e.message).toContain(`points at ${storage.url}`);
      expect(storage.log.slice(fromStorage)).toEqual([]);
      expect(front.log.slice(from).every((r) => r.authorization === 'Bearer registry-secret')).toBe(true);
    } finally {
      await front.close();
      await storage.close();
    }
  });

  it('bounds what it reads from the registry', async () => {
    const { repository, sub, artifact } = await image(proxy.host, proxy.url);
    const s = await transparentStatement(sub);
    await new OciStatementStore({ registry: proxy.host, repository }).attach(artifact, [statementItem(s.transparent)]);
    const small = new OciStatementStore({ registry: proxy.host, repository, limits: { statementBytes: 64 } });
    const found = await small.discover(artifact);
    expect(found.statements).toEqual([]);
    expect(found.skipped.map((x) => x.code)).toEqual(['ERR_STORAGE_LIMIT']);
    const tiny = new OciStatementStore({ registry: proxy.host, repository, limits: { documentBytes: 16 } });
    expect(await code(tiny.discover(artifact))).toBe('ERR_STORAGE_LIMIT');
  });
});

describe('dedicated tag schema on a registry with the API', () => {
  it('reads what an older client listed under the tag when told to use the tag schema only', async () => {
    const { repository, sub, artifact } = await image();
    const s = await transparentStatement(sub);
    await new OciStatementStore({ registry: registry.host, repository }).attach(artifact, [statementItem(s.transparent)]);
    const dir = await mkdtemp(join(tmpdir(), 'scitt-oci-'));
    const tagOnly = new OciStatementStore({ registry: registry.host, repository, tagSchemaOnly: true, dockerConfigDir: dir });
    const found = await tagOnly.discover(artifact);
    expect(found.statements).toHaveLength(1);
    expect(found.requests).toBe(2);
  });
});
