/**
 * Releases of any size through a checksums manifest: one statement about the bytes of a sha256sum-format
 * file (SHA256SUMS) covers every artifact it lists. The gate verifies the manifest like any artifact
 * (its statements beside it, with the whole policy); an artifact then passes when its name and the
 * digest we computed of its bytes are listed in a manifest that passed, shipped with it. An artifact a
 * verified manifest lists with other bytes is refused, never looked up elsewhere.
 */
import { basename } from 'node:path';
import { ScittError } from '../errors.ts';
import { type ArtifactVerdict, type GateArtifact, type GatePolicy, type GateReport, runGate } from './gate.ts';

/** A manifest larger than this is refused: 64 MiB is some 700,000 sha256sum lines. */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

interface Listed {
  sha256: string;
  manifest: string;
  line: number;
}

/**
 * Reads the manifest once, bounded, as a regular file opened without blocking (a FIFO never hangs the
 * gate); the digest gated and the entries trusted come from the same bytes. Not there: ERR_IO; not a
 * regular file or too large: a usage error, both exit 2.
 */
async function readManifest(path: string): Promise<Uint8Array> {
  const { readRegular } = await import('../storage/local-read.ts');
  try {
    return await readRegular(path, { what: 'checksums manifest', maxBytes: MAX_MANIFEST_BYTES, noFollow: false });
  } catch (e) {
    const code = (e as ScittError).code;
    throw new ScittError(code === 'ERR_STORAGE_NOT_FOUND' || code === 'ERR_IO' ? 'ERR_IO' : 'ERR_USAGE', (e as Error).message, { cause: e });
  }
}

/** Names as listed (`./dist/a.tgz`, `*a.tgz` already stripped by the parser) compared by their last component. */
const listedName = (name: string) => basename(name.replace(/\\/g, '/'));

/**
 * Gates the files `paths` through the checksums `manifests` (files, their statements beside them).
 * The report lists the manifests first, then every artifact: covered by a manifest, or gated on its own
 * statements when no verified manifest lists its name.
 */
export async function gateThroughManifests(paths: readonly string[], manifests: readonly string[], policy: GatePolicy): Promise<GateReport> {
  if (!manifests.length) throw new ScittError('ERR_USAGE', 'no checksums manifest given');
  // loaded for a gate through manifests only: the verify barrel (this module is in it) stays light for `scitt verify FILE`
  const [{ parseChecksums }, { sha256Files, sha256Hex }, { resolveSubjectPaths }, { discoverBeside }] = await Promise.all([
    import('../payload/checksums.ts'),
    import('../payload/hashing.ts'),
    import('../payload/subjects.ts'),
    import('./beside.ts'),
  ]);
  const beside = discoverBeside();
  const manifestArtifacts: GateArtifact[] = [];
  const bytesOf = new Map<string, Uint8Array>();
  for (const p of await resolveSubjectPaths(manifests)) {
    const bytes = await readManifest(p);
    bytesOf.set(p, bytes);
    manifestArtifacts.push({ name: basename(p), sha256: sha256Hex(bytes), path: p });
  }
  const manifestReport = await runGate(manifestArtifacts, beside, policy);

  const listed = new Map<string, Listed[]>();
  for (const v of manifestReport.artifacts) {
    if (!v.ok) continue;
    const text = new TextDecoder('utf-8', { fatal: false }).decode(bytesOf.get(v.artifact.path!)!);
    for (const e of parseChecksums(text, `checksums manifest ${v.artifact.name}`)) {
      const name = listedName(e.name);
      const entries = listed.get(name) ?? [];
      entries.push({ sha256: e.sha256, manifest: v.artifact.name, line: e.line });
      listed.set(name, entries);
    }
  }

  const manifestPaths = new Set(manifestArtifacts.map((m) => m.path));
  const files = (await sha256Files((await resolveSubjectPaths(paths)).filter((p) => !manifestPaths.has(p)))).map((d) => ({ name: basename(d.path), sha256: d.sha256, path: d.path }));
  const covered: ArtifactVerdict[] = [];
  const alone: GateArtifact[] = [];
  const verdictOf = new Map(manifestReport.artifacts.map((v) => [v.artifact.name, v]));
  for (const a of files) {
    const entries = listed.get(a.name);
    if (!entries) {
      alone.push(a);
      continue;
    }
    const match = entries.find((e) => e.sha256 === a.sha256);
    const other = entries.find((e) => e.sha256 !== a.sha256);
    if (match && !other) {
      const m = verdictOf.get(match.manifest)!;
      // the manifest's statements are in its own verdict, once, however many artifacts it covers
      covered.push({ artifact: a, ok: true, statements: [], evidence: m.evidence, problems: [], skipped: [], coveredBy: `${match.manifest}:${match.line}` });
    } else {
      const where = entries.map((e) => `${e.manifest} line ${e.line} (sha256:${e.sha256})`).join(', ');
      covered.push({
        artifact: a,
        ok: false,
        statements: [],
        evidence: [],
        skipped: [],
        problems: [
          match
            ? `${a.name} is listed with different digests in the verified manifests (${where}); which bytes were released is ambiguous`
            : `${a.name} has sha256:${a.sha256}, but the verified checksums manifest lists other bytes for it (${where}): the artifact changed after the manifest was signed`,
        ],
      });
    }
  }
  const aloneReport = alone.length ? await runGate(alone, beside, policy) : { ok: true, artifacts: [] };
  const artifacts = [...manifestReport.artifacts, ...covered, ...aloneReport.artifacts];
  return { ok: artifacts.every((a) => a.ok), artifacts };
}
