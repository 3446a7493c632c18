/** Media types and fixed objects of the OCI Image and Distribution specifications used by the OCI backend. */
import { STATEMENT_MEDIA_TYPE } from '../../statement/profile.ts';

export { STATEMENT_MEDIA_TYPE };

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
/** what a subject may be: image manifests and indexes, OCI or Docker */
export const MANIFEST_ACCEPT = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST].join(', ');

/** The empty descriptor (image-spec "Guidance for an Empty Descriptor"): config of an artifact manifest. */
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
export const EMPTY_JSON = new TextEncoder().encode('{}');
export const EMPTY_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

/** Pre-defined annotation: a layer's file name (ORAS and others use it to name what they pull). */
export const ANNOTATION_TITLE = 'org.opencontainers.image.title';
/**
 * This project's annotations on a statement's referrer manifest. Annotations are copied into the
 * referrers list, so discovery reads the statement blob straight from the list (one request per
 * statement, no manifest fetch); the blob is still fetched by digest and checked like any other.
 */
export const ANNOTATION_STATEMENT_DIGEST = 'dev.scitt-actions.statement.digest';
/** hex SHA-256 of the statement's log entry: lets attach spot the same signed statement without fetching it */
export const ANNOTATION_STATEMENT_ID = 'dev.scitt-actions.statement.id';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  data?: string;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isSha256Digest(d: unknown): d is string {
  return typeof d === 'string' && DIGEST.test(d);
}

/** A descriptor from untrusted JSON, or undefined when it is not one this client can use. */
export function readDescriptor(v: unknown): Descriptor | undefined {
  const d = v as Partial<Descriptor> | null;
  if (!d || typeof d !== 'object' || typeof d.mediaType !== 'string' || !isSha256Digest(d.digest) || !Number.isSafeInteger(d.size) || (d.size as number) < 0) return undefined;
  if (d.artifactType !== undefined && typeof d.artifactType !== 'string') return undefined;
  const annotations: Record<string, string> = {};
  if (d.annotations !== undefined) {
    if (typeof d.annotations !== 'object' || d.annotations === null) return undefined;
    for (const [k, val] of Object.entries(d.annotations)) if (typeof val === 'string') annotations[k] = val;
  }
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size as number,
    ...(d.artifactType !== undefined ? { artifactType: d.artifactType } : {}),
    ...(d.annotations !== undefined ? { annotations } : {}),
  };
}

/** The Referrers Tag Schema tag of a digest: `<alg>-<hex>` (distribution-spec 1.1). */
export function referrersTag(digest: string): string {
  const [alg, hex] = digest.split(':') as [string, string];
  return `${alg.slice(0, 32).replace(/[^a-zA-Z0-9_.-]/g, '-')}-${hex.slice(0, 64).replace(/[^a-zA-Z0-9_.-]/g, '-')}`;
}
