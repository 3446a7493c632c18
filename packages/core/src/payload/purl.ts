/**
 * Package URLs that pin an artifact's digest, used as a statement's `sub` (DESIGN.md "Subjects bind
 * to bytes"), and reading back the digest a subject pins (parsed, never substring-matched): `pkg:oci/<name>@sha256:<hex>?repository_url=…` for images and
 * `pkg:generic/<name>[@<version>]?checksum=sha256:<hex>` for files. Built and read with packageurl-js.
 */
import type { PackageURL } from 'packageurl-js';
import { packageUrl } from '../lazy-deps.cjs';
import { PayloadError } from '../errors.ts';
import { ociName, type OciReference } from './oci-reference.ts';

/**
 * packageurl-js, loaded on first use. Loading it builds an Intl.Collator (its strings.js), used once, to
 * order its own component names, which it maps to small integers: ICU's collation set-up, about 25 ms
 * of every start that reads a purl. While it loads, Intl.Collator is a stand-in that orders strings of
 * ASCII digits by code unit, exactly as the root collation orders them, and hands anything else to a
 * real Collator, made then.
 */
export function purlLibrary(): typeof import('packageurl-js') {
  if (loadedPurl) return loadedPurl;
  const { Collator } = Intl;
  let real: Intl.Collator | undefined;
  const digits = /^[0-9]+$/;
  const compare = (a: unknown, b: unknown): number => {
    const x = String(a);
    const y = String(b);
    if (digits.test(x) && digits.test(y)) return x < y ? -1 : x > y ? 1 : 0;
    return (real ??= new Collator()).compare(x, y);
  };
  // a plain function: packageurl-js calls `new Intl.Collator()` and takes only its compare
  Intl.Collator = function StandInCollator() {
    return { compare };
  } as unknown as typeof Intl.Collator;
  try {
    loadedPurl = packageUrl();
  } finally {
    Intl.Collator = Collator;
  }
  return loadedPurl;
}
let loadedPurl: typeof import('packageurl-js') | undefined;

/** `pkg:generic/<name>[@<version>]?checksum=sha256:<hex>` */
export function genericPurl(name: string, sha256: string, version?: string): string {
  try {
    // packageurl-js percent-encodes ':' in qualifier values; the purl spec's canonical form (and its test suite) does not
    return new (purlLibrary().PackageURL)('generic', undefined, name, version || undefined, { checksum: `sha256:${sha256}` }, undefined).toString().replace(/checksum=sha256%3A/, 'checksum=sha256:');
  } catch (cause) {
    throw new PayloadError('ERR_SUBJECT_INVALID', `cannot make a package URL for ${JSON.stringify(name)}: ${(cause as Error).message}`, { cause });
  }
}

/** `pkg:oci/<last path component>@sha256:<hex>?repository_url=<registry/repository>[&tag=<tag>]` (purl-spec, type oci). */
export function ociPurl(ref: OciReference): string {
  const name = ref.repository.slice(ref.repository.lastIndexOf('/') + 1);
  const qualifiers: Record<string, string> = { repository_url: ociName(ref) };
  if (ref.tag) qualifiers.tag = ref.tag;
  return new (purlLibrary().PackageURL)('oci', undefined, name, `sha256:${ref.digest.hex}`, qualifiers, undefined).toString();
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** `sha256:<hex>` (any case) → lower-case hex, or undefined when it is not exactly that. */
function sha256Of(value: string): string | undefined {
  const colon = value.indexOf(':');
  if (colon === -1 || value.slice(0, colon).toLowerCase() !== 'sha256') return undefined;
  const hex = value.slice(colon + 1).toLowerCase();
  return SHA256_HEX.test(hex) ? hex : undefined;
}

/** What a statement subject pins: nothing, one SHA-256, a digest of another algorithm, or something ambiguous. */
export type SubjectPin =
  | { pins: 'none' }
  | { pins: 'sha256'; sha256: string }
  | { pins: 'other'; algorithm: string }
  | { pins: 'ambiguous'; reason: string };

/**
 * Reads the digest a package URL subject pins. Exactly one digest, in exactly one place, or the
 * subject is ambiguous: a verifier and an issuer must never disagree on which bytes are meant, so a
 * qualifier given twice (in any case or encoding), several checksums, a version digest plus a
 * checksum, a malformed digest or a subpath inside a pinned package are all refused.
 */
export function subjectPin(sub: string): SubjectPin {
  // a pure function of the string, asked several times per statement (discovery, verification, the gate): read once
  const known = pinned.get(sub);
  if (known) return known;
  const pin = Object.freeze(readPin(sub));
  if (sub.length <= MEMO_MAX_SUB) {
    if (pinned.size >= MEMO_ENTRIES) pinned.delete(pinned.keys().next().value!);
    pinned.set(sub, pin);
  }
  return pin;
}

/** Subjects remembered by subjectPin: the most recent, each no longer than a package URL needs to be. */
const MEMO_ENTRIES = 4096;
const MEMO_MAX_SUB = 2048;
const pinned = new Map<string, SubjectPin>();

function readPin(sub: string): SubjectPin {
  if (!sub.startsWith('pkg:')) return { pins: 'none' };
  const ambiguous = (reason: string): SubjectPin => ({ pins: 'ambiguous', reason: `subject ${JSON.stringify(sub.slice(0, 200))} ${reason}` });
  let purl: PackageURL;
  try {
    purl = purlLibrary().PackageURL.fromString(sub);
  } catch (e) {
    return ambiguous(`is not a valid package URL (${(e as Error).message})`);
  }
  // packageurl-js keeps one value per key: count the keys as written, decoded and case-folded (purl-spec: keys are case-insensitive)
  const query = sub.includes('?') ? sub.slice(sub.indexOf('?') + 1).split('#')[0]! : '';
  const seen = new Set<string>();
  for (const pair of query.split('&').filter(Boolean)) {
    let key: string;
    try {
      key = decodeURIComponent(pair.split('=')[0]!).toLowerCase();
    } catch {
      return ambiguous('has a qualifier key that is not valid percent-encoding');
    }
    if (seen.has(key)) return ambiguous(`gives the qualifier ${JSON.stringify(key)} more than once`);
    seen.add(key);
  }
  const digests: string[] = [];
  if (purl.type === 'oci' && purl.version && purl.version.includes(':')) digests.push(purl.version);
  const checksum = purl.qualifiers?.checksum;
  if (checksum !== undefined) digests.push(...checksum.split(','));
  if (digests.length === 0) return { pins: 'none' };
  if (digests.length > 1) return ambiguous(`pins ${digests.length} digests (${digests.map((d) => d.trim().split(':')[0]).join(', ')}); a subject must pin exactly one`);
  if (purl.subpath) return ambiguous('pins a package but names a subpath inside it');
  const entry = digests[0]!.trim();
  const colon = entry.indexOf(':');
  const algorithm = entry.slice(0, colon).toLowerCase();
  if (colon <= 0 || colon === entry.length - 1) return ambiguous(`has a digest ${JSON.stringify(entry.slice(0, 80))} that is not ALGORITHM:HEX`);
  if (algorithm !== 'sha256') return { pins: 'other', algorithm };
  const hex = sha256Of(entry);
  return hex ? { pins: 'sha256', sha256: hex } : ambiguous('has a sha256 digest that is not 64 hex digits');
}

/**
 * The SHA-256 a statement subject pins, as lower-case hex; undefined when the subject is not a
 * package URL, pins no sha256, or is ambiguous (see subjectPin).
 */
export function subjectSha256(sub: string): string | undefined {
  const p = subjectPin(sub);
  return p.pins === 'sha256' ? p.sha256 : undefined;
}

/** Issuing: refuses a subject that pins its digest ambiguously (what verification and discovery would refuse). */
export function assertSubjectUnambiguous(sub: string): void {
  const p = subjectPin(sub);
  if (p.pins === 'ambiguous') throw new PayloadError('ERR_SUBJECT_INVALID', `${p.reason}: name the artifact with one sha256 digest, e.g. pkg:generic/NAME?checksum=sha256:HEX`);
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
