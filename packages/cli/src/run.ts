/**
 * Exit codes and error reporting shared by every verb:
 * 0 success, 1 verification failed or registration refused, 2 usage or operational error.
 * With --json, the outcome is also one envelope on stdout (output.ts), errors included.
 */
import type { Command } from 'commander';
import { isScittError, type ScittError } from '@scitt-actions/core/errors';
import { printable } from './io.ts';
import { setInvocation, writeEnvelope } from './output.ts';

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * Errors about the user's own inputs or environment: never "verification failed", on any verb.
 * A missing file, an unreachable service or an unreadable trust root is exit 2 whether it happens
 * in `verify` or in `statement create`; only what a check found wrong in what it checked is exit 1.
 */
const OPERATIONAL = new Set([
  'ERR_IO',
  'ERR_DATA_DIR_IN_USE',
  'ERR_USAGE',
  'ERR_KEY_INVALID',
  'ERR_KEY_UNSUPPORTED',
  'ERR_KEY_NOT_PRIVATE',
  'ERR_SCRAPI_FAILED',
  'ERR_SCRAPI_UNAVAILABLE',
  'ERR_SCRAPI_TIMEOUT',
  'ERR_SCRAPI_PENDING',
  'ERR_SUBJECT_NOT_FOUND',
  'ERR_SUBJECT_DIRECTORY',
  'ERR_SUBJECT_NOT_REGULAR',
  'ERR_SUBJECT_NO_MATCH',
  'ERR_SUBJECT_LIMIT',
  'ERR_CHECKSUMS_MALFORMED',
  'ERR_OCI_REFERENCE',
  'ERR_PROVENANCE_ENV',
  'ERR_KEYLESS_TOKEN',
  'ERR_TRUST_ROOT',
  'ERR_STORAGE_TARGET',
  'ERR_STORAGE_AUTH',
  'ERR_STORAGE_UNAVAILABLE',
  'ERR_CONSISTENCY_UNAVAILABLE',
  'ERR_INSECURE_URL',
]);

/**
 * `verify` verbs check something (a signature, receipts, a registration): what they find wrong is 1.
 * `operate` verbs make or move things: every error is 2, except a Transparency Service refusing.
 */
export type VerbKind = 'verify' | 'operate';

function exitCodeFor(e: unknown, kind: VerbKind): number {
  if (!isScittError(e)) return EXIT.usage; // UsageError, or a bug: never a verdict
  if (e.code === 'ERR_SCRAPI_REFUSED') return EXIT.failed;
  if (kind === 'verify' && !OPERATIONAL.has(e.code)) return EXIT.failed;
  return EXIT.usage;
}

export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
}

/** `statement create`: the command's name under the program, as the envelope names it. */
function commandName(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Reports an error: one line on stderr ending in its code, and with --json the envelope on stdout; sets the exit code. */
export function fail(e: unknown, kind: VerbKind, json: boolean): void {
  const err = e as ScittError | Error;
  const code = 'code' in err && typeof err.code === 'string' ? err.code : 'ERR_INTERNAL';
  process.stderr.write(`scitt: ${printable(err.message)} [${code}]\n`);
  if (process.env.SCITT_DEBUG && err.stack) process.stderr.write(`${err.stack}\n`);
  const exit = exitCodeFor(e, kind);
  if (json) writeEnvelope({ ok: false, error: { code, message: err.message } });
  process.exitCode = exit;
}

/** Runs a verb's action; a thrown error becomes one line on stderr (and the --json envelope) and the right exit code. */
export function action<A extends unknown[]>(kind: VerbKind, fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    // commander passes the options, then the Command itself, last
    const cmd = args[args.length - 1] as Command | undefined;
    const json = typeof cmd?.opts === 'function' && cmd.opts().json === true;
    if (typeof cmd?.name === 'function') setInvocation(commandName(cmd), json);
    try {
      await fn(...args);
    } catch (e) {
      fail(e, kind, json);
    }
  };
}
