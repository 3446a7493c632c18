/**
 * in-toto attestations: Statement v1 as plain JSON, or inside a DSSE envelope whose payloadType is
 * application/vnd.in-toto+json. A SLSA Provenance v1 predicate is validated as well.
 */
import { PayloadError } from '../errors.ts';
import { IN_TOTO_STATEMENT_V01, IN_TOTO_STATEMENT_V1, MediaType, SLSA_PROVENANCE_V1 } from './media-types.ts';
import { validateSchema } from './schemas.ts';
import { decodeUtf8, isObject, parseJson } from './text.ts';

/** in-toto ResourceDescriptor as used for subjects: a name and a DigestSet. */
export interface InTotoSubject {
  name: string;
  digest: Record<string, string>;
}

export interface InTotoStatement<P = Record<string, unknown>> {
  _type: typeof IN_TOTO_STATEMENT_V1;
  subject: InTotoSubject[];
  predicateType: string;
  predicate?: P;
}

export interface DsseEnvelope {
  payloadType: string;
  /** base64 of the serialized statement */
  payload: string;
  signatures: { keyid?: string; sig: string }[];
}

/** True for an object whose shape is a DSSE envelope (payloadType + payload + signatures). */
export function looksLikeDsse(doc: Record<string, unknown>): boolean {
  return typeof doc.payloadType === 'string' && 'payload' in doc && 'signatures' in doc;
}

/** Validates an in-toto Statement v1 (and its SLSA Provenance v1 predicate, when it has one). */
export async function validateStatement(document: Record<string, unknown>, what: string): Promise<InTotoStatement> {
  if (document._type === IN_TOTO_STATEMENT_V01) {
    throw new PayloadError('ERR_PAYLOAD_UNSUPPORTED_VERSION', `${what} is an in-toto Statement v0.1; only ${IN_TOTO_STATEMENT_V1} is supported — regenerate it with a current in-toto/SLSA tool`);
  }
  await validateSchema('in-toto Statement v1', document, what);
  if (document.predicateType === SLSA_PROVENANCE_V1) {
    if (!isObject(document.predicate)) throw new PayloadError('ERR_PAYLOAD_SCHEMA', `${what} declares ${SLSA_PROVENANCE_V1} but has no predicate object`);
    await validateSchema('SLSA Provenance v1', document.predicate, `${what} (predicate)`);
  }
  return document as unknown as InTotoStatement;
}

/** Standard or URL-safe base64 (DSSE allows both) → bytes, refusing anything else. */
function base64(value: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(value) || value.replace(/=+$/, '').length % 4 === 1) {
    throw new PayloadError('ERR_PAYLOAD_MALFORMED', `${what}: the DSSE payload is not base64`);
  }
  return Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64');
}

/** Validates a DSSE envelope carrying an in-toto statement; returns the envelope and the decoded statement. Signatures are not verified here. */
export async function openDsseEnvelope(document: Record<string, unknown>, what: string): Promise<{ envelope: DsseEnvelope; statement: InTotoStatement }> {
  await validateSchema('DSSE envelope', document, what);
  const envelope = document as unknown as DsseEnvelope;
  if (envelope.payloadType !== MediaType.InTotoJson) {
    throw new PayloadError(
      'ERR_PAYLOAD_UNKNOWN_FORMAT',
      `${what} is a DSSE envelope of payloadType ${JSON.stringify(envelope.payloadType)}; only ${MediaType.InTotoJson} (an in-toto statement) is accepted`,
    );
  }
  const inner = parseJson(decodeUtf8(base64(envelope.payload, what), `${what} (DSSE payload)`), `${what} (DSSE payload)`);
  if (!isObject(inner)) throw new PayloadError('ERR_PAYLOAD_SCHEMA', `${what}: the DSSE payload is not a JSON object`);
  const statement = await validateStatement(inner, `${what} (DSSE payload)`);
  return { envelope, statement };
}
