/**
 * Storage locations as the CLI and the actions name them, and the glue from a name to a store:
 *
 *   DIR | PATH                  files beside the artifact (a directory, or the artifact file itself)
 *   release:TAG[/ASSET]         GitHub release assets of TAG (ASSET: the artifact, when discovering)
 *   oci://REGISTRY/REPO:TAG|@sha256:…   OCI referrers of the image manifest
 *
 * `attachStatements` attaches Transparent Statements wherever a target says, grouping them by the
 * artifact their subject pins; `resolveArtifact` turns an artifact location into a store and the
 * artifact's digest (hashing a file or a release asset, resolving an image tag) for discovery.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { StorageError } from '../errors.ts';
import { hashAlgorithm } from '../statement/profile.ts';
import { parseSignedStatement } from '../statement/signed-statement.ts';
import { fileArtifact } from './artifact.ts';
import { FileStatementStore } from './files.ts';
import { GitHubReleaseStore, type OctokitLike } from './github-release.ts';
import { type OciStoreOptions, OciStatementStore } from './oci/store.ts';
import { STATEMENT_MEDIA_TYPE } from './statements.ts';
import { purlLibrary, subjectSha256 } from '../payload/purl.ts';
import type { ArtifactRef, DiscoverOptions, DiscoveryResult, StatementStore, StorageItem, StorageLimits, StoredObject } from './types.ts';

export type StorageTarget = { kind: 'files'; path: string } | { kind: 'github-release'; tag: string; asset?: string } | { kind: 'oci'; reference: string };

/**
 * Parses a target. With `artifact`, `release:TAG/ASSET` names an asset (split at the last `/`, so
 * tags may contain slashes); without, everything after `release:` is the tag.
 */
export function parseStorageTarget(spec: string, { artifact = false }: { artifact?: boolean } = {}): StorageTarget {
  if (!spec) throw new StorageError('ERR_STORAGE_TARGET', 'empty storage target; use a directory, release:TAG or oci://REGISTRY/REPOSITORY:TAG');
  if (spec.startsWith('oci://')) return { kind: 'oci', reference: spec };
  if (spec.startsWith('release:')) {
    const rest = spec.slice('release:'.length);
    if (!artifact) {
      if (!rest) throw new StorageError('ERR_STORAGE_TARGET', `${JSON.stringify(spec)} names no tag; use release:TAG`);
      return { kind: 'github-release', tag: rest };
    }
    const slash = rest.lastIndexOf('/');
    if (slash <= 0 || slash === rest.length - 1) throw new StorageError('ERR_STORAGE_TARGET', `${JSON.stringify(spec)} must name a release asset: release:TAG/ASSET`);
    return { kind: 'github-release', tag: rest.slice(0, slash), asset: rest.slice(slash + 1) };
  }
  return { kind: 'files', path: spec };
}

export interface StorageOptions {
  /** for release targets: the repository and how to reach GitHub */
  github?: { owner: string; repo: string; octokit?: OctokitLike; token?: string; baseUrl?: string };
  /** for OCI targets: credentials, plain HTTP, Docker config location */
  oci?: Omit<OciStoreOptions, 'registry' | 'repository' | 'limits'>;
  limits?: Partial<StorageLimits>;
}

function githubStore(tag: string, options: StorageOptions): GitHubReleaseStore {
  const gh = options.github;
  if (!gh?.owner || !gh.repo) {
    throw new StorageError('ERR_STORAGE_TARGET', `release:${tag} needs the repository (owner/repo, e.g. from GITHUB_REPOSITORY) and a token (GITHUB_TOKEN)`);
  }
  return new GitHubReleaseStore({ owner: gh.owner, repo: gh.repo, tag, ...(gh.octokit ? { octokit: gh.octokit } : {}), ...(gh.token ? { token: gh.token } : {}), ...(gh.baseUrl ? { baseUrl: gh.baseUrl } : {}), ...(options.limits ? { limits: options.limits } : {}) });
}

function ociOptions(options: StorageOptions) {
  return { ...options.oci, ...(options.limits ? { limits: options.limits } : {}) };
}

/**
 * The artifact a statement subject names: the SHA-256 it pins, and as name the package URL's name
 * (for `pkg:generic`, the file name subjects are made from).
 */
export function artifactFromSubject(sub: string): ArtifactRef {
  const sha256 = subjectSha256(sub);
  if (!sha256) throw new StorageError('ERR_STORAGE_SUBJECT', `statement subject ${JSON.stringify(sub.slice(0, 200))} pins no sha256 digest; it cannot be attached to an artifact`);
  const name = purlLibrary().PackageURL.fromString(sub).name;
  return { name, sha256 };
}

/** The store for a target and, for a target that names one artifact (a file, an image), that artifact. */
export async function openStore(target: StorageTarget | string, options: StorageOptions = {}): Promise<{ store: StatementStore; artifact?: ArtifactRef }> {
  const t = typeof target === 'string' ? parseStorageTarget(target) : target;
  if (t.kind === 'oci') return OciStatementStore.open(t.reference, ociOptions(options));
  if (t.kind === 'github-release') return { store: githubStore(t.tag, options) };
  const st = await stat(t.path).catch(() => undefined);
  if (!st) throw new StorageError('ERR_STORAGE_NOT_FOUND', `${t.path} does not exist; give the directory of the artifacts or the artifact file`);
  if (st.isDirectory()) return { store: new FileStatementStore({ directory: t.path, ...(options.limits ? { limits: options.limits } : {}) }) };
  return { store: new FileStatementStore({ directory: dirname(t.path), ...(options.limits ? { limits: options.limits } : {}) }), artifact: await fileArtifact(t.path) };
}

/**
 * Attaches Transparent Statements (and the evidence of Hash Envelopes among them) to `target`,
 * each to the artifact its subject pins — or to the one artifact the target names (a file, an
 * image), which every statement must then be about.
 */
export async function attachStatements(target: StorageTarget | string, items: readonly StorageItem[], options: StorageOptions = {}): Promise<StoredObject[]> {
  const { store, artifact } = await openStore(target, options);
  const groups = new Map<string, { artifact: ArtifactRef; items: StorageItem[] }>();
  const evidence = items.filter((i) => i.mediaType !== STATEMENT_MEDIA_TYPE);
  for (const item of items.filter((i) => i.mediaType === STATEMENT_MEDIA_TYPE)) {
    let a = artifact;
    if (!a) {
      let sub: string;
      try {
        sub = parseSignedStatement(item.bytes).sub;
      } catch (cause) {
        throw new StorageError('ERR_STORAGE_NOT_STATEMENT', `${JSON.stringify(item.name)} is not a Signed Statement: ${(cause as Error).message}`, { cause });
      }
      a = artifactFromSubject(sub);
    }
    const key = `${a.name}\u0000${a.sha256}`;
    const g = groups.get(key) ?? { artifact: a, items: [] };
    g.items.push(item);
    groups.set(key, g);
  }
  if (groups.size === 0) throw new StorageError('ERR_USAGE', `nothing to attach: no item has media type ${STATEMENT_MEDIA_TYPE}`);
  // each evidence object goes with the statements that vouch for it (prepareItems checks the digests)
  const placed = new Set<StorageItem>();
  for (const g of groups.values()) {
    const envelopes = g.items.map((i) => parseSignedStatement(i.bytes).hashEnvelope).filter((h) => h !== undefined);
    for (const e of evidence) {
      const vouched = envelopes.some((h) => {
        const alg = hashAlgorithm(h.hashAlg);
        return alg !== undefined && createHash(alg.node).update(e.bytes).digest().equals(h.digest);
      });
      if (vouched) {
        g.items.push(e);
        placed.add(e);
      }
    }
  }
  const stray = evidence.find((e) => !placed.has(e));
  if (stray) throw new StorageError('ERR_STORAGE_EVIDENCE', `evidence ${JSON.stringify(stray.name)} is not the preimage of any Hash Envelope statement given with it`);
  const out: StoredObject[] = [];
  for (const g of groups.values()) out.push(...(await store.attach(g.artifact, g.items)));
  return out;
}

/**
 * The store and artifact an artifact location names, for discovery and `scitt verify --artifact`:
 * a file (hashed), `release:TAG/ASSET` (the asset downloaded and hashed), `oci://REF` (a tag
 * resolved to its manifest digest).
 */
export async function resolveArtifact(location: string, options: StorageOptions = {}): Promise<{ store: StatementStore; artifact: ArtifactRef }> {
  const t = parseStorageTarget(location, { artifact: true });
  if (t.kind === 'oci') return OciStatementStore.open(t.reference, ociOptions(options));
  if (t.kind === 'github-release') {
    const store = githubStore(t.tag, options);
    return { store, artifact: { name: t.asset!, sha256: await store.assetSha256(t.asset!) } };
  }
  const st = await stat(t.path).catch(() => undefined);
  if (!st?.isFile()) throw new StorageError('ERR_STORAGE_NOT_FOUND', `${t.path} is not an artifact file`);
  return { store: new FileStatementStore({ directory: dirname(t.path), ...(options.limits ? { limits: options.limits } : {}) }), artifact: { name: basename(t.path), sha256: (await fileArtifact(t.path)).sha256 } };
}

/** Discovers the Transparent Statements about the artifact at `location`. */
export async function discoverStatements(location: string, options: StorageOptions & DiscoverOptions = {}): Promise<DiscoveryResult> {
  const { store, artifact } = await resolveArtifact(location, options);
  return store.discover(artifact, options.evidence ? { evidence: true } : {});
}
