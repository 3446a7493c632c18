/**
 * Concise Problem Details (RFC 9290), the error body of every SCRAPI response ≥ 400
 * (draft-ietf-scitt-scrapi §2.1): CBOR map with -1 title and -2 detail, and -4 response-code.
 */
import * as cbor from '@scitt-actions/core/cbor';

export const PROBLEM_MEDIA_TYPE = 'application/concise-problem-details+cbor';

export class HttpProblem extends Error {
  readonly status: number;
  readonly title: string;
  /** seconds, for 429/503 */
  readonly retryAfter: number | undefined;

  constructor(status: number, title: string, detail: string, retryAfter?: number) {
    super(detail);
    this.status = status;
    this.title = title;
    this.retryAfter = retryAfter;
  }
}

export function encodeProblem(p: { status: number; title: string; detail: string }): Uint8Array {
  return cbor.encode(
    new Map<number, unknown>([
      [-1, p.title],
      [-2, p.detail],
      [-4, p.status],
    ]),
  );
}
