/**
 * Files beside the artifact: `<artifact>.scitt` (and `<artifact>.<id16>.scitt` for further
 * statements, naming.ts) in the artifact's directory; the evidence of a Hash Envelope statement at
 * the relative location its payload-location names, resolved against the artifact's directory (an
 * absolute URL stands for its last path segment, beside the artifact). A consumer who downloads the
 * directory — or just the artifact and its `.scitt` files — has everything to verify offline.
 */
import { createHash } from 'node:crypto';
import { lstat, readFile, readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ErrorCode, StorageError } from '../errors.ts';
import { hashAlgorithm } from '../statement/profile.ts';
import { checkArtifact, sha256File } from './artifact.ts';
import { assertPlainName, isStatementNameFor } from './naming.ts';
import { type ExistingObject, placeStatements } from './plan.ts';
import { createFile, locationSegments, replaceFile, resolveInside } from './safe-path.ts';
import { type PreparedStatement, STATEMENT_MEDIA_TYPE, dedupeStatements, examineStatement, prepareItems, sha256Hex } from './statements.ts';
import {
  type ArtifactRef,
  type DiscoverOptions,
  type DiscoveredStatement,
  type DiscoveryResult,
  type SkippedObject,
  type StatementStore,
  type StorageItem,
  type StorageLimits,
  type StoredObject,
  storageLimits,
} from './types.ts';

export interface FileStoreOptions {
  /** the directory that holds (or will hold) the artifact */
  directory: string;
  limits?: Partial<StorageLimits>;
}

/** The evidence path segments of a statement: its payload-location, or the evidence's own name when it has none. */
function evidenceSegments(s: PreparedStatement): string[] {
  const location = s.statement.hashEnvelope?.location;
  return location !== undefined ? locationSegments(location) : [assertPlainName(s.evidence!.name, 'evidence name')];
}

export class FileStatementStore implements StatementStore {
  readonly kind = 'files' as const;
  readonly description: string;
  readonly #directory: string;
  readonly #limits: StorageLimits;

  constructor(options: FileStoreOptions) {
    this.#directory = options.directory;
    this.#limits = storageLimits(options.limits);
    this.description = options.directory;
  }

  async #base(): Promise<string> {
    try {
      return await realpath(this.#directory);
    } catch (cause) {
      throw new StorageError('ERR_STORAGE_NOT_FOUND', `directory ${this.#directory} does not exist; create it or point at the artifact's directory`, { cause });
    }
  }

  /** The artifact's statement files: name → bytes (undefined when unreadable or too large: never replaced). */
  async #existing(base: string, artifactName: string): Promise<{ objects: ExistingObject[]; skipped: SkippedObject[] }> {
    const objects: ExistingObject[] = [];
    const skipped: SkippedObject[] = [];
    const names = (await readdir(base)).filter((n) => isStatementNameFor(artifactName, n)).sort();
    for (const name of names) {
      const path = join(base, name);
      const source = { store: this.kind, location: pathToFileURL(path).href, name };
      const st = await lstat(path);
      if (!st.isFile()) {
        objects.push({ name });
        skipped.push({ source, code: 'ERR_STORAGE_PATH', reason: st.isSymbolicLink() ? 'a symlink; statement files are read only when they are regular files' : 'not a regular file' });
      } else if (st.size > this.#limits.statementBytes) {
        objects.push({ name });
        skipped.push({ source, code: 'ERR_STORAGE_LIMIT', reason: `${st.size} bytes exceed the ${this.#limits.statementBytes}-byte statement limit` });
      } else {
        objects.push({ name, bytes: new Uint8Array(await readFile(path)) });
      }
    }
    return { objects, skipped };
  }

  async attach(artifactRef: ArtifactRef, items: readonly StorageItem[]): Promise<StoredObject[]> {
    const artifact = checkArtifact(artifactRef);
    assertPlainName(artifact.name, 'artifact name');
    const prepared = prepareItems(artifact, items, this.#limits);
    const base = await this.#base();

    // the file beside, when it is there, must be the artifact the statements are about
    const artifactPath = join(base, artifact.name);
    if (await lstat(artifactPath).then((s) => s.isFile(), () => false)) {
      const actual = await sha256File(artifactPath);
      if (actual !== artifact.sha256) {
        throw new StorageError('ERR_STORAGE_SUBJECT', `${artifactPath} has sha256 ${actual}, but the statements are about sha256:${artifact.sha256}; attach them beside the artifact they name`);
      }
    }

    // plan everything before writing anything: a refused path leaves no partial attachment
    const { objects } = await this.#existing(base, artifact.name);
    const placements = placeStatements(artifact.name, prepared, objects);
    const evidencePlans = await Promise.all(
      prepared.map(async (s) => {
        if (!s.evidence) return undefined;
        const segments = evidenceSegments(s);
        const path = (await resolveInside(base, segments, false)) ?? join(base, ...segments);
        let existing: Uint8Array | undefined;
        if (await lstat(path).then(() => true, () => false)) {
          existing = new Uint8Array(await readFile(path));
          if (sha256Hex(existing) !== s.evidence.sha256) {
            throw new StorageError('ERR_STORAGE_CONFLICT', `${path} exists and is not the evidence this statement names (its digest differs); it is not overwritten`);
          }
        }
        return { s, segments, exists: existing !== undefined };
      }),
    );

    const out: StoredObject[] = [];
    // evidence first: a statement never points at evidence that is not there yet
    for (const plan of evidencePlans) {
      if (!plan) continue;
      const ev = plan.s.evidence!;
      const path = (await resolveInside(base, plan.segments, true))!;
      if (!plan.exists) await createFile(path, ev.bytes);
      out.push({ kind: 'evidence', name: plan.segments.join('/'), digest: { sha256: ev.sha256 }, mediaType: ev.mediaType, location: pathToFileURL(path).href, status: plan.exists ? 'unchanged' : 'created' });
    }
    for (const p of placements) {
      const path = join(base, p.name);
      if (p.action === 'create') await createFile(path, p.bytes);
      else if (p.action === 'update') await replaceFile(path, p.bytes);
      out.push({
        kind: 'statement',
        name: p.name,
        digest: { sha256: sha256Hex(p.bytes) },
        mediaType: STATEMENT_MEDIA_TYPE,
        location: pathToFileURL(path).href,
        status: p.action === 'create' ? 'created' : p.action === 'update' ? 'updated' : 'unchanged',
      });
    }
    return out;
  }

  async discover(artifactRef: ArtifactRef, options: DiscoverOptions = {}): Promise<DiscoveryResult> {
    const artifact = checkArtifact(artifactRef);
    assertPlainName(artifact.name, 'artifact name');
    const base = await this.#base();
    const { objects, skipped } = await this.#existing(base, artifact.name);
    if (objects.length > this.#limits.statements) {
      throw new StorageError('ERR_STORAGE_LIMIT', `${objects.length} statement files for ${artifact.name}; at most ${this.#limits.statements} are read`);
    }
    const found: DiscoveredStatement[] = [];
    for (const o of objects) {
      if (!o.bytes) continue;
      const source = { store: this.kind, location: pathToFileURL(join(base, o.name)).href, name: o.name };
      const r = examineStatement(o.bytes, artifact, source, this.#limits);
      if (r.statement) found.push(r.statement);
      if (r.skipped) skipped.push(r.skipped);
    }
    const deduped = dedupeStatements(found);
    skipped.push(...deduped.skipped);
    const statements = options.evidence ? await Promise.all(deduped.statements.map((s) => this.#withEvidence(base, s, skipped))) : deduped.statements;
    return { artifact, statements, skipped, requests: 0 };
  }

  async #withEvidence(base: string, s: DiscoveredStatement, skipped: SkippedObject[]): Promise<DiscoveredStatement> {
    const he = s.statement.hashEnvelope;
    const h = he && hashAlgorithm(he.hashAlg);
    if (!he || !h || he.location === undefined || he.digest.length === 0) return s;
    const note = (code: ErrorCode, reason: string, location = he.location!) => {
      skipped.push({ source: { store: this.kind, location, name: he.location! }, code, reason });
      return s;
    };
    let path: string | undefined;
    try {
      path = await resolveInside(base, locationSegments(he.location), false);
    } catch (e) {
      return note('ERR_STORAGE_PATH', `evidence of ${s.source.name} not read: ${(e as Error).message}`);
    }
    const st = path ? await lstat(path).catch(() => undefined) : undefined;
    if (!path || !st) return note('ERR_STORAGE_NOT_FOUND', `evidence of ${s.source.name} is not in ${base}`);
    const location = pathToFileURL(path).href;
    if (st.size > this.#limits.evidenceBytes) return note('ERR_STORAGE_LIMIT', `${st.size} bytes exceed the ${this.#limits.evidenceBytes}-byte evidence limit`, location);
    const bytes = new Uint8Array(await readFile(path));
    if (!createHash(h.node).update(bytes).digest().equals(he.digest)) {
      return note('ERR_STORAGE_EVIDENCE', `does not hash to the payload of ${s.source.name}: not the evidence the statement names`, location);
    }
    const mediaType = typeof he.preimageContentType === 'string' ? he.preimageContentType : undefined;
    return { ...s, evidence: { bytes, ...(mediaType ? { mediaType } : {}), source: { store: this.kind, location, name: he.location } } };
  }
}
