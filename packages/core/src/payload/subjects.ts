/**
 * Subjects: the artifacts a statement is about, each bound to its bytes by a SHA-256 digest and a
 * package URL that pins it. They come from files (paths and globs), explicit digests, checksums
 * files, and OCI image references; many per statement, up to MAX_SUBJECTS.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, isAbsolute, relative, resolve } from 'node:path';
import { PayloadError } from '../errors.ts';
import { parseChecksums } from './checksums.ts';
import { sha256Files, type HashOptions } from './hashing.ts';
import type { InTotoSubject } from './in-toto.ts';
import { ociName, parseOciReference } from './oci-reference.ts';
import { genericPurl, ociPurl } from './purl.ts';

/** Subjects per statement; more make a statement no policy can review, and are usually a glob gone wrong. */
// a bound on allocation, not a release size: python-build-standalone alone ships 1,131 artifacts (actions/attest#164 capped 1,024)
export const MAX_SUBJECTS = 100_000;

export interface Subject {
  /** file base name, the name given with a digest, or `registry/repository` for an image */
  name: string;
  digest: { sha256: string };
  /** package URL pinning the digest: the statement's `sub` */
  purl: string;
  /** the local file it was hashed from */
  path?: string;
  size?: number;
}

export interface SubjectOptions {
  /** version for `pkg:generic` package URLs (e.g. the release tag) */
  version?: string;
  /** maximum number of subjects; default MAX_SUBJECTS */
  limit?: number;
}

export interface PathSubjectOptions extends SubjectOptions, HashOptions {
  /** base directory for relative paths and globs; default process.cwd() */
  cwd?: string;
  /** name files by base name (default, as actions/attest does) or by path relative to cwd */
  nameFrom?: 'basename' | 'relative-path';
}

const SHA256_DIGEST = /^sha256:([0-9a-fA-F]{64})$/;

function tooMany(count: number, limit: number, where: string): PayloadError {
  return new PayloadError(
    'ERR_SUBJECT_LIMIT',
    `${where} ${count} subjects; a statement may have at most ${limit} — narrow the glob or split the artifacts over several statements`,
  );
}

function checkName(name: string): string {
  if (!name.trim()) throw new PayloadError('ERR_SUBJECT_INVALID', 'a subject needs a non-empty name');
  return name;
}

/** A subject from a name and an explicit `sha256:<64 hex>` digest. */
export function subjectFromDigest(name: string, digest: string, options: SubjectOptions = {}): Subject {
  const m = SHA256_DIGEST.exec(digest.trim());
  if (!m) {
    throw new PayloadError('ERR_SUBJECT_INVALID', `subject digest ${JSON.stringify(digest)} for ${JSON.stringify(name)} is not sha256:<64 hex digits>`);
  }
  const sha256 = m[1]!.toLowerCase();
  return { name: checkName(name), digest: { sha256 }, purl: genericPurl(name, sha256, options.version) };
}

/** A subject from an OCI image reference pinned by digest, optionally with a tag. */
export function subjectFromOciReference(reference: string): Subject {
  const ref = parseOciReference(reference.trim());
  return { name: ociName(ref), digest: { sha256: ref.digest.hex }, purl: ociPurl(ref) };
}

/** Subjects from the text of a sha256sum-style checksums file. */
export function subjectsFromChecksums(text: string, options: SubjectOptions & { what?: string } = {}): Subject[] {
  const entries = parseChecksums(text, options.what);
  const limit = options.limit ?? MAX_SUBJECTS;
  if (entries.length > limit) throw tooMany(entries.length, limit, `${options.what ?? 'the checksums file'} lists`);
  // sha256sum prefixes names with ./ or a directory; the artifact's name is its base name
  return entries.map((e) => subjectFromDigest(basename(e.name), `sha256:${e.sha256}`, options));
}

/** Subjects from a checksums file on disk. */
export async function subjectsFromChecksumsFile(path: string, options: SubjectOptions = {}): Promise<Subject[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new PayloadError('ERR_SUBJECT_NOT_FOUND', `cannot read the checksums file ${path}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, { cause });
  }
  return subjectsFromChecksums(text, { ...options, what: path });
}

/** Expands paths and globs to files: a literal path must exist and not be a directory; a glob must match at least one file. */
export async function resolveSubjectPaths(patterns: readonly string[], options: { cwd?: string; limit?: number } = {}): Promise<string[]> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const limit = options.limit ?? MAX_SUBJECTS;
  const files = new Set<string>();
  // tinyglobby is loaded for a pattern with a glob character, and then says whether it is a glob: plain paths never load it
  let globber: typeof import('tinyglobby') | undefined;
  for (const pattern of patterns) {
    if (!pattern.trim()) throw new PayloadError('ERR_SUBJECT_INVALID', 'an empty subject path was given');
    if (/[*?[\]{}()!+@\\]/.test(pattern) && (globber ??= await import('tinyglobby')).isDynamicPattern(pattern)) {
      const matches = await globber.glob(pattern, { cwd, onlyFiles: true, absolute: true, dot: false, followSymbolicLinks: true, expandDirectories: false });
      if (!matches.length) {
        throw new PayloadError('ERR_SUBJECT_NO_MATCH', `the glob ${JSON.stringify(pattern)} matches no files under ${cwd}; check the pattern and that the build wrote its outputs there`);
      }
      for (const m of matches.sort()) files.add(resolve(m));
    } else {
      const abs = isAbsolute(pattern) ? pattern : resolve(cwd, pattern);
      let info;
      try {
        info = await stat(abs);
      } catch (cause) {
        throw new PayloadError('ERR_SUBJECT_NOT_FOUND', `subject path ${pattern} does not exist (looked in ${cwd})`, { cause });
      }
      if (info.isDirectory()) {
        throw new PayloadError('ERR_SUBJECT_DIRECTORY', `subject path ${pattern} is a directory; name the files, or use a glob such as ${pattern.replace(/\/$/, '')}/**`);
      }
      files.add(abs);
    }
    // checked per pattern so a runaway glob stops before the next one is expanded or anything is hashed
    if (files.size > limit) throw tooMany(files.size, limit, 'the subject paths and globs give');
  }
  return [...files];
}

/** Subjects from files, paths and globs; hashes them (with progress). */
export async function subjectsFromPaths(patterns: readonly string[], options: PathSubjectOptions = {}): Promise<Subject[]> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const files = await resolveSubjectPaths(patterns, { cwd, limit: options.limit });
  const digests = await sha256Files(files, options);
  return digests.map((d) => {
    const name = options.nameFrom === 'relative-path' ? relative(cwd, d.path).split('\\').join('/') : basename(d.path);
    return { name, digest: { sha256: d.sha256 }, purl: genericPurl(name, d.sha256, options.version), path: d.path, size: d.size };
  });
}

export interface SubjectInputs {
  /** files and globs */
  paths?: readonly string[];
  /** explicit name + `sha256:<hex>` */
  digests?: readonly { name: string; digest: string }[];
  /** sha256sum-style checksums files */
  checksumFiles?: readonly string[];
  /** OCI references pinned by digest */
  images?: readonly string[];
}

/**
 * All subjects of a statement from every source, in input order. Identical subjects collapse to one;
 * one name with two digests is refused, since a verifier could not tell which artifact is meant.
 */
export async function collectSubjects(inputs: SubjectInputs, options: PathSubjectOptions = {}): Promise<Subject[]> {
  const limit = options.limit ?? MAX_SUBJECTS;
  const all: Subject[] = [];
  for (const d of inputs.digests ?? []) all.push(subjectFromDigest(d.name, d.digest, options));
  for (const image of inputs.images ?? []) all.push(subjectFromOciReference(image));
  for (const file of inputs.checksumFiles ?? []) all.push(...(await subjectsFromChecksumsFile(file, options)));
  if (all.length > limit) throw tooMany(all.length, limit, 'the inputs name');
  if (inputs.paths?.length) all.push(...(await subjectsFromPaths(inputs.paths, { ...options, limit: limit - all.length })));
  const byName = new Map<string, Subject>();
  const out: Subject[] = [];
  for (const s of all) {
    const seen = byName.get(s.name);
    if (!seen) {
      byName.set(s.name, s);
      out.push(s);
    } else if (seen.digest.sha256 !== s.digest.sha256) {
      throw new PayloadError(
        'ERR_SUBJECT_INVALID',
        `two subjects are named ${JSON.stringify(s.name)} with different digests (${seen.digest.sha256.slice(0, 12)}…, ${s.digest.sha256.slice(0, 12)}…); give them distinct names (e.g. name files by relative path)`,
      );
    }
  }
  if (!out.length) throw new PayloadError('ERR_SUBJECT_INVALID', 'no subjects were given: pass subject paths, digests, a checksums file or an image reference');
  if (out.length > limit) throw tooMany(out.length, limit, 'the inputs name');
  return out;
}

/** The in-toto ResourceDescriptor of a subject: `{ name, digest: { sha256 } }`. */
export function toInTotoSubject(subject: Subject): InTotoSubject {
  return { name: subject.name, digest: { sha256: subject.digest.sha256 } };
}
