/**
 * Numeric flags: a value that is not a whole number in range is a usage error (exit 2), never NaN
 * quietly meaning "unlimited" or "no check" further down.
 */
import { UsageError } from './run.ts';

export function intOption(flag: string, value: string, { min = 0, max = Number.MAX_SAFE_INTEGER, unit = '' }: { min?: number; max?: number; unit?: string } = {}): number {
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `a whole number ≥ ${min}` : `a whole number from ${min} to ${max}`;
    throw new UsageError(`${flag} must be ${range}${unit ? ` (${unit})` : ''}, got "${value}"`);
  }
  return n;
}
