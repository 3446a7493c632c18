import { expect, it } from 'vitest';
import { RateLimiter } from '../src/rate-limit.ts';

it('a client over its burst waits; churning addresses evict the idle ones, not the busy client', () => {
  const limiter = new RateLimiter(1, 3, 100);
  const t = 1_000_000;
  for (let i = 0; i < 3; i++) expect(limiter.take('busy', t)).toBe(0);
  expect(limiter.take('busy', t)).toBe(1);
  // 1,000 other addresses, far more than the table holds, while busy keeps knocking
  for (let i = 0; i < 1000; i++) {
    limiter.take(`churn-${i}`, t);
    if (i % 50 === 0) expect(limiter.take('busy', t)).toBeGreaterThan(0);
  }
  expect(limiter.take('busy', t)).toBeGreaterThan(0); // still limited: its bucket was never reset
  expect(limiter.take('busy', t + 2_000)).toBe(0); // refills at the sustained rate
});
