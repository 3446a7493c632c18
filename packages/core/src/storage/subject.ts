/**
 * Is a statement about an artifact? Its `sub` is a package URL that pins the artifact's SHA-256
 * (DESIGN.md "Subjects bind to bytes"): the version of `pkg:oci/<name>@sha256:<hex>`, or the sha256
 * entry of a `checksum` qualifier (`pkg:generic/<name>@<version>?checksum=sha256:<hex>`, a
 * comma-separated list of `algorithm:hex`). The purl is parsed (packageurl-js), never substring-matched:
 * a digest in a name, a version of another type or a second, different sha256 pins nothing.
 */
import { PackageURL } from 'packageurl-js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** `sha256:<hex>` (any case) → lower-case hex, or undefined when it is not exactly that. */
function sha256Of(value: string): string | undefined {
  const colon = value.indexOf(':');
  if (colon === -1 || value.slice(0, colon).toLowerCase() !== 'sha256') return undefined;
  const hex = value.slice(colon + 1).toLowerCase();
  return SHA256_HEX.test(hex) ? hex : undefined;
}

/**
 * The SHA-256 a statement subject pins, as lower-case hex; undefined when the subject is not a
 * package URL, pins no sha256, carries a malformed sha256 entry, or pins two different ones.
 */
export function subjectSha256(sub: string): string | undefined {
  if (!sub.startsWith('pkg:')) return undefined;
  let purl: PackageURL;
  try {
    purl = PackageURL.fromString(sub);
  } catch {
    return undefined;
  }
  const pinned = new Set<string>();
  if (purl.type === 'oci' && purl.version !== undefined && purl.version !== null) {
    const v = purl.version;
    if (v.toLowerCase().startsWith('sha256:')) {
      const hex = sha256Of(v);
      if (!hex) return undefined;
      pinned.add(hex);
    }
  }
  const checksum = purl.qualifiers?.checksum;
  if (checksum !== undefined) {
    for (const entry of checksum.split(',')) {
      const trimmed = entry.trim();
      if (!trimmed.toLowerCase().startsWith('sha256:')) continue;
      const hex = sha256Of(trimmed);
      if (!hex) return undefined;
      pinned.add(hex);
    }
  }
  return pinned.size === 1 ? [...pinned][0] : undefined;
}

/** True when `sub` pins exactly `sha256` (hex, any case). */
export function isStatementAbout(sub: string, sha256: string): boolean {
  const want = sha256.toLowerCase();
  return SHA256_HEX.test(want) && subjectSha256(sub) === want;
}

/** Throws-free check of an artifact digest given as hex or `sha256:<hex>`; returns lower-case hex or undefined. */
export function normaliseSha256(digest: string): string | undefined {
  const d = digest.trim();
  if (d.includes(':')) return sha256Of(d);
  const hex = d.toLowerCase();
  return SHA256_HEX.test(hex) ? hex : undefined;
}
