/**
 * SARIF 2.1.0 scan results (OASIS): recognised by `version` 2.1.0 with `runs`, or a SARIF `$schema`,
 * and validated against the SARIF 2.1.0 JSON schema.
 */
import { PayloadError } from '../errors.ts';
import { validateSchema } from './schemas.ts';

/** True when a JSON object presents itself as a SARIF log. */
export function looksLikeSarif(doc: Record<string, unknown>): boolean {
  return (typeof doc.$schema === 'string' && /sarif/i.test(doc.$schema)) || (typeof doc.version === 'string' && Array.isArray(doc.runs));
}

/** Validates a SARIF log; returns its version. */
export async function validateSarif(document: Record<string, unknown>, what: string): Promise<'2.1.0'> {
  if (document.version !== '2.1.0') {
    throw new PayloadError(
      'ERR_PAYLOAD_UNSUPPORTED_VERSION',
      `${what} is SARIF ${typeof document.version === 'string' ? document.version : '(no version)'}; only SARIF 2.1.0 is supported — most tools have a 2.1.0 output option`,
    );
  }
  await validateSchema('SARIF 2.1.0', document, what);
  return '2.1.0';
}
