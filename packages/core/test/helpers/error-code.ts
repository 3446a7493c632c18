import { ScittError } from '../../src/errors.ts';

/** The stable code of the ScittError `fn` throws, or 'no error'; anything else thrown is rethrown (a bug, not a refusal). */
export function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ScittError) return e.code;
    throw e;
  }
  return 'no error';
}
