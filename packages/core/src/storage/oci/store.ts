/**
 * OCI referrers: each Transparent Statement is an OCI artifact whose `subject` is the image
 * manifest it is about (distribution-spec 1.1, image-spec 1.1 "artifacts guidance"):
 *
 *   { schemaVersion: 2, mediaType: application/vnd.oci.image.manifest.v1+json,
 *     artifactType: application/scitt-statement+cose,
 *     config: the empty descriptor (application/vnd.oci.empty.v1+json, `{}`),
 *     layers: [ the statement (application/scitt-statement+cose),
 *               for a Hash Envelope given with its evidence: the evidence (its media type) ],
 *     subject: the image manifest's descriptor,
 *     annotations: { statement blob digest, statement id } }
 *
 * The manifest is deterministic (no timestamps), so pushing a statement twice is idempotent. When
 * the registry answers the push with `OCI-Subject`, its referrers API lists the artifact; otherwise
 * the client maintains the Referrers Tag Schema index (`sha256-<hex>`), merging with what is there.
 *
 * Discovery asks the referrers API (filtered by artifactType) and falls back to the tag schema on
 * 404, then fetches each statement blob — named in the list's annotations, so one request per
 * statement — by digest; referrers pushed by other tools without the annotations cost one manifest
 * fetch more. Everything fetched is checked like any other stored object (statements.ts).
 */
import { createHash } from 'node:crypto';
import { type ErrorCode, StorageError } from '../../errors.ts';
import { hashAlgorithm } from '../../statement/profile.ts';
import { checkArtifact } from '../artifact.ts';
import { type FetchLike, RequestCounter } from '../http.ts';
import { DiscoveryBudget, type PreparedStatement, dedupeStatements, examineStatement, inPool, mergeStatements, prepareItems, sha256Hex, statementId } from '../statements.ts';
import { parseSignedStatement } from '../../statement/signed-statement.ts';
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
} from '../types.ts';
import { type RegistryCredentials, dockerCredentials } from './auth.ts';
import { RegistryClient } from './client.ts';
import {
  ANNOTATION_STATEMENT_DIGEST,
  ANNOTATION_STATEMENT_ID,
  ANNOTATION_TITLE,
  type Descriptor,
  EMPTY_DIGEST,
  EMPTY_JSON,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_MANIFEST,
  STATEMENT_MEDIA_TYPE,
  isSha256Digest,
  readDescriptor,
  referrersTag,
} from './media-types.ts';
import { formatImageReference, parseImageReference } from './reference.ts';

export interface OciStoreOptions {
  registry: string;
  repository: string;
  /**
   * credentials to use; default: the Docker client configuration's for this registry
   * (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`), else anonymous
   */
  credentials?: RegistryCredentials;
  /** directory of the Docker config.json to read credentials from */
  dockerConfigDir?: string;
  /** HTTP instead of HTTPS; default only for loopback registries */
  plainHttp?: boolean;
  fetch?: FetchLike;
  timeoutMs?: number;
  limits?: Partial<StorageLimits>;
  /** use only the tag schema even if the registry has the referrers API (what older clients see) */
  tagSchemaOnly?: boolean;
}

/** A referrer's statement as found in the registry. */
interface StoredReferrer {
  descriptor: Descriptor;
  bytes: Uint8Array;
}

const MAX_TAG_INDEX_ATTEMPTS = 3;
const CONCURRENCY = 8;
/** a statement blob larger than this (or of no declared size) is read alone (statements are usually a few KiB) */
const LARGE_BLOB_BYTES = 1024 * 1024;

type Admit = (declared: number | undefined) => Promise<() => void>;

/** Large bodies one at a time, so what is in flight is one large body, not CONCURRENCY of them. */
function oneLargeAtATime(): Admit {
  let queue = Promise.resolve();
  return async (declared) => {
    if (declared !== undefined && declared <= LARGE_BLOB_BYTES) return () => {};
    const before = queue;
    let done!: () => void;
    queue = new Promise((r) => (done = r));
    await before;
    return done;
  };
}

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

function idOf(bytes: Uint8Array): string | undefined {
  try {
    return statementId(parseSignedStatement(bytes));
  } catch {
    return undefined;
  }
}

export class OciStatementStore implements StatementStore {
  readonly kind = 'oci' as const;
  readonly description: string;
  readonly #options: OciStoreOptions;
  readonly #limits: StorageLimits;
  readonly #counter = new RequestCounter();
  #client: Promise<RegistryClient> | undefined;
  /** learnt from the first referrers request: whether the registry has the API */
  #referrersApi: boolean | undefined;

  constructor(options: OciStoreOptions) {
    this.#options = options;
    this.#limits = storageLimits(options.limits);
    this.description = `${options.registry}/${options.repository}`;
    if (options.tagSchemaOnly) this.#referrersApi = false;
  }

  /**
   * A store for the repository of `reference` and the artifact it names: a digest as given, a tag
   * resolved to its manifest digest (HEAD). For `scitt attach --to oci://REF` and `--artifact oci://REF`.
   */
  static async open(reference: string, options: Omit<OciStoreOptions, 'registry' | 'repository'> = {}): Promise<{ store: OciStatementStore; artifact: ArtifactRef }> {
    const ref = parseImageReference(reference);
    const store = new OciStatementStore({ ...options, registry: ref.registry, repository: ref.repository });
    const client = await store.client();
    const target = ref.digest ?? ref.tag!;
    const descriptor = await client.resolve(target);
    if (!descriptor) throw new StorageError('ERR_STORAGE_NOT_FOUND', `${formatImageReference(ref)} does not exist in ${store.description}; push the image first`);
    if (ref.digest && descriptor.digest !== ref.digest) throw new StorageError('ERR_STORAGE_PROTOCOL', `${formatImageReference(ref)} resolved to ${descriptor.digest}`);
    return { store, artifact: { name: store.description, sha256: descriptor.digest.slice('sha256:'.length) } };
  }

  /** HTTP requests made so far. */
  get requests(): number {
    return this.#counter.requests;
  }

  /** The registry client, with credentials resolved once. */
  client(): Promise<RegistryClient> {
    this.#client ??= (async () => {
      const o = this.#options;
      const credentials = o.credentials ?? (await dockerCredentials(o.registry, o.dockerConfigDir ? { configDir: o.dockerConfigDir } : {}));
      return new RegistryClient({
        registry: o.registry,
        repository: o.repository,
        limits: this.#limits,
        counter: this.#counter,
        ...(credentials ? { credentials } : {}),
        ...(o.plainHttp !== undefined ? { plainHttp: o.plainHttp } : {}),
        ...(o.fetch ? { fetch: o.fetch } : {}),
        ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
      });
    })();
    return this.#client;
  }

  #location(digest: string): string {
    return `oci://${this.description}@${digest}`;
  }

  /** Referrers of `digest` whose artifactType is a statement's, from the API or the tag schema. */
  async #list(client: RegistryClient, digest: string, skipped: SkippedObject[]): Promise<{ descriptors: Descriptor[]; via: 'api' | 'tag' }> {
    let listed: Descriptor[] | undefined;
    let via: 'api' | 'tag' = 'api';
    if (this.#referrersApi !== false) {
      const r = await client.referrers(digest, STATEMENT_MEDIA_TYPE);
      this.#referrersApi = r !== undefined;
      listed = r?.descriptors;
    }
    if (!listed) {
      via = 'tag';
      listed = (await client.tagIndex(digest))?.descriptors ?? [];
    }
    const descriptors: Descriptor[] = [];
    for (const d of listed) {
      if (d.artifactType === STATEMENT_MEDIA_TYPE) descriptors.push(d);
      else skipped.push({ source: { store: this.kind, location: this.#location(d.digest), name: d.digest }, code: 'ERR_STORAGE_NOT_STATEMENT', reason: `a referrer of artifactType ${d.artifactType ?? '(none)'}, not ${STATEMENT_MEDIA_TYPE}` });
    }
    if (descriptors.length > this.#limits.statements) {
      throw new StorageError('ERR_STORAGE_LIMIT', `${descriptors.length} statement referrers of ${digest}; at most ${this.#limits.statements} are read`);
    }
    return { descriptors, via };
  }

  /**
   * A referrer's manifest, checked: an image manifest whose subject is `subjectDigest`. Returns its
   * layers, or a reason to skip it.
   */
  async #referrerManifest(client: RegistryClient, d: Descriptor, subjectDigest: string): Promise<{ layers: Descriptor[] } | { reason: string; code: ErrorCode }> {
    if (d.size > this.#limits.documentBytes) return { code: 'ERR_STORAGE_LIMIT', reason: `manifest of ${d.size} bytes exceeds ${this.#limits.documentBytes}` };
    const m = await client.manifest(d.digest, OCI_MANIFEST);
    if (!m) return { code: 'ERR_STORAGE_NOT_FOUND', reason: 'listed, but the registry does not have the manifest' };
    let body: { mediaType?: unknown; artifactType?: unknown; subject?: unknown; layers?: unknown };
    try {
      body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(m.bytes)) as typeof body;
    } catch {
      return { code: 'ERR_STORAGE_NOT_STATEMENT', reason: 'the manifest is not JSON' };
    }
    if (m.mediaType !== OCI_MANIFEST) return { code: 'ERR_STORAGE_NOT_STATEMENT', reason: `a ${m.mediaType || 'manifest of no media type'}, not an OCI image manifest` };
    if (body.artifactType !== STATEMENT_MEDIA_TYPE) return { code: 'ERR_STORAGE_NOT_STATEMENT', reason: `manifest artifactType is ${String(body.artifactType)}, not ${STATEMENT_MEDIA_TYPE}` };
    if (readDescriptor(body.subject)?.digest !== subjectDigest) return { code: 'ERR_STORAGE_SUBJECT', reason: `the manifest's subject is not ${subjectDigest}` };
    const layers = Array.isArray(body.layers) ? body.layers.map(readDescriptor) : [];
    if (layers.some((l) => !l)) return { code: 'ERR_STORAGE_PROTOCOL', reason: 'the manifest has a malformed layer descriptor' };
    return { layers: layers as Descriptor[] };
  }

  /** The statement bytes of a listed referrer: straight from the annotated blob digest, else via its manifest. */
  async #statementOf(client: RegistryClient, d: Descriptor, subjectDigest: string, admit?: Admit): Promise<{ bytes: Uint8Array; layers?: Descriptor[] } | { reason: string; code: ErrorCode }> {
    try {
      return await this.#fetchStatement(client, d, subjectDigest, admit);
    } catch (e) {
      // one bad referrer (too large, not matching its digest) is skipped; the registry failing is not
      if (e instanceof StorageError && (e.code === 'ERR_STORAGE_LIMIT' || e.code === 'ERR_STORAGE_PROTOCOL')) return { code: e.code, reason: e.message };
      throw e;
    }
  }

  async #fetchStatement(client: RegistryClient, d: Descriptor, subjectDigest: string, admit?: Admit): Promise<{ bytes: Uint8Array; layers?: Descriptor[] } | { reason: string; code: ErrorCode }> {
    const annotated = d.annotations?.[ANNOTATION_STATEMENT_DIGEST];
    if (isSha256Digest(annotated)) {
      const bytes = await client.blob(annotated, this.#limits.statementBytes, admit);
      if (bytes) return { bytes };
    }
    const m = await this.#referrerManifest(client, d, subjectDigest);
    if ('reason' in m) return m;
    const statements = m.layers.filter((l) => l.mediaType === STATEMENT_MEDIA_TYPE);
    if (statements.length !== 1) return { code: 'ERR_STORAGE_NOT_STATEMENT', reason: `the manifest has ${statements.length} statement layers; one is expected` };
    const layer = statements[0]!;
    if (layer.size > this.#limits.statementBytes) return { code: 'ERR_STORAGE_LIMIT', reason: `statement layer of ${layer.size} bytes exceeds ${this.#limits.statementBytes}` };
    const bytes = await client.blob(layer.digest, this.#limits.statementBytes, admit);
    if (!bytes) return { code: 'ERR_STORAGE_NOT_FOUND', reason: `the statement blob ${layer.digest} is missing` };
    return { bytes, layers: m.layers };
  }

  async discover(artifactRef: ArtifactRef, options: DiscoverOptions = {}): Promise<DiscoveryResult> {
    const artifact = checkArtifact(artifactRef);
    const client = await this.client();
    const before = this.#counter.requests;
    const subjectDigest = `sha256:${artifact.sha256}`;
    const skipped: SkippedObject[] = [];
    const { descriptors } = await this.#list(client, subjectDigest, skipped);
    const found: DiscoveredStatement[] = [];
    const layersOf = new Map<DiscoveredStatement, Descriptor[] | undefined>();
    const budget = new DiscoveryBudget(this.#limits);
    const admit = oneLargeAtATime();
    // referrers whose annotations name one statement blob: it is fetched (and held) once, the others are its duplicates
    const fetched = new Map<string, Promise<string | undefined>>();
    // each referrer is screened as soon as it arrives: at most CONCURRENCY statements are in flight (one
    // of them large), and only those about the artifact stay held, within the budget
    const results = await inPool(descriptors, CONCURRENCY, async (d): Promise<{ statement?: DiscoveredStatement; skipped?: SkippedObject; layers?: Descriptor[] | undefined }> => {
      const source = { store: this.kind, location: this.#location(d.digest), name: d.annotations?.[ANNOTATION_TITLE] ?? d.digest };
      const annotated = d.annotations?.[ANNOTATION_STATEMENT_DIGEST];
      const first = isSha256Digest(annotated) ? fetched.get(annotated) : undefined;
      const by = first && (await first);
      if (by) return { skipped: { source, code: 'ERR_STORAGE_DUPLICATE', reason: `names the same statement blob (${annotated}) as ${by}, already read` } };
      const pending = this.#statementOf(client, d, subjectDigest, admit);
      // a duplicate only of a blob read through the annotation (otherwise each referrer's own manifest is read)
      if (isSha256Digest(annotated) && !first) {
        const throughAnnotation = (r: Awaited<typeof pending>) => ('reason' in r ? r.code === 'ERR_STORAGE_LIMIT' && r.reason.includes(annotated) : !r.layers);
        fetched.set(annotated, pending.then((r) => (throughAnnotation(r) ? source.location : undefined), () => undefined));
      }
      const r = await pending;
      if ('reason' in r) return { skipped: { source, code: r.code, reason: r.reason } };
      const e = examineStatement(r.bytes, artifact, source, this.#limits);
      if (e.statement && !budget.reserve(r.bytes.length)) return { skipped: { source, ...budget.refusal(r.bytes.length) } };
      return { ...e, layers: r.layers };
    });
    for (const e of results) {
      if (e.skipped) skipped.push(e.skipped);
      if (e.statement) {
        found.push(e.statement);
        layersOf.set(e.statement, e.layers);
      }
    }
    const deduped = dedupeStatements(found);
    skipped.push(...deduped.skipped);
    // evidence is looked for only when read() is asked for — the gate asks once the statement has verified —
    // so a thousand hostile statements cost no manifest, HEAD or blob request for their evidence
    const statements = options.evidence ? deduped.statements.map((s) => this.#withEvidence(client, s, layersOf.get(s), descriptors, subjectDigest)) : deduped.statements;
    return { artifact, statements, skipped, requests: this.#counter.requests - before };
  }

  /**
   * A Hash Envelope's evidence, read on demand: the layer of its referrer manifest that hashes to the
   * payload, at most evidenceBytes, checked against the payload as it is read. A SHA-256 payload names
   * the layer by its digest (no other layer is downloaded); for other algorithms each layer is read and hashed.
   */
  #withEvidence(client: RegistryClient, s: DiscoveredStatement, known: Descriptor[] | undefined, descriptors: Descriptor[], subjectDigest: string): DiscoveredStatement {
    const he = s.statement.hashEnvelope;
    const h = he && hashAlgorithm(he.hashAlg);
    if (!he || !h || he.digest.length === 0) return s;
    const notRead = (why: string) => new StorageError('ERR_STORAGE_EVIDENCE', `evidence of ${s.source.location} not read: ${why}`);
    const named = `sha256:${Buffer.from(he.digest).toString('hex')}`;
    const read = async (): Promise<Uint8Array> => {
      let layers = known;
      if (!layers) {
        const d = descriptors.find((x) => this.#location(x.digest) === s.source.location)!;
        const m = await this.#referrerManifest(client, d, subjectDigest);
        if ('reason' in m) throw notRead(m.reason);
        layers = m.layers;
      }
      const reasons: string[] = [];
      for (const layer of layers.filter((l) => l.mediaType !== STATEMENT_MEDIA_TYPE)) {
        if (layer.size > this.#limits.evidenceBytes) {
          reasons.push(`layer ${layer.digest} of ${layer.size} bytes exceeds ${this.#limits.evidenceBytes}`);
          continue;
        }
        // the layer's digest is the SHA-256 of its bytes (client.blob checks it): only the named one can be the evidence
        if (h.node === 'sha256' && isSha256Digest(layer.digest) && layer.digest !== named) continue;
        const bytes = await client.blob(layer.digest, Math.min(layer.size, this.#limits.evidenceBytes));
        if (!bytes) {
          reasons.push(`layer ${layer.digest} is not in the registry`);
          continue;
        }
        if (createHash(h.node).update(bytes).digest().equals(he.digest)) return bytes;
      }
      throw notRead(`no layer of the referrer hashes to the payload of the statement${reasons.length ? ` (${reasons.join('; ')})` : ''}`);
    };
    const mediaType = typeof he.preimageContentType === 'string' ? he.preimageContentType : undefined;
    return { ...s, evidence: { read, ...(mediaType ? { mediaType } : {}), source: { store: this.kind, location: s.source.location, name: named } } };
  }

  async attach(artifactRef: ArtifactRef, items: readonly StorageItem[]): Promise<StoredObject[]> {
    const artifact = checkArtifact(artifactRef);
    const prepared = prepareItems(artifact, items, this.#limits);
    const client = await this.client();
    const subjectDigest = `sha256:${artifact.sha256}`;
    const subject = await client.resolve(subjectDigest);
    if (!subject) throw new StorageError('ERR_STORAGE_NOT_FOUND', `manifest ${subjectDigest} does not exist in ${this.description}; push the image first, then attach its statements`);

    // the statements already attached, for those of the same signed statement
    const { descriptors } = await this.#list(client, subjectDigest, []);
    await client.pushBlob(EMPTY_JSON); // the config of every artifact manifest, once
    const needTagIndex: Descriptor[] = [];
    const results = await inPool(prepared, 4, async (s): Promise<StoredObject[]> => {
      const same = descriptors.filter((d) => d.annotations?.[ANNOTATION_STATEMENT_ID] === s.id);
      const stored: StoredReferrer[] = [];
      for (const d of same) {
        const r = await this.#statementOf(client, d, subjectDigest);
        // only what really is the same signed statement counts: annotations are not trusted
        if (!('reason' in r) && idOf(r.bytes) === s.id) stored.push({ descriptor: d, bytes: r.bytes });
      }
      let bytes = s.bytes;
      let status: StoredObject['status'] = 'created';
      if (stored.length) {
        let merged = stored[0]!.bytes;
        for (const other of [...stored.slice(1).map((x) => x.bytes), s.bytes]) merged = mergeStatements(merged, other).bytes;
        const holder = stored.find((x) => sha256Hex(x.bytes) === sha256Hex(merged));
        if (holder) return this.#stored(s, holder.descriptor.digest, sha256Hex(merged), 'unchanged');
        bytes = merged;
        status = 'updated';
      }
      const pushed = await this.#push(client, s, bytes, subject);
      if (!pushed.ociSubject) needTagIndex.push(pushed.descriptor);
      return this.#stored(s, pushed.descriptor.digest, sha256Hex(bytes), status);
    });
    // listed in the order given, whatever order the pushes finished in
    const order = (d: Descriptor) => prepared.findIndex((p) => p.id === d.annotations?.[ANNOTATION_STATEMENT_ID]);
    needTagIndex.sort((a, b) => order(a) - order(b));
    if (needTagIndex.length) await this.#addToTagIndex(client, subjectDigest, needTagIndex);
    return results.flat();
  }

  #stored(s: PreparedStatement, manifestDigest: string, statementSha256: string, status: StoredObject['status']): StoredObject[] {
    const location = this.#location(manifestDigest);
    const objects: StoredObject[] = [];
    if (s.evidence) objects.push({ kind: 'evidence', name: s.evidence.name, digest: { sha256: s.evidence.sha256 }, mediaType: s.evidence.mediaType, location, status: status === 'created' ? 'created' : 'unchanged' });
    objects.push({ kind: 'statement', name: `${s.id.slice(0, 16)}.scitt`, digest: { sha256: statementSha256 }, mediaType: STATEMENT_MEDIA_TYPE, location, status });
    return objects;
  }

  /** Pushes the blobs and the artifact manifest of one statement; nothing refers to the blobs until the manifest is in. */
  async #push(client: RegistryClient, s: PreparedStatement, bytes: Uint8Array, subject: Descriptor): Promise<{ descriptor: Descriptor; ociSubject?: string }> {
    const statementDigest = await client.pushBlob(bytes);
    const layers: Descriptor[] = [{ mediaType: STATEMENT_MEDIA_TYPE, digest: statementDigest, size: bytes.length, annotations: { [ANNOTATION_TITLE]: `${s.id.slice(0, 16)}.scitt` } }];
    if (s.evidence) {
      const evidenceDigest = await client.pushBlob(s.evidence.bytes);
      layers.push({ mediaType: s.evidence.mediaType, digest: evidenceDigest, size: s.evidence.bytes.length, annotations: { [ANNOTATION_TITLE]: s.evidence.name } });
    }
    const annotations = { [ANNOTATION_STATEMENT_DIGEST]: statementDigest, [ANNOTATION_STATEMENT_ID]: s.id };
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: STATEMENT_MEDIA_TYPE,
      config: { mediaType: OCI_EMPTY, digest: EMPTY_DIGEST, size: EMPTY_JSON.length, data: Buffer.from(EMPTY_JSON).toString('base64') },
      layers,
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      annotations,
    };
    const body = json(manifest);
    const digest = `sha256:${sha256Hex(body)}`;
    const { ociSubject } = await client.putManifest(digest, body, OCI_MANIFEST);
    if (ociSubject !== undefined && ociSubject !== subject.digest) {
      throw new StorageError('ERR_STORAGE_PROTOCOL', `${this.description} answered the push with OCI-Subject ${ociSubject}, not ${subject.digest}`);
    }
    this.#referrersApi ||= ociSubject !== undefined;
    return { descriptor: { mediaType: OCI_MANIFEST, digest, size: body.length, artifactType: STATEMENT_MEDIA_TYPE, annotations }, ...(ociSubject ? { ociSubject } : {}) };
  }

  /**
   * Referrers Tag Schema: pull the index at `sha256-<hex>` (or start an empty one on 404), add the
   * descriptors not yet listed, keep everything else as it is, push it back (If-Match the ETag read),
   * and read it again to confirm — a concurrent writer on a registry that ignores If-Match is
   * caught and the merge redone.
   */
  async #addToTagIndex(client: RegistryClient, subjectDigest: string, add: Descriptor[]): Promise<void> {
    const tag = referrersTag(subjectDigest);
    for (let attempt = 1; ; attempt++) {
      const current = await client.tagIndex(subjectDigest);
      const listed = new Set(current?.descriptors.map((d) => d.digest));
      const missing = add.filter((d) => !listed.has(d.digest));
      if (missing.length === 0) return;
      const base = current?.json ?? { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
      const index = { ...base, schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...((base.manifests as unknown[]) ?? []), ...missing] };
      try {
        await client.putManifest(tag, json(index), OCI_INDEX, current?.etag);
      } catch (e) {
        if (!(e instanceof StorageError && e.status === 412) || attempt >= MAX_TAG_INDEX_ATTEMPTS) throw e;
        continue;
      }
      const check = await client.tagIndex(subjectDigest);
      const now = new Set(check?.descriptors.map((d) => d.digest));
      if (add.every((d) => now.has(d.digest))) return;
      if (attempt >= MAX_TAG_INDEX_ATTEMPTS) {
        throw new StorageError('ERR_STORAGE_CONFLICT', `the referrers tag ${tag} of ${this.description} kept changing while it was updated (${MAX_TAG_INDEX_ATTEMPTS} attempts); the statements are pushed but not listed — run attach again`);
      }
    }
  }
}
