/**
 * Rate limiting is on by default (SCRAPI §2: a service without client authentication must limit):
 * DEFAULT_BURST registrations from one address at once, then DEFAULT_RATE per second; --rate 0 turns
 * it off, --burst sets the burst. Junk bodies are enough: the limit applies before the body is read.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_BURST, DEFAULT_RATE } from '../src/index.ts';
import { SCITT_MAIN, type ServiceProcess, startService } from '../../../test/helpers/transparency-service.ts';
import { generateKey } from '@scitt-actions/core';
import { post, statementBy } from './helpers.ts';

const running: ServiceProcess[] = [];
afterAll(async () => {
  for (const ts of running) await ts.stop();
});

async function flood(url: string, n: number): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next++ < n) {
        const r = await post(url, 'not a statement');
        await r.arrayBuffer();
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      }
    }),
  );
  return statuses;
}

describe('rate limiting', () => {
  it(`is on by default: ${DEFAULT_BURST} at once, then ${DEFAULT_RATE}/s per client; 429 with Retry-After beyond`, async () => {
    expect(DEFAULT_RATE).toBeGreaterThan(0);
    const ts = await startService();
    running.push(ts);
    expect(ts.stderr()).toContain(`"rateLimit":{"perSecond":${DEFAULT_RATE},"burst":${DEFAULT_BURST}}`);
    const statuses = await flood(ts.url, DEFAULT_BURST * 2);
    expect(statuses[400]).toBeGreaterThanOrEqual(DEFAULT_BURST); // the burst is served in full (junk is a 400)
    expect(statuses[429]).toBeGreaterThan(0);
    const r = await post(ts.url, 'not a statement');
    if (r.status === 429) expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  }, 60_000);

  it('--burst sets the burst; --rate 0 turns the limit off', async () => {
    const small = await startService({ args: ['--burst', '10', '--rate', '1'] });
    running.push(small);
    const limited = await flood(small.url, 60);
    expect(limited[400]).toBeGreaterThanOrEqual(10);
    expect(limited[429]).toBeGreaterThan(0);
    const off = await startService({ args: ['--rate', '0'] });
    running.push(off);
    const unlimited = await flood(off.url, DEFAULT_BURST * 2);
    expect(unlimited).toEqual({ 400: DEFAULT_BURST * 2 });
  }, 60_000);
});

describe('numeric flags', () => {
  it('every numeric flag of scitt serve (and register --timeout) is a whole number in range, or exit 2 [ERR_USAGE] naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scitt-flags-'));
    try {
      const bad: [string, string][] = [
        ['--port', '65536'],
        ['--rate', 'abc'],
        ['--burst', '0'],
        ['--body-limit', '1e9'],
        ['--sync-wait', '1.5'],
        ['--threads', '65'],
      ];
      for (const [flag, value] of bad) {
        const r = spawnSync(process.execPath, [SCITT_MAIN, 'serve', '--data', join(dir, 'd'), flag, value], { encoding: 'utf8' });
        expect(r.status, `${flag} ${value}`).toBe(2);
        expect(r.stderr).toMatch(new RegExp(`^scitt: ${flag} must be a whole number .*, got "${value.replace('.', '\\.')}" \\[ERR_USAGE\\]\\n$`));
      }
      expect(existsSync(join(dir, 'd'))).toBe(false);
      writeFileSync(join(dir, 's.cose'), await statementBy(generateKey('P-256')));
      const r = spawnSync(process.execPath, [SCITT_MAIN, 'register', join(dir, 's.cose'), '--ts', 'http://127.0.0.1:9', '--out', join(dir, 'r.cose'), '--timeout', 'soon'], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/--timeout must be a whole number from 1 to 86400 \(seconds\), got "soon" \[ERR_USAGE\]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
