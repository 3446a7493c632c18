/** Small shared helpers for benchmarks: medians over repeated runs, printed as aligned rows with ratios. */

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Operations per second of `fn`, as the median of `runs` timed batches of `n` calls. */
export async function opsPerSecond(fn: () => unknown, { n = 2000, runs = 5 } = {}): Promise<number> {
  for (let i = 0; i < Math.min(n, 200); i++) await fn(); // warm up
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await fn();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(n / s);
  }
  return median(rates);
}

export function row(label: string, value: string, note = ''): void {
  process.stdout.write(`  ${label.padEnd(58)} ${value.padStart(14)}  ${note}\n`);
}

export const fmt = (x: number, unit = '/s') => `${Math.round(x).toLocaleString('en-US')}${unit}`;
export const pct = (x: number) => `${(x * 100).toFixed(0)}%`;

export function title(t: string): void {
  process.stdout.write(`\n${t}\n`);
}
