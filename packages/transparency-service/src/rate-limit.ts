/** Token buckets per client: a Transparency Service without client authentication MUST rate-limit (SCRAPI §2). */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxClients: number;

  /** `rate` requests per second sustained, `burst` at once; state for at most `maxClients` clients */
  constructor(rate: number, burst: number, maxClients = 100_000) {
    this.#rate = rate;
    this.#burst = burst;
    this.#maxClients = maxClients;
  }

  /** 0 when allowed, otherwise the seconds to wait */
  take(client: string, now = Date.now()): number {
    if (this.#rate <= 0) return 0;
    const b = this.#buckets.get(client) ?? { tokens: this.#burst, at: now };
    b.tokens = Math.min(this.#burst, b.tokens + ((now - b.at) / 1000) * this.#rate);
    b.at = now;
    // re-inserted so the Map's order is least recently seen first
    this.#buckets.delete(client);
    this.#buckets.set(client, b);
    // Bounded memory under address churn: forget the longest-idle clients, never everyone at once
    // (clearing the table would hand every busy client a fresh burst).
    for (const idle of this.#buckets.keys()) {
      if (this.#buckets.size <= this.#maxClients) break;
      this.#buckets.delete(idle);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / this.#rate);
  }
}
