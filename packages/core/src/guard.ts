/**
 * Argument checks at the public API's edge (index.ts): a caller passing the wrong type gets a typed
 * ERR_USAGE that names the argument, not a TypeError from deep inside a decoder or node:crypto.
 */
import { ScittError } from './errors.ts';

const describe = (x: unknown) => (x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x === 'object' ? (x as object).constructor?.name ?? 'an object' : typeof x);

export function assertBytes(x: unknown, what: string): asserts x is Uint8Array {
  if (!(x instanceof Uint8Array)) throw new ScittError('ERR_USAGE', `${what} must be bytes (a Uint8Array), not ${describe(x)}`);
}

export function assertString(x: unknown, what: string): asserts x is string {
  if (typeof x !== 'string') throw new ScittError('ERR_USAGE', `${what} must be a string, not ${describe(x)}`);
}

export function assertObject(x: unknown, what: string): asserts x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new ScittError('ERR_USAGE', `${what} must be an object, not ${describe(x)}`);
}

export function assertArray(x: unknown, what: string): asserts x is unknown[] {
  if (!Array.isArray(x)) throw new ScittError('ERR_USAGE', `${what} must be an array, not ${describe(x)}`);
}
