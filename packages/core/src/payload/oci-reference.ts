/**
 * OCI image references (`[registry/]repository[:tag]@sha256:<hex>`) by the grammar of the
 * distribution reference format. A subject must be pinned by digest: a tag alone can move.
 */
import { PayloadError } from '../errors.ts';

export interface OciReference {
  /** registry host[:port]; `docker.io` when the reference names none */
  registry: string;
  /** repository path; Docker Hub's official images get `library/` */
  repository: string;
  tag?: string;
  /** digest algorithm and lower-case hex value */
  digest: { algorithm: 'sha256'; hex: string };
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:]+\])(?::\d+)?$/;

function fail(ref: string, why: string): PayloadError {
  return new PayloadError('ERR_OCI_REFERENCE', `OCI reference ${JSON.stringify(ref)} ${why}`);
}

/** Parses an OCI reference that carries a sha256 digest. */
export function parseOciReference(ref: string): OciReference {
  const at = ref.indexOf('@');
  if (at === -1) {
    throw fail(ref, 'has no digest; pin the image as registry/repository@sha256:<64 hex> (the digest your build or `docker buildx imagetools inspect` prints)');
  }
  const name = ref.slice(0, at);
  const digest = ref.slice(at + 1);
  const d = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([0-9a-fA-F]+)$/.exec(digest);
  if (!d) throw fail(ref, `has a malformed digest ${JSON.stringify(digest)}; expected sha256:<64 hex>`);
  if (d[1] !== 'sha256') throw fail(ref, `uses digest algorithm ${d[1]}; subjects are pinned by sha256`);
  if (d[2]!.length !== 64) throw fail(ref, `has a sha256 digest of ${d[2]!.length} hex digits; it must have 64`);

  // an optional tag follows the last ':' after the last '/' (a ':' before it is a registry port)
  const slash = name.lastIndexOf('/');
  const colon = name.indexOf(':', slash + 1);
  const path = colon === -1 ? name : name.slice(0, colon);
  const tag = colon === -1 ? undefined : name.slice(colon + 1);
  if (tag !== undefined && !TAG.test(tag)) throw fail(ref, `has an invalid tag ${JSON.stringify(tag)}`);

  const parts = path.split('/');
  // the first component is a registry when it looks like a host: a dot, a port, or localhost
  const first = parts[0]!;
  const hasRegistry = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['));
  const registry = hasRegistry ? first : 'docker.io';
  const repoParts = hasRegistry ? parts.slice(1) : parts;
  if (hasRegistry && !HOST.test(registry)) throw fail(ref, `has an invalid registry ${JSON.stringify(registry)}`);
  if (!repoParts.length || repoParts.some((p) => !COMPONENT.test(p))) {
    throw fail(ref, `has an invalid repository ${JSON.stringify(repoParts.join('/'))}: components are lower-case letters, digits and single separators (. _ __ -)`);
  }
  const repository = registry === 'docker.io' && repoParts.length === 1 ? `library/${repoParts[0]}` : repoParts.join('/');
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), digest: { algorithm: 'sha256', hex: d[2]!.toLowerCase() } };
}

/** `registry/repository` — the subject name attestations use for an image. */
export function ociName(ref: OciReference): string {
  return `${ref.registry}/${ref.repository}`;
}
