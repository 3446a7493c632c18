/**
 * Overload of the embedded Transparency Service: the full version of
 * packages/transparency-service/test/load.test.ts (not part of the test suite). One command:
 *
 *   node test/load/overload.ts [--seconds 60] [--offered 15000] [--rate-limit 1500] [--connections 256]
 *
 * Two phases, each against a fresh `scitt serve` (CLI, loopback) and a separate load process
 * (test/load/register-load.ts) offering --offered requests/s (default 15,000/s: 10× the benchmark's
 * 1,500/s goal) from --connections keep-alive connections for --seconds:
 *   A. rate-limited service (`--rate <rate-limit>`; all load comes from one client address), and
 *   B. no rate limit: the service saturated, its queue and connections full.
 * Each phase: a 16-client baseline before, the overload (RSS and /health queue sampled every second),
 * and the same 16-client run after. Checks, and exits 1 unless all hold: only 201/303 or 429/503
 * with Retry-After; no network errors; accepted p99 under 2 s; RSS at the end within 1.5× + 64 MiB
 * of RSS after the first 10 s of overload; after the overload, registrations at ≥ 70% of the
 * baseline rate with p99 < 100 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey, publicKey } from '@scitt-actions/core';
import { startService } from '../helpers/transparency-service.ts';
import { type LoadResult, type Sample, cpuSeconds, monitor, rssKiB, runLoad, writeIssuerKey } from '../helpers/ts-tools.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a non-negative number`);
  return v;
};
const seconds = arg('seconds', 60);
const offered = arg('offered', 15_000);
const rateLimit = arg('rate-limit', 1_500);
const connections = arg('connections', 256);

const issuer = generateKey('P-256');
const scratch = mkdtempSync(join(tmpdir(), 'scitt-overload-'));
const keyFile = writeIssuerKey(scratch, issuer);
const failures: string[] = [];
const check = (ok: boolean, what: string) => {
  if (!ok) failures.push(what);
  process.stdout.write(`  ${ok ? 'ok  ' : 'FAIL'} ${what}\n`);
};
const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
const lat = (l: LoadResult['latencyMs']['accepted']) => `p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms`;

async function phase(name: string, serviceArgs: string[]): Promise<void> {
  process.stdout.write(`\n${name}\n`);
  const ts = await startService({ issuers: [publicKey(issuer)], args: serviceArgs });
  const limited = serviceArgs[serviceArgs.indexOf('--rate') + 1] !== '0';
  const pid = ts.proc.pid!;
  try {
    const rssStart = rssKiB(pid);
    const before = await runLoad({ url: ts.url, keyFile, connections: 16, durationS: 5, statements: 20_000 });
    process.stdout.write(`  before: ${before.acceptedPerSec}/s accepted (16 clients), ${lat(before.latencyMs.accepted)}\n`);

    const m = monitor(pid, ts.url, 1_000);
    const cpu0 = cpuSeconds(pid);
    const load = await runLoad({ url: ts.url, keyFile, connections, rate: offered, durationS: seconds, statements: Math.min(150_000, Math.max(20_000, (limited ? rateLimit : 2_500) * (seconds + 5))) });
    const serviceCpu = (cpuSeconds(pid) - cpu0) / (load.durationMs / 1000);
    const samples: Sample[] = await m.stop();
    const statuses = Object.entries(load.byStatus).map(([s, c]) => `${s}×${c}`).join(' ');
    process.stdout.write(
      `  overload: offered ${offered}/s from ${connections} connections; achieved ${load.responsesPerSec} responses/s (${load.sent} requests in ${(load.durationMs / 1000).toFixed(0)} s), ${load.acceptedPerSec}/s accepted\n` +
        `    statuses ${statuses}; network errors ${load.errors}; load process ${load.clientCpu} cores, service ${serviceCpu.toFixed(2)} cores\n` +
        `    accepted ${lat(load.latencyMs.accepted)}; refused ${lat(load.latencyMs.rejected)}\n` +
        `    queue max ${Math.max(...samples.map((s) => s.queue))}; RSS ${samples.filter((_, i) => i % 10 === 0).map((s) => mib(s.rssKiB)).join(' → ')}\n`,
    );
    const after = await runLoad({ url: ts.url, keyFile, connections: 16, durationS: 5, statements: 20_000 });
    const rssEnd = rssKiB(pid);
    process.stdout.write(`  after: ${after.acceptedPerSec}/s accepted (16 clients), ${lat(after.latencyMs.accepted)}; RSS at start ${mib(rssStart)}, at end ${mib(rssEnd)}\n`);

    check(Object.keys(load.unexpected).length === 0, `only 201/303/429/503 (unexpected: ${JSON.stringify(load.unexpected)})`);
    check(load.missingRetryAfter === 0, `every 429/503 has Retry-After (${load.missingRetryAfter} without)`);
    check(load.errors === 0, `no network errors (${load.errors}: ${load.errorSamples.join('; ')})`);
    check(load.latencyMs.accepted.p99 < 2_000, `accepted p99 ${load.latencyMs.accepted.p99} ms < 2000 ms`);
    if (rateLimit > 0 && limited) {
      check(load.acceptedPerSec <= rateLimit * 1.1 + 100 / seconds, `accepted ${load.acceptedPerSec}/s within the rate limit ${rateLimit}/s`);
    }
    const settled = samples.find((s) => s.atMs >= 10_000) ?? samples[0]!;
    const last = samples[samples.length - 1]!;
    check(last.rssKiB <= settled.rssKiB * 1.5 + 64 * 1024, `RSS flat: ${mib(settled.rssKiB)} after 10 s, ${mib(last.rssKiB)} at the end of the overload`);
    check(after.acceptedPerSec >= 0.7 * before.acceptedPerSec, `recovers: ${after.acceptedPerSec}/s after vs ${before.acceptedPerSec}/s before`);
    check(after.latencyMs.accepted.p99 < 100, `after the overload p99 ${after.latencyMs.accepted.p99} ms < 100 ms`);
    check(after.errors === 0 && Object.keys(after.unexpected).length === 0, 'after the overload: no errors');
  } finally {
    const code = await ts.stop();
    check(code === 0, `clean stop on SIGTERM (exit ${code})`);
  }
}

try {
  await phase(`A. rate limit --rate ${rateLimit}: ${seconds} s at ${offered}/s offered`, ['--rate', String(rateLimit)]);
  await phase(`B. no rate limit (queue and connections saturated): ${seconds} s at ${offered}/s offered`, ['--rate', '0']);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
process.stdout.write(failures.length === 0 ? '\nOK\n' : `\nFAILED: ${failures.length} check(s)\n`);
process.exitCode = failures.length === 0 ? 0 : 1;
