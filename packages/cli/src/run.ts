/**
 * Exit codes and error reporting shared by every verb:
 * 0 success, 1 verification failed or registration refused, 2 usage or operational error.
 */
import { isScittError, type ScittError } from '@scitt-actions/core';
import { printable } from './io.ts';

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Errors about the user's own inputs or environment: never "verification failed". */
const OPERATIONAL = new Set([
  'ERR_IO',
  'ERR_USAGE',
  'ERR_KEY_INVALID',
  'ERR_KEY_UNSUPPORTED',
  'ERR_KEY_NOT_PRIVATE',
  'ERR_SCRAPI_FAILED',
  'ERR_SCRAPI_UNAVAILABLE',
  'ERR_SCRAPI_TIMEOUT',
  'ERR_SCRAPI_PENDING',
]);

export type VerbKind = 'verify' | 'operate';

export function exitCodeFor(e: unknown, kind: VerbKind): number {
  if (!isScittError(e)) return EXIT.usage;
  if (kind === 'verify' && !OPERATIONAL.has(e.code)) return EXIT.failed;
  return EXIT.usage;
}

export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
}

/** Runs a verb's action; a thrown error becomes one line on stderr and the right exit code. */
export function action<A extends unknown[]>(kind: VerbKind, fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      const err = e as ScittError | Error;
      const code = 'code' in err && typeof err.code === 'string' ? ` [${err.code}]` : '';
      process.stderr.write(`scitt: ${printable(err.message)}${code}\n`);
      if (process.env.SCITT_DEBUG && err.stack) process.stderr.write(`${err.stack}\n`);
      process.exitCode = e instanceof UsageError ? EXIT.usage : exitCodeFor(e, kind);
    }
  };
}
