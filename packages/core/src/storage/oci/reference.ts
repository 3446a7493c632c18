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

function fail(ref: string, why: string): StorageError {
  return new StorageError('ERR_STORAGE_TARGET', `OCI reference ${JSON.stringify(ref)} ${why}; expected registry/repository:tag or registry/repository@sha256:<64 hex>`);
}

export function parseImageReference(input: string): ImageReference {
  const ref = input.startsWith('oci://') ? input.slice('oci://'.length) : input;
  let name = ref;
  let digest: string | undefined;
  const at = ref.indexOf('@');
  if (at !== -1) {
    name = ref.slice(0, at);
    const d = /^sha256:([0-9a-fA-F]{64})$/.exec(ref.slice(at + 1));
    if (!d) throw fail(input, `has digest ${JSON.stringify(ref.slice(at + 1))}, which is not sha256:<64 hex>`);
    digest = `sha256:${d[1]!.toLowerCase()}`;
  }
  // a tag follows the last ':' after the last '/' (a ':' before it is a registry port)
  const slash = name.lastIndexOf('/');
  const colon = name.indexOf(':', slash + 1);
  const path = colon === -1 ? name : name.slice(0, colon);
  const tag = colon === -1 ? undefined : name.slice(colon + 1);
  if (tag !== undefined && !TAG.test(tag)) throw fail(input, `has an invalid tag ${JSON.stringify(tag)}`);
  if (tag === undefined && digest === undefined) throw fail(input, 'names neither a tag nor a digest');

  const parts = path.split('/');
  const first = parts[0]!;
  const hasRegistry = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['));
  const registry = hasRegistry ? first : 'docker.io';
  const repoParts = hasRegistry ? parts.slice(1) : parts;
  if (hasRegistry && !HOST.test(registry)) throw fail(input, `has an invalid registry ${JSON.stringify(registry)}`);
  if (!repoParts.length || repoParts.some((p) => !COMPONENT.test(p))) {
    throw fail(input, `has an invalid repository ${JSON.stringify(repoParts.join('/'))} (lower-case letters, digits and single separators . _ __ -)`);
  }
  const repository = registry === 'docker.io' && repoParts.length === 1 ? `library/${repoParts[0]}` : repoParts.join('/');
  if (repository.length > 255) throw fail(input, 'has a repository name of 256 characters or more');
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
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
