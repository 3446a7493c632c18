/** Token buckets per client: a Transparency Service without client authentication MUST rate-limit (SCRAPI §2). */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #rate: number;
  readonly #burst: number;

  /** `rate` requests per second sustained, `burst` at once */
  constructor(rate: number, burst: number) {
    this.#rate = rate;
    this.#burst = burst;
  }

  /** 0 when allowed, otherwise the seconds to wait */
  take(client: string, now = Date.now()): number {
    if (this.#rate <= 0) return 0;
    const b = this.#buckets.get(client) ?? { tokens: this.#burst, at: now };
    b.tokens = Math.min(this.#burst, b.tokens + ((now - b.at) / 1000) * this.#rate);
    b.at = now;
    this.#buckets.set(client, b);
    if (this.#buckets.size > 100_000) this.#buckets.clear(); // bounded memory under address churn
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / this.#rate);
  }
}
