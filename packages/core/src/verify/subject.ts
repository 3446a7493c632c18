/**
 * Subjects bind to bytes (DESIGN.md): a statement's `sub` is a package URL that pins the artifact's
 * SHA-256 — as the version of pkg:oci (`@sha256:<hex>`) or in a `checksum` qualifier
 * (`?checksum=sha256:<hex>[,…]`, purl spec). This reads those digests precisely, never by substring.
 */
import { PackageURL } from 'packageurl-js';

const SHA256 = /^sha256:([0-9a-f]{64})$/;

/** The SHA-256 digests (lower-case hex) a subject pins; empty when it pins none. */
export function subjectDigests(sub: string): string[] {
  let purl: PackageURL;
  try {
    purl = PackageURL.fromString(sub);
  } catch {
    return [];
  }
  const out = new Set<string>();
  const fromVersion = purl.version ? SHA256.exec(purl.version.toLowerCase()) : null;
  if (fromVersion) out.add(fromVersion[1]!);
  const checksum = purl.qualifiers?.checksum ?? purl.qualifiers?.checksums;
  for (const c of checksum ? String(checksum).split(',') : []) {
    const m = SHA256.exec(c.trim().toLowerCase());
    if (m) out.add(m[1]!);
  }
  return [...out];
}

export function subjectPinsDigest(sub: string, sha256Hex: string): boolean {
  return subjectDigests(sub).includes(sha256Hex.toLowerCase());
}
