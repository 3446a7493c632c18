/**
 * `./dev bench`: every benchmark in this folder, one after another, each printing medians and ratios
 * against a baseline measured in the same run. Name some to run only those: `./dev bench statement`.
 */
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const names = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'stats.ts'].includes(f))
  .map((f) => f.slice(0, -3))
  .filter((n) => only.length === 0 || only.includes(n))
  .sort();

process.stdout.write(`scitt-actions benchmarks on ${process.platform}/${process.arch}, Node ${process.versions.node}, ${(await import('node:os')).cpus().length} cores\n`);
for (const name of names) {
  const mod = (await import(`./${name}.ts`)) as { bench?: () => Promise<void> };
  if (typeof mod.bench === 'function') await mod.bench();
}
