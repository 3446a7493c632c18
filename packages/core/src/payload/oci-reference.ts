/**
 * OCI image references (`[registry/]repository[:tag]@sha256:<hex>`) by the grammar of the
 * distribution reference format. A subject must be pinned by digest: a tag alone can move.
 */
import { PayloadError } from '../errors.ts';
import { parseReference } from '../storage/oci/reference.ts';

export interface OciReference {
  /** registry host[:port]; `docker.io` when the reference names none */
  registry: string;
  /** repository path; Docker Hub's official images get `library/` */
  repository: string;
  tag?: string;
  /** digest algorithm and lower-case hex value */
  digest: { algorithm: 'sha256'; hex: string };
}

/** Parses an OCI reference that carries a sha256 digest (the grammar is storage/oci/reference.ts's). */
export function parseOciReference(ref: string): OciReference {
  const refuse = (why: string) => new PayloadError('ERR_OCI_REFERENCE', `OCI reference ${JSON.stringify(ref)} ${why}`);
  if (!ref.includes('@')) {
    throw refuse('has no digest; pin the image as registry/repository@sha256:<64 hex> (the digest your build or `docker buildx imagetools inspect` prints)');
  }
  const { registry, repository, tag, digest } = parseReference(ref, refuse);
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), digest: { algorithm: 'sha256', hex: digest!.slice('sha256:'.length) } };
}

/** `registry/repository` — the subject name attestations use for an image. */
export function ociName(ref: OciReference): string {
  return `${ref.registry}/${ref.repository}`;
}
