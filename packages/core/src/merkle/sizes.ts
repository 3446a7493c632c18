/**
 * Arithmetic on tree sizes and leaf indices. They are uint64 on the wire (RFC 9162 §2.1, RFC 9942
 * §5.2); JavaScript's `>>` and `&` work on 32 bits (wire-format.md §11.5), so everything here uses
 * division and remainder on numbers, exact for every integer up to 2^53 - 1, the largest size we accept.
 */
import { MerkleError } from '../errors.ts';

export const MAX_TREE_SIZE = Number.MAX_SAFE_INTEGER;

/** POW2[l] = 2^l, exact for l ≤ 53. */
const POW2: readonly number[] = Array.from({ length: 54 }, (_, l) => 2 ** l);

export function pow2(level: number): number {
  return POW2[level]!;
}

/** A size or index: a non-negative integer this implementation can represent exactly. */
export function assertUint(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    const shown = typeof value === 'bigint' ? `${value} (above 2^53 - 1)` : String(value);
    throw new MerkleError('ERR_MERKLE_RANGE', `${what} must be an integer from 0 to 2^53 - 1; got ${shown}`);
  }
}

export const isOdd = (x: number): boolean => x % 2 === 1;
export const half = (x: number): number => Math.floor(x / 2);

export function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}

/**
 * The split of RFC 9162 §2.1.1: for n > 1, the level l with k = 2^l the largest power of two
 * strictly less than n.
 */
export function splitLevel(n: number): number {
  // log2 is a close first guess (exact at powers of two); the loops make it exact for any n ≤ 2^53.
  let l = n > 2 ? Math.floor(Math.log2(n - 1)) : 0;
  while (l > 0 && POW2[l]! >= n) l--;
  while (POW2[l + 1]! < n) l++;
  return l;
}

/** Bit `level` of n (LSB = level 0). */
export function bitSet(n: number, level: number): boolean {
  return isOdd(Math.floor(n / POW2[level]!));
}
