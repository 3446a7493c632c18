import { mkdir, mkdtemp, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { StorageError } from '../src/errors.ts';
import { attachReceipts } from '../src/receipt/transparent.ts';
import { parseSignedStatement } from '../src/statement/signed-statement.ts';
import { FileStatementStore } from '../src/storage/files.ts';
import { statementId } from '../src/storage/statements.ts';
import { genericSub, hashEnvelopeStatement, hex, receiptFor, sha256Hex, statementItem, transparentStatement } from './helpers/storage-statements.ts';

const ARTIFACT_BYTES = new TextEncoder().encode('the release tarball');
const artifact = { name: 'app-1.0.tgz', sha256: sha256Hex(ARTIFACT_BYTES) };
const SBOM = new TextEncoder().encode('{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}');

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(StorageError);
    return (e as StorageError).code;
  }
  throw new Error('expected a StorageError, nothing was thrown');
}

let dir: string;
let store: FileStatementStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scitt-files-'));
  await writeFile(join(dir, artifact.name), ARTIFACT_BYTES);
  store = new FileStatementStore({ directory: dir });
});

describe('files beside the artifact', () => {
  it('writes <artifact>.scitt and discovers it byte for byte', async () => {
    const s = await transparentStatement(genericSub(artifact.name, artifact.sha256));
    const stored = await store.attach(artifact, [statementItem(s.transparent)]);
    expect(stored).toEqual([
      expect.objectContaining({ kind: 'statement', name: 'app-1.0.tgz.in-toto.scitt', status: 'created', digest: { sha256: sha256Hex(s.transparent) }, mediaType: 'application/scitt-statement+cose' }),
    ]);
    expect(stored[0]!.location).toBe(`file://${join(dir, 'app-1.0.tgz.in-toto.scitt')}`);
    expect(hex(await readFile(join(dir, 'app-1.0.tgz.in-toto.scitt')))).toBe(hex(s.transparent));

    const found = await store.discover(artifact);
    expect(found.statements).toHaveLength(1);
    expect(hex(found.statements[0]!.bytes)).toBe(hex(s.transparent));
    expect(found.statements[0]!.statement.sub).toBe(genericSub(artifact.name, artifact.sha256));
    expect(found.statements[0]!.source).toMatchObject({ store: 'files', name: 'app-1.0.tgz.in-toto.scitt' });
    expect(found.skipped).toEqual([]);
  });

  it('does not duplicate a statement attached twice, and merges receipts of the same signed statement', async () => {
    const s = await transparentStatement(genericSub(artifact.name, artifact.sha256));
    await store.attach(artifact, [statementItem(s.transparent)]);
    const again = await store.attach(artifact, [statementItem(s.transparent)]);
    expect(again[0]!.status).toBe('unchanged');
    expect((await readdir(dir)).sort()).toEqual(['app-1.0.tgz', 'app-1.0.tgz.in-toto.scitt']);

    // the same signed statement with a receipt from a second service: receipts are merged in place
    const second = attachReceipts(s.signed, [await receiptFor(s.signed, 'https://ts2.example')]);
    const merged = await store.attach(artifact, [statementItem(second)]);
    expect(merged[0]).toMatchObject({ status: 'updated', name: 'app-1.0.tgz.in-toto.scitt' });
    expect((await readdir(dir)).sort()).toEqual(['app-1.0.tgz', 'app-1.0.tgz.in-toto.scitt']);
    const onDisk = parseSignedStatement(new Uint8Array(await readFile(join(dir, 'app-1.0.tgz.in-toto.scitt'))));
    expect(onDisk.receipts).toHaveLength(2);
    expect((await store.discover(artifact)).statements).toHaveLength(1);
  });

  it('gives further statements content-derived names and discovers them all', async () => {
    const a = await transparentStatement(genericSub(artifact.name, artifact.sha256));
    const b = await transparentStatement(genericSub(artifact.name, artifact.sha256));
    const stored = await store.attach(artifact, [statementItem(a.transparent), statementItem(b.transparent)]);
    const idB = statementId(parseSignedStatement(b.transparent));
    expect(stored.map((o) => o.name)).toEqual(['app-1.0.tgz.in-toto.scitt', `app-1.0.tgz.in-toto.${idB.slice(0, 12)}.scitt`]);
    const found = await store.discover(artifact);
    expect(found.statements.map((f) => hex(f.bytes)).sort()).toEqual([hex(a.transparent), hex(b.transparent)].sort());
    // attaching both again in the other order changes nothing
    const again = await store.attach(artifact, [statementItem(b.transparent), statementItem(a.transparent)]);
    expect(again.map((o) => o.status)).toEqual(['unchanged', 'unchanged']);
    expect(await readdir(dir)).toHaveLength(3);
  });

  it('discovers only statements about the artifact; other objects are skipped with a note', async () => {
    const mine = await transparentStatement(genericSub(artifact.name, artifact.sha256));
    const other = await transparentStatement(genericSub(artifact.name, sha256Hex('another build')));
    await store.attach(artifact, [statementItem(mine.transparent)]);
    // a statement about other bytes under a matching name, and bytes that are no statement at all
    await writeFile(join(dir, `app-1.0.tgz.${'0'.repeat(16)}.scitt`), other.transparent);
    await writeFile(join(dir, `app-1.0.tgz.${'1'.repeat(16)}.scitt`), 'not cbor at all');
    await writeFile(join(dir, `app-1.0.tgz.${'2'.repeat(16)}.scitt`), mine.signed); // no receipts
    const found = await store.discover(artifact);
    expect(found.statements.map((s) => hex(s.bytes))).toEqual([hex(mine.transparent)]);
    expect(found.skipped.map((s) => [s.source.name.slice(-22), s.code]).sort()).toEqual([
      [`${'0'.repeat(16)}.scitt`, 'ERR_STORAGE_SUBJECT'],
      [`${'1'.repeat(16)}.scitt`, 'ERR_STORAGE_NOT_STATEMENT'],
      [`${'2'.repeat(16)}.scitt`, 'ERR_STORAGE_NOT_TRANSPARENT'],
    ]);
  });

  it('refuses statements that are not about the artifact, not transparent, or not statements', async () => {
    const other = await transparentStatement(genericSub(artifact.name, sha256Hex('another build')));
    expect(await code(store.attach(artifact, [statementItem(other.transparent)]))).toBe('ERR_STORAGE_SUBJECT');
    const mine = await transparentStatement(genericSub(artifact.name, artifact.sha256));
    expect(await code(store.attach(artifact, [statementItem(mine.signed)]))).toBe('ERR_STORAGE_NOT_TRANSPARENT');
    expect(await code(store.attach(artifact, [statementItem(SBOM)]))).toBe('ERR_STORAGE_NOT_STATEMENT');
    expect(await readdir(dir)).toEqual(['app-1.0.tgz']);
  });

  it('refuses to attach beside a file that is not the artifact the statement names', async () => {
    await writeFile(join(dir, artifact.name), 'tampered');
    const s = await transparentStatement(genericSub(artifact.name, artifact.sha256));
    expect(await code(store.attach(artifact, [statementItem(s.transparent)]))).toBe('ERR_STORAGE_SUBJECT');
  });

  it('writes Hash Envelope evidence at its relative payload-location and reads it back checked', async () => {
    const s = await hashEnvelopeStatement(genericSub(artifact.name, artifact.sha256), SBOM, 'sboms/app-1.0.cdx.json');
    const stored = await store.attach(artifact, [statementItem(s.transparent), { name: 'app-1.0.cdx.json', bytes: SBOM, mediaType: 'application/vnd.cyclonedx+json' }]);
    expect(stored.map((o) => [o.kind, o.name, o.status])).toEqual([
      ['evidence', 'sboms/app-1.0.cdx.json', 'created'],
      ['statement', 'app-1.0.tgz.sbom.scitt', 'created'],
    ]);
    expect(hex(await readFile(join(dir, 'sboms', 'app-1.0.cdx.json')))).toBe(hex(SBOM));
    const found = await store.discover(artifact, { evidence: true });
    expect(hex(await found.statements[0]!.evidence!.read())).toBe(hex(SBOM));
    expect(found.statements[0]!.evidence?.mediaType).toBe('application/vnd.cyclonedx+json');
    // without the option, evidence is not read
    expect((await store.discover(artifact)).statements[0]!.evidence).toBeUndefined();

    // evidence changed after the fact is not returned as evidence
    await writeFile(join(dir, 'sboms', 'app-1.0.cdx.json'), '{"tampered":true}');
    const tampered = await store.discover(artifact, { evidence: true });
    expect(tampered.statements[0]!.evidence).toBeUndefined();
    expect(tampered.skipped.map((s) => s.code)).toEqual(['ERR_STORAGE_EVIDENCE']);
    // and is not overwritten by attaching again
    expect(await code(store.attach(artifact, [statementItem(s.transparent), { name: 'x', bytes: SBOM, mediaType: 'application/json' }]))).toBe('ERR_STORAGE_CONFLICT');
  });

  it('stores evidence named by an absolute URL beside the artifact, under its last path segment', async () => {
    const s = await hashEnvelopeStatement(genericSub(artifact.name, artifact.sha256), SBOM, 'https://github.com/o/r/releases/download/v1/app%201.0.cdx.json');
    await store.attach(artifact, [statementItem(s.transparent), { name: 'whatever', bytes: SBOM, mediaType: 'application/json' }]);
    expect(hex(await readFile(join(dir, 'app 1.0.cdx.json')))).toBe(hex(SBOM));
  });

  it('refuses evidence locations that leave the directory, and writes nothing then', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'scitt-outside-'));
    await symlink(outside, join(dir, 'link'));
    for (const location of ['../escape.json', '/etc/escape.json', 'a/../../escape.json', 'file:///tmp/escape.json', 'link/escape.json', 'a\\..\\escape.json', './x.json']) {
      const s = await hashEnvelopeStatement(genericSub(artifact.name, artifact.sha256), SBOM, location);
      expect(await code(store.attach(artifact, [statementItem(s.transparent), { name: 'sbom.json', bytes: SBOM, mediaType: 'application/json' }]))).toBe('ERR_STORAGE_PATH');
    }
    expect((await readdir(dir)).sort()).toEqual(['app-1.0.tgz', 'link']);
    expect(await readdir(outside)).toEqual([]);
  });

  it('accepts a symlinked directory that stays inside', async () => {
    await mkdir(join(dir, 'real'));
    await symlink(join(dir, 'real'), join(dir, 'inside'));
    const s = await hashEnvelopeStatement(genericSub(artifact.name, artifact.sha256), SBOM, 'inside/sbom.json');
    await store.attach(artifact, [statementItem(s.transparent), { name: 'sbom.json', bytes: SBOM, mediaType: 'application/json' }]);
    expect(hex(await readFile(join(dir, 'real', 'sbom.json')))).toBe(hex(SBOM));
  });

  it('refuses evidence that no statement vouches for', async () => {
    const s = await hashEnvelopeStatement(genericSub(artifact.name, artifact.sha256), SBOM, 'sbom.json');
    expect(await code(store.attach(artifact, [statementItem(s.transparent), { name: 'sbom.json', bytes: new TextEncoder().encode('other'), mediaType: 'application/json' }]))).toBe(
      'ERR_STORAGE_EVIDENCE',
    );
    expect(await readdir(dir)).toEqual(['app-1.0.tgz']);
  });

  it('never follows or replaces a symlinked statement file', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'scitt-outside-'));
    await writeFile(join(outside, 'victim'), 'keep me');
    await symlink(join(outside, 'victim'), join(dir, 'app-1.0.tgz.in-toto.scitt'));
    const s = await transparentStatement(genericSub(artifact.name, artifact.sha256));
    const stored = await store.attach(artifact, [statementItem(s.transparent)]);
    expect(stored[0]!.name).toMatch(/^app-1\.0\.tgz\.in-toto\.[0-9a-f]{12}\.scitt$/);
    expect(await readFile(join(outside, 'victim'), 'utf8')).toBe('keep me');
    const found = await store.discover(artifact);
    expect(found.statements.map((f) => hex(f.bytes))).toEqual([hex(s.transparent)]);
    expect(found.skipped.map((f) => f.code)).toEqual(['ERR_STORAGE_PATH']);
  });

  it('bounds what it reads', async () => {
    const small = new FileStatementStore({ directory: dir, limits: { statementBytes: 100 } });
    await writeFile(join(dir, 'app-1.0.tgz.in-toto.scitt'), new Uint8Array(101));
    const found = await small.discover(artifact);
    expect(found.statements).toEqual([]);
    expect(found.skipped.map((s) => s.code)).toEqual(['ERR_STORAGE_LIMIT']);
  });

  it('says when the directory does not exist', async () => {
    const missing = new FileStatementStore({ directory: join(dir, 'nope') });
    expect(await code(missing.discover(artifact))).toBe('ERR_STORAGE_NOT_FOUND');
  });
});
