/**
 * Package URLs that pin an artifact's digest, used as a statement's `sub` (DESIGN.md "Subjects bind
 * to bytes"), and reading back the digest a subject pins (parsed, never substring-matched): `pkg:oci/<name>@sha256:<hex>?repository_url=…` for images and
 * `pkg:generic/<name>[@<version>]?checksum=sha256:<hex>` for files. Built and read with packageurl-js.
 */
import { PackageURL } from 'packageurl-js';
import { PayloadError } from '../errors.ts';
import { ociName, type OciReference } from './oci-reference.ts';

/** `pkg:generic/<name>[@<version>]?checksum=sha256:<hex>` */
export function genericPurl(name: string, sha256: string, version?: string): string {
  try {
    // packageurl-js percent-encodes ':' in qualifier values; the purl spec's canonical form (and its test suite) does not
    return new PackageURL('generic', undefined, name, version || undefined, { checksum: `sha256:${sha256}` }, undefined).toString().replace(/checksum=sha256%3A/, 'checksum=sha256:');
  } catch (cause) {
    throw new PayloadError('ERR_SUBJECT_INVALID', `cannot make a package URL for ${JSON.stringify(name)}: ${(cause as Error).message}`, { cause });
  }
}

/** `pkg:oci/<last path component>@sha256:<hex>?repository_url=<registry/repository>[&tag=<tag>]` (purl-spec, type oci). */
export function ociPurl(ref: OciReference): string {
  const name = ref.repository.slice(ref.repository.lastIndexOf('/') + 1);
  const qualifiers: Record<string, string> = { repository_url: ociName(ref) };
  if (ref.tag) qualifiers.tag = ref.tag;
  return new PackageURL('oci', undefined, name, `sha256:${ref.digest.hex}`, qualifiers, undefined).toString();
}

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
