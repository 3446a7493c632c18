/**
 * Files beside the artifact: `<artifact>.scitt` (and `<artifact>.<id16>.scitt` for further
 * statements, naming.ts) in the artifact's directory; the evidence of a Hash Envelope statement at
 * the relative location its payload-location names, resolved against the artifact's directory (an
 * absolute URL stands for its last path segment, beside the artifact). A consumer who downloads the
 * directory — or just the artifact and its `.scitt` files — has everything to verify offline.
 */
import { createHash } from 'node:crypto';
import { type Stats, lstatSync } from 'node:fs';
import { lstat, readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ErrorCode, StorageError } from '../errors.ts';
import { hashAlgorithm } from '../statement/profile.ts';
import { parseSignedStatement } from '../statement/signed-statement.ts';
import { checkArtifact, sha256File } from './artifact.ts';
import { assertPlainName, isStatementNameFor } from './naming.ts';
import { type ExistingObject, placeStatements } from './plan.ts';
import { hashRegular, readRegular, readRegularSync } from './local-read.ts';
import { createFile, locationSegments, replaceFile, resolveInside } from './safe-path.ts';
import { DiscoveryBudget, type PreparedStatement, STATEMENT_MEDIA_TYPE, dedupeStatements, examineStatement, prepareItems, sha256Hex } from './statements.ts';
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
  /**
   * list the directory once, at the first discovery, and look every later artifact up in that
   * listing: for one gate over many artifacts in one directory, which otherwise lists it once per
   * artifact (1,000 artifacts with 2 statements each: a million names read). Files are still read,
   * checked and verified one by one; only the set of names is a snapshot.
   */
  listOnce?: boolean;
}

/** The evidence path segments of a statement: its payload-location, or the evidence's own name when it has none. */
function evidenceSegments(s: PreparedStatement): string[] {
  const location = s.statement.hashEnvelope?.location;
  return location !== undefined ? locationSegments(location) : [assertPlainName(s.evidence!.name, 'evidence name')];
}

/** Statements up to this size are copied out of the scratch buffer before they are screened (one parse instead of two). */
const SMALL_STATEMENT_BYTES = 64 * 1024;

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

export class FileStatementStore implements StatementStore {
  readonly kind = 'files' as const;
  readonly description: string;
  readonly #directory: string;
  readonly #limits: StorageLimits;
  readonly #listOnce: boolean;
  /** with listOnce: the resolved directory and its names, sorted */
  #listing: Promise<{ base: string; names: string[] }> | undefined;
  /** the buffer discovery screens each file in, kept from one discovery to the next */
  #scratch: Buffer | undefined;

  constructor(options: FileStoreOptions) {
    this.#directory = options.directory;
    this.#limits = storageLimits(options.limits);
    this.#listOnce = options.listOnce === true;
    this.description = options.directory;
  }

  async #base(): Promise<string> {
    if (this.#listOnce) return (await this.#listed()).base;
    try {
      return await realpath(this.#directory);
    } catch (cause) {
      throw new StorageError('ERR_STORAGE_NOT_FOUND', `directory ${this.#directory} does not exist; create it or point at the artifact's directory`, { cause });
    }
  }

  #listed(): Promise<{ base: string; names: string[] }> {
    this.#listing ??= (async () => {
      let base: string;
      try {
        base = await realpath(this.#directory);
      } catch (cause) {
        throw new StorageError('ERR_STORAGE_NOT_FOUND', `directory ${this.#directory} does not exist; create it or point at the artifact's directory`, { cause });
      }
      return { base, names: (await readdir(base)).sort() };
    })();
    return this.#listing;
  }

  /** The names of `base` that begin with `prefix`, sorted: a listing read once is searched, not scanned. */
  async #candidates(base: string, prefix: string): Promise<string[]> {
    if (!this.#listOnce) return (await readdir(base)).sort();
    const { names } = await this.#listed();
    let lo = 0;
    let hi = names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (names[mid]! < prefix) lo = mid + 1;
      else hi = mid;
    }
    let end = lo;
    while (end < names.length && names[end]!.startsWith(prefix)) end++;
    return names.slice(lo, end);
  }

  /** The artifact's statement names, before any is read; too many is refused outright. */
  async #names(base: string, artifactName: string): Promise<string[]> {
    // every statement name of the artifact begins with `<artifact>.` (naming.ts)
    const names = (await this.#candidates(base, `${artifactName}.`)).filter((n) => isStatementNameFor(artifactName, n));
    if (names.length > this.#limits.statements) {
      throw new StorageError('ERR_STORAGE_LIMIT', `${names.length} statement files for ${artifactName}; at most ${this.#limits.statements} are read`);
    }
    return names;
  }

  /**
   * The artifact's statement files: name → bytes (undefined when unreadable, too large or past the
   * budget: never replaced). Read one at a time, each no larger than the statement limit, without
   * following symlinks or blocking on special files. With `keep` (discovery), each file is read into
   * one scratch buffer and `keep` screens it at once, copying what it keeps: what is not a statement
   * about the artifact never takes memory of its own, and what is kept is reserved against the budget.
   */
  async #existing(base: string, artifactName: string, budget?: DiscoveryBudget, keep?: (name: string, view: Uint8Array) => boolean): Promise<{ objects: ExistingObject[]; skipped: SkippedObject[] }> {
    const objects: ExistingObject[] = [];
    const skipped: SkippedObject[] = [];
    for (const name of await this.#names(base, artifactName)) {
      const path = join(base, name);
      const source = { store: this.kind, location: pathToFileURL(path).href, name };
      // synchronous: small local files one after another, where a thread-pool round trip per call costs more than the call
      const st = lstatOrUndefined(path);
      if (!st?.isFile()) {
        objects.push({ name });
        skipped.push({ source, code: 'ERR_STORAGE_PATH', reason: st?.isSymbolicLink() ? 'a symlink; statement files are read only when they are regular files' : 'not a regular file' });
        continue;
      }
      if (st.size > this.#limits.statementBytes) {
        objects.push({ name });
        skipped.push({ source, code: 'ERR_STORAGE_LIMIT', reason: `${st.size} bytes exceed the ${this.#limits.statementBytes}-byte statement limit` });
        continue;
      }
      if (budget && !budget.reserve(st.size)) {
        objects.push({ name });
        skipped.push({ source, ...budget.refusal(st.size) });
        continue;
      }
      let bytes: Uint8Array;
      try {
        if (keep && (this.#scratch?.length ?? 0) <= st.size) this.#scratch = Buffer.allocUnsafe(Math.min(this.#limits.statementBytes, Math.max(st.size, 1024 * 1024)) + 1);
        bytes = readRegularSync(path, { what: 'statement', maxBytes: Math.min(st.size, this.#limits.statementBytes) }, keep ? this.#scratch : undefined);
      } catch (e) {
        budget?.release(st.size);
        if (!(e instanceof StorageError)) throw e;
        objects.push({ name });
        skipped.push({ source, code: e.code, reason: e.message });
        continue;
      }
      if (keep) {
        if (!keep(name, bytes)) budget?.release(st.size);
        objects.push({ name });
        continue;
      }
      objects.push({ name, bytes });
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
        let exists = false;
        if (await lstat(path).then(() => true, () => false)) {
          // hashed as a stream: a file already there is compared, never held
          const there = await hashRegular(path, 'sha256', { what: 'evidence', maxBytes: this.#limits.evidenceBytes });
          if (there.digest.toString('hex') !== s.evidence.sha256) {
            throw new StorageError('ERR_STORAGE_CONFLICT', `${path} exists and is not the evidence this statement names (its digest differs); it is not overwritten`);
          }
          exists = true;
        }
        return { s, segments, exists };
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
    const budget = new DiscoveryBudget(this.#limits);
    let found: DiscoveredStatement[] = [];
    const examined: SkippedObject[] = [];
    const seen = new Map<string, DiscoveredStatement>();
    // each file is screened as soon as it is read: only statements about the artifact stay held, and
    // a byte-identical copy of one already held (a hard link, a copy) is dropped at once
    const { skipped } = await this.#existing(base, artifact.name, budget, (name, view) => {
      const source = { store: this.kind, location: pathToFileURL(join(base, name)).href, name };
      // a small file is copied at once and parsed once (the copy is garbage at once if it is not kept);
      // a large one is screened in the scratch buffer and copied only if kept
      const small = view.length <= SMALL_STATEMENT_BYTES;
      const screened = small ? view.slice() : view;
      const r = examineStatement(screened, artifact, source, this.#limits);
      if (r.skipped) examined.push(r.skipped);
      if (!r.statement) return false;
      const key = `${r.statement.id}:${sha256Hex(view)}`;
      const twin = seen.get(key);
      if (twin) {
        examined.push({ source, code: 'ERR_STORAGE_DUPLICATE', reason: `the same bytes as ${twin.source.location}` });
        return false;
      }
      // kept: its own copy, parsed again so nothing refers to the scratch buffer
      const bytes = small ? screened : view.slice();
      const own: DiscoveredStatement = small ? r.statement : { ...r.statement, bytes, statement: parseSignedStatement(bytes) };
      seen.set(key, own);
      found.push(own);
      return true;
    });
    seen.clear();
    skipped.push(...examined);
    const deduped = dedupeStatements(found);
    skipped.push(...deduped.skipped);
    for (const d of deduped.skipped) budget.release(found.find((f) => f.source === d.source)?.bytes.length ?? 0);
    found = []; // what dedupe dropped is released from the budget: let it go from memory too
    if (!options.evidence) return { artifact, statements: deduped.statements, skipped, requests: 0 };
    // one at a time: each evidence file is hashed as a stream once whatever the number of statements naming it, and not held
    const evidence = new EvidenceReader(base, this.#limits.evidenceBytes);
    const statements: DiscoveredStatement[] = [];
    for (const s of deduped.statements) statements.push(await this.#withEvidence(base, s, skipped, evidence));
    return { artifact, statements, skipped, requests: 0 };
  }

  async #withEvidence(base: string, s: DiscoveredStatement, skipped: SkippedObject[], evidence: EvidenceReader): Promise<DiscoveredStatement> {
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
    const checked = await evidence.check(path, h.node, he.digest);
    if (checked) return note(checked.code, checked.code === 'ERR_STORAGE_EVIDENCE' ? `does not hash to the payload of ${s.source.name}: not the evidence the statement names` : `evidence of ${s.source.name} not read: ${checked.reason}`, location);
    const read = () => evidence.read(path, h.node, he.digest);
    const mediaType = typeof he.preimageContentType === 'string' ? he.preimageContentType : undefined;
    return { ...s, evidence: { read, ...(mediaType ? { mediaType } : {}), source: { store: this.kind, location, name: he.location } } };
  }
}

/**
 * Evidence files of one discovery: each is hashed as a stream (STREAM_CHUNK_BYTES at a time), once
 * per file and algorithm however many statements name it, and nothing is held: the bytes are read
 * only when asked for (the gate asks once a statement has verified), and checked again then.
 */
class EvidenceReader {
  readonly #digests = new Map<string, Buffer>();
  readonly #base: string;
  readonly #maxBytes: number;

  constructor(base: string, maxBytes: number) {
    this.#base = base;
    this.#maxBytes = maxBytes;
  }

  /** undefined when the file hashes to `expected`; otherwise why not */
  async check(path: string, algorithm: string, expected: Uint8Array): Promise<{ code: ErrorCode; reason: string } | undefined> {
    try {
      const st = await lstat(path);
      const fileKey = `${algorithm}:${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
      let digest = this.#digests.get(fileKey);
      if (!digest) {
        digest = (await hashRegular(path, algorithm, { what: 'evidence', maxBytes: this.#maxBytes })).digest;
        this.#digests.set(fileKey, digest);
      }
      return digest.equals(expected) ? undefined : { code: 'ERR_STORAGE_EVIDENCE', reason: 'digest differs' };
    } catch (e) {
      if (e instanceof StorageError) return { code: e.code, reason: e.message };
      return { code: 'ERR_IO', reason: `cannot read evidence ${path} in ${this.#base}: ${(e as Error).message}` };
    }
  }

  /** The bytes, read with the cap and checked against `expected` again: the file may have changed since discovery. */
  async read(path: string, algorithm: string, expected: Uint8Array): Promise<Uint8Array> {
    const bytes = await readRegular(path, { what: 'evidence', maxBytes: this.#maxBytes });
    if (!createHash(algorithm).update(bytes).digest().equals(expected)) {
      throw new StorageError('ERR_STORAGE_EVIDENCE', `evidence ${path} changed after discovery: it no longer hashes to the statement's payload`);
    }
    return bytes;
  }
}
