/**
 * Package URLs that pin an artifact's digest, used as a statement's `sub` (DESIGN.md "Subjects bind
 * to bytes"): `pkg:oci/<name>@sha256:<hex>?repository_url=…` for images and
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

/**
 * The SHA-256 a package URL pins, if any: the digest version of `pkg:oci`, or the sha256 entry of a
 * `checksum` qualifier (a comma-separated list of `alg:hex`). Lets a gate find statements about exactly these bytes.
 */
export function pinnedSha256(purl: string): string | undefined {
  let parsed: PackageURL;
  try {
    parsed = PackageURL.fromString(purl);
  } catch (cause) {
    throw new PayloadError('ERR_SUBJECT_INVALID', `${JSON.stringify(purl)} is not a valid package URL: ${(cause as Error).message}`, { cause });
  }
  if (parsed.type === 'oci' && parsed.version?.startsWith('sha256:')) return parsed.version.slice(7).toLowerCase();
  const checksums = parsed.qualifiers?.checksum;
  for (const entry of checksums ? checksums.split(',') : []) {
    const [alg, hex] = entry.split(':');
    if (alg?.toLowerCase() === 'sha256' && hex && /^[0-9a-fA-F]{64}$/.test(hex)) return hex.toLowerCase();
  }
  return undefined;
}
