/**
 * Image references for the OCI backend: `[oci://]registry/repository(:tag|@sha256:<hex>|:tag@sha256:<hex>)`,
 * by the grammar of the distribution reference format. Unlike a statement subject, a reference here
 * may name a tag: the store resolves it to the manifest digest (HEAD manifest) before anything is
 * attached or discovered.
 */
import { StorageError } from '../../errors.ts';

export interface ImageReference {
  /** host[:port]; `docker.io` when the reference names none */
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  /** `sha256:<lower-case hex>` */
  readonly digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:]+\])(?::\d{1,5})?$/;

/**
 * The distribution reference grammar: core's one parser of image references, used by the OCI store
 * (parseImageReference) and by statement subjects (payload/oci-reference.ts). `refuse` makes the
 * caller's own error, so each says what to do in its own terms. A digest, when present, is sha256.
 */
export function parseReference(ref: string, refuse: (why: string) => Error): ImageReference {
  let name = ref;
  let digest: string | undefined;
  const at = ref.indexOf('@');
  if (at !== -1) {
    name = ref.slice(0, at);
    const text = ref.slice(at + 1);
    const d = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([0-9a-fA-F]+)$/.exec(text);
    if (!d) throw refuse(`has a malformed digest ${JSON.stringify(text)}; expected sha256:<64 hex>`);
    if (d[1] !== 'sha256') throw refuse(`uses digest algorithm ${d[1]}; images are pinned by sha256`);
    if (d[2]!.length !== 64) throw refuse(`has a sha256 digest of ${d[2]!.length} hex digits; it must have 64`);
    digest = `sha256:${d[2]!.toLowerCase()}`;
  }
  // a tag follows the last ':' after the last '/' (a ':' before it is a registry port)
  const slash = name.lastIndexOf('/');
  const colon = name.indexOf(':', slash + 1);
  const path = colon === -1 ? name : name.slice(0, colon);
  const tag = colon === -1 ? undefined : name.slice(colon + 1);
  if (tag !== undefined && !TAG.test(tag)) throw refuse(`has an invalid tag ${JSON.stringify(tag)}`);

  const parts = path.split('/');
  // the first component is a registry when it looks like a host: a dot, a port, or localhost
  const first = parts[0]!;
  const hasRegistry = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['));
  const registry = hasRegistry ? first : 'docker.io';
  const repoParts = hasRegistry ? parts.slice(1) : parts;
  if (hasRegistry && !HOST.test(registry)) throw refuse(`has an invalid registry ${JSON.stringify(registry)}`);
  if (!repoParts.length || repoParts.some((p) => !COMPONENT.test(p))) {
    throw refuse(`has an invalid repository ${JSON.stringify(repoParts.join('/'))}: components are lower-case letters, digits and single separators (. _ __ -)`);
  }
  const repository = registry === 'docker.io' && repoParts.length === 1 ? `library/${repoParts[0]}` : repoParts.join('/');
  if (repository.length > 255) throw refuse('has a repository name of 256 characters or more');
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** A reference for the OCI store, `oci://` optional: a tag (resolved by the store) or a digest, or both. */
export function parseImageReference(input: string): ImageReference {
  const refuse = (why: string) =>
    new StorageError('ERR_STORAGE_TARGET', `OCI reference ${JSON.stringify(input)} ${why}; expected registry/repository:tag or registry/repository@sha256:<64 hex>`);
  const ref = parseReference(input.startsWith('oci://') ? input.slice('oci://'.length) : input, refuse);
  if (ref.tag === undefined && ref.digest === undefined) throw refuse('names neither a tag nor a digest');
  return ref;
}

/** `registry/repository[:tag][@digest]` */
export function formatImageReference(r: ImageReference): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** The host the registry API is served from (Docker Hub's API is not at docker.io). */
export function registryHost(registry: string): string {
  return registry === 'docker.io' || registry === 'index.docker.io' ? 'registry-1.docker.io' : registry;
}

/** Loopback registries speak plain HTTP by default; every other registry HTTPS. */
export function isLoopback(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
