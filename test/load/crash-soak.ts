/**
 * Crash soak for the Transparency Service, the long version of packages/transparency-service/test/crash.test.ts
 * (not part of the test suite). One command:
 *
 *   node test/load/crash-soak.ts --kills 200 [--clients 8] [--min-ms 50] [--max-ms 1500]
 *
 * Starts `scitt serve` on a fresh data directory, runs concurrent registering clients, SIGKILLs the
 * service at a random moment --kills times and restarts it on the same directory, checking after every
 * restart what test/helpers/ts-crash.ts lists (key unchanged; tree heads only grow and stay consistent;
 * every receipt still verifies and is served again; no entry twice; registration continues), then the
 * database after a clean stop. Prints one line per cycle and a summary; exits 1 on the first violation.
 * Loopback only; stops by itself.
 */
import { rmSync } from 'node:fs';
import { generateKey, toPem } from '@scitt-actions/core';
import { crashCycles } from '../helpers/ts-crash.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a non-negative integer`);
  return v;
};

const issuer = generateKey('P-256');
const t0 = performance.now();
try {
  const r = await crashCycles({
    kills: arg('kills', 100),
    clients: arg('clients', 8),
    minMs: arg('min-ms', 50),
    maxMs: arg('max-ms', 1500),
    issuer,
    issuerPem: toPem(issuer, { includePrivate: true }),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const sorted = [...r.restartMs].sort((a, b) => a - b);
  process.stdout.write(
    `OK: ${r.kills} kills in ${((performance.now() - t0) / 1000).toFixed(0)} s; ${r.acknowledged} acknowledged registrations, ` +
      `${r.inDoubt} in doubt at a kill (${r.inDoubtCommitted} had committed), ${r.treeHeads} signed tree heads, ` +
      `${r.consistencyChecks} consistency proofs verified, final tree size ${r.finalTreeSize}, ` +
      `restart p50 ${Math.round(sorted[sorted.length >> 1] ?? 0)} ms, max ${Math.round(sorted[sorted.length - 1] ?? 0)} ms\n`,
  );
  rmSync(r.dataDir, { recursive: true, force: true });
} catch (e) {
  process.stderr.write(`FAILED after ${((performance.now() - t0) / 1000).toFixed(0)} s: ${(e as Error).stack}\n`);
  process.exitCode = 1;
}
