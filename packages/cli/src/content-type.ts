/**
 * The content type of `scitt statement create --payload FILE --sub …`, found as the subject mode finds
 * it: the evidence is detected and validated, and --type refuses evidence of another kind. A payload
 * that is no known evidence needs an explicit --content-type, or --no-content-type to sign it without one.
 */
import { readEvidenceFile, type EvidenceKind } from '@scitt-actions/core/payload';
import { UsageError } from './run.ts';

const KINDS = ['auto', 'sbom', 'in-toto', 'provenance', 'scan'];

export async function contentTypeFor(o: { payload: string; contentType?: string | false; type?: string }): Promise<string | undefined> {
  if (o.contentType === false) return undefined;
  if (typeof o.contentType === 'string') return o.contentType;
  const expected = (o.type ?? 'auto') as EvidenceKind | 'auto';
  if (!KINDS.includes(expected)) throw new UsageError(`--type must be sbom, in-toto, provenance, scan or auto; got ${o.type}`);
  try {
    return (await readEvidenceFile(o.payload, { expected })).mediaType;
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ERR_PAYLOAD_UNKNOWN_FORMAT') {
      throw new UsageError(`${(e as Error).message}; if ${o.payload} is meant to be signed as it is, say its media type with --content-type TYPE, or pass --no-content-type`);
    }
    throw e;
  }
}
