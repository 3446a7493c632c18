/**
 * What `scitt verify` and the verify-gate action both take from a user, read once: the identity
 * policy, the issuer and service trust, the receipt minimum, the required evidence kinds, and where
 * the statements of each named artifact are. Flags and inputs that cannot apply are refused
 * (ERR_USAGE), never ignored: a gate that silently drops a constraint would pass what it never checked.
 */
import { basename } from 'node:path';
import { loadKey } from '../cose/key.ts';
import { ScittError } from '../errors.ts';
import type { IdentityPolicy } from '../identity/policy.ts';
import { type CiIdentityInputs, ciIdentityPins, ciIdentityPolicy } from '../identity/policy-inputs.ts';
import { EVIDENCE_KINDS, type EvidenceKind } from '../payload/evidence-kinds.ts';
import { normaliseSha256 } from '../payload/purl.ts';
import type { ProgressCallback } from '../payload/hashing.ts';
import type { StorageOptions } from '../storage/target.ts';
import { type Discovered, type GateArtifact, type GatePolicy, type GateReport, asDiscovered, runGate } from './gate.ts';
import { gateThroughManifests } from './manifest.ts';
import type { IssuerTrust } from './pipeline.ts';
import { loadServiceKeys, loadX509Trust } from './trust-inputs.ts';

const usage = (message: string) => new ScittError('ERR_USAGE', message);

/** Keyless identity constraints, named as `gh attestation verify` (CLI flags) and the action inputs name them. */
export interface IdentityInputs extends CiIdentityInputs {
  repo?: string;
  owner?: string;
  /** exact, or a regular expression written /…/ */
  signerWorkflow?: string;
  signerRepo?: string;
  sourceRef?: string;
  certOidcIssuer?: string;
  hostedRunnersOnly?: boolean;
  did?: string;
  /** Sigstore trusted_root.json */
  trustedRoot?: string;
  /** PEM roots (and intermediates) instead of Sigstore; PUBLIC KEY blocks in it are the CA's CT log keys */
  x509Roots?: string;
  /** explicit: the (private) Fulcio has no CT log, so certificates without an SCT are accepted */
  insecureIgnoreSct?: boolean;
}

export interface VerifyInputs extends IdentityInputs {
  /** Transparency Services: URLs, key files, services files (trust-inputs.ts) */
  tsKeys: readonly string[];
  /** trusted issuer public keys, each a file path or the key itself (PEM / JWK text) */
  issuerKeys?: readonly string[];
  /** receipts from at least this many independent services */
  minReceipts?: string | number;
  /** evidence kinds, as a list or comma-separated */
  require?: readonly string[] | string;
  receiptsOnly?: boolean;
  allowUnreceipted?: boolean;
}

/**
 * The keyless identity policy, or undefined when none is asked for. Constraints that narrow an
 * identity (source ref, hosted runners, signer repository) without one to narrow are refused.
 */
export function identityPolicyFrom(i: IdentityInputs): IdentityPolicy | undefined {
  const sw = i.signerWorkflow?.trim();
  const signerWorkflow = sw && sw.length > 2 && sw.startsWith('/') && sw.endsWith('/') ? new RegExp(sw.slice(1, -1)) : sw || undefined;
  const policy: IdentityPolicy = {
    ...(i.repo?.trim() ? { repo: i.repo.trim() } : {}),
    ...(i.owner?.trim() ? { owner: i.owner.trim() } : {}),
    ...(signerWorkflow ? { signerWorkflow } : {}),
    ...(i.signerRepo?.trim() ? { signerRepo: i.signerRepo.trim() } : {}),
    ...(i.sourceRef?.trim() ? { sourceRef: i.sourceRef.trim() } : {}),
    ...(i.certOidcIssuer?.trim() ? { certOidcIssuer: i.certOidcIssuer.trim() } : {}),
    ...ciIdentityPolicy(i, i.certOidcIssuer),
    ...(i.hostedRunnersOnly ? { denySelfHostedRunners: true } : {}),
    ...(i.did?.trim() ? { did: i.did.trim() } : {}),
  };
  if (policy.repo || policy.owner || policy.signerWorkflow || policy.did || ciIdentityPins(policy)) return policy;
  const orphans = [policy.signerRepo && 'signer-repo', policy.sourceRef && 'source-ref', policy.denySelfHostedRunners && 'hosted-runners-only'].filter(Boolean);
  if (orphans.length) throw usage(`${orphans.join(', ')} narrow a keyless identity, but none is named: add repo, owner, signer-workflow or did (or drop them)`);
  if (i.trustedRoot || i.x509Roots) throw usage(`${i.trustedRoot ? 'trusted-root' : 'x509-roots'} anchors keyless identities, but no identity policy is given: add repo, owner, signer-workflow or did (or drop it)`);
  return undefined;
}

/** Evidence kinds from a list or a comma-separated string; an unknown kind is refused, never a requirement that cannot be met quietly. */
export function parseRequire(v: readonly string[] | string | undefined): EvidenceKind[] {
  const items = (typeof v === 'string' ? v.split(',') : [...(v ?? [])].flatMap((x) => x.split(','))).map((k) => k.trim()).filter(Boolean);
  const unknown = items.filter((k) => !EVIDENCE_KINDS.includes(k as EvidenceKind));
  if (unknown.length) throw usage(`require names unknown evidence kinds ${unknown.join(', ')}; use ${EVIDENCE_KINDS.join(', ')}`);
  return [...new Set(items)] as EvidenceKind[];
}

/** A whole number ≥ 1 (RFC 9943 §7.1 needs at least one trusted receipt). */
export function parseMinReceipts(v: string | number | undefined): number {
  if (v === undefined || v === '') return 1;
  const n = typeof v === 'number' ? v : /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw usage(`min-receipts must be a whole number ≥ 1, got ${JSON.stringify(String(v))}`);
  return n;
}

async function issuerKeyOf(k: string) {
  const text = k.includes('-----BEGIN') || k.trimStart().startsWith('{') ? k : await import('node:fs/promises').then((fs) => fs.readFile(k)).catch((e: NodeJS.ErrnoException) => {
    throw new ScittError('ERR_IO', `cannot read issuer key ${k}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  return loadKey(typeof text === 'string' ? text : new Uint8Array(text));
}

/** Issuer trust: keys for key-signed statements, X.509 anchors and an identity policy for keyless ones. */
export async function issuerTrustFrom(i: VerifyInputs): Promise<IssuerTrust> {
  const policy = identityPolicyFrom(i);
  const keys = await Promise.all((i.issuerKeys ?? []).filter((k) => k.trim()).map(issuerKeyOf));
  if (i.receiptsOnly) {
    if (keys.length || policy) throw usage('receipts-only does not check the issuer: drop the issuer key and identity options, or drop receipts-only');
    return {};
  }
  if (!keys.length && !policy) throw usage('say whom to trust: an issuer key for key-signed statements, or repo / owner / signer-workflow / did for keyless ones (or receipts-only)');
  return {
    ...(keys.length ? { keys } : {}),
    ...(policy
      ? { x509: { trust: await loadX509Trust({ ...(i.trustedRoot ? { trustedRoot: i.trustedRoot } : {}), ...(i.x509Roots ? { rootsPem: i.x509Roots } : {}), ...(i.insecureIgnoreSct ? { insecureIgnoreSct: true } : {}) }), policy } }
      : {}),
  };
}

/** The whole verification policy (the gate's, and a single statement's without `require`). */
export async function verifyPolicyFrom(i: VerifyInputs): Promise<GatePolicy> {
  const require = parseRequire(i.require);
  const minServices = parseMinReceipts(i.minReceipts);
  if (i.receiptsOnly && require.length) throw usage('require checks evidence of statements whose issuer is verified: it does not apply with receipts-only');
  const issuer = await issuerTrustFrom(i);
  return {
    trustedServiceKeys: await loadServiceKeys(i.tsKeys),
    receiptPolicy: { minServices },
    issuer,
    ...(i.receiptsOnly ? { receiptsOnly: true } : {}),
    ...(i.allowUnreceipted ? { allowUnreceipted: true } : {}),
    ...(require.length ? { require } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// where each named artifact's statements are

export interface GateTargets {
  /** files and globs about to be released, hashed now */
  paths?: readonly string[];
  /** artifacts named by digest (name + sha256:<hex>): they have no place of their own, so need releaseTag */
  digests?: readonly { name: string; digest: string }[];
  /** statements of paths and digests are among this GitHub release's assets instead of beside the files */
  releaseTag?: string;
  /** locations naming one artifact each, with its statements: oci://REF (referrers), release:TAG/ASSET */
  locations?: readonly string[];
  /** sha256sum-format manifests shipped with the `paths` artifacts: one verified manifest covers every artifact it lists (verify/manifest.ts) */
  checksums?: readonly string[];
  /** progress of hashing the files (a CLI draws it on a terminal) */
  onProgress?: ProgressCallback;
}

interface GateGroup {
  artifacts: GateArtifact[];
  discover(a: GateArtifact): Promise<Discovered>;
}

/**
 * Every artifact named, each with where its statements are. Names that cannot be checked (a digest
 * with nowhere to look, a release tag with nothing to look for) are refused, never dropped.
 */
export async function gateTargets(t: GateTargets, storage: StorageOptions = {}): Promise<GateGroup[]> {
  const paths = (t.paths ?? []).filter((p) => p.trim());
  const digests = t.digests ?? [];
  const locations = (t.locations ?? []).filter((l) => l.trim());
  if (!paths.length && !digests.length && !locations.length) throw usage('name what is about to be released: files (subject-path), a digest with its name and a release tag, or an image');
  if (digests.length && !t.releaseTag) throw usage('an artifact named by digest has no file to find statements beside: add the release tag whose assets hold its statements');
  if (t.releaseTag && !paths.length && !digests.length) throw usage('release-tag says where the statements of subject-path / subject-digest artifacts are, and none is named: name them (or drop release-tag)');
  // the stores and the file hashing, loaded for a gate only: verifying one statement (`scitt verify FILE`) needs neither
  const [{ resolveSubjectPaths }, { sha256Files }, { artifactRef }, { openStore, resolveArtifact }, { discoverBeside }] = await Promise.all([
    import('../payload/subjects.ts'),
    import('../payload/hashing.ts'),
    import('../storage/artifact.ts'),
    import('../storage/target.ts'),
    import('./beside.ts'),
  ]);
  const groups: GateGroup[] = [];
  const files: GateArtifact[] = [];
  if (paths.length) {
    // each file is its own artifact, looked up beside itself: two files never share a verdict
    for (const d of await sha256Files(await resolveSubjectPaths(paths), t.onProgress ? { onProgress: t.onProgress } : {})) files.push({ name: basename(d.path), sha256: d.sha256, path: d.path });
  }
  const named = digests.map((d) => {
    const sha256 = normaliseSha256(d.digest);
    if (!sha256) throw usage(`subject-digest for ${JSON.stringify(d.name)} must be sha256:<64 hex digits>, got ${JSON.stringify(d.digest.slice(0, 80))}`);
    if (!d.name.trim()) throw usage('subject-digest needs subject-name: the artifact name its statements are attached under');
    return { name: d.name.trim(), sha256 };
  });
  if (t.releaseTag) {
    const { store } = await openStore(`release:${t.releaseTag}`, storage);
    groups.push({ artifacts: [...files, ...named], discover: async (a) => asDiscovered(await store.discover(artifactRef(a.name, a.sha256), { evidence: true })) });
  } else if (files.length) {
    groups.push({ artifacts: files, discover: discoverBeside() });
  }
  for (const location of locations) {
    const { store, artifact } = await resolveArtifact(location, storage);
    groups.push({ artifacts: [{ name: artifact.name, sha256: artifact.sha256 }], discover: async (a) => asDiscovered(await store.discover(artifactRef(a.name, a.sha256), { evidence: true })) });
  }
  return groups;
}

/** The release gate over every named artifact: one report, green only when each artifact is. */
export async function runGateOn(t: GateTargets, policy: GatePolicy, storage: StorageOptions = {}): Promise<GateReport> {
  if (t.checksums?.some((c) => c.trim())) {
    if (t.digests?.length || t.releaseTag || t.locations?.some((l) => l.trim())) throw usage('checksums covers files named by path (subject-path) with the manifest beside them: drop the digest, release tag or image, or gate them separately');
    if (!t.paths?.some((p) => p.trim())) throw usage('checksums names a manifest but no artifact: add the files it lists (subject-path)');
    return gateThroughManifests(t.paths, t.checksums.filter((c) => c.trim()), policy);
  }
  const groups = await gateTargets(t, storage);
  const artifacts = [];
  for (const g of groups) artifacts.push(...(await runGate(g.artifacts, g.discover, policy)).artifacts);
  return { ok: artifacts.length > 0 && artifacts.every((a) => a.ok), artifacts };
}

/** A verification result or gate report as JSON (bytes as hex), as both the CLI and the action write it. */
export function reportJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v), 2);
}
