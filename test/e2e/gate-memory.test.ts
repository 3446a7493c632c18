/**
 * The gate's memory is bounded however many hostile statements sit beside an artifact: `scitt
 * verify --artifact` runs as a child process (under /usr/bin/time -v, which reports its peak RSS)
 * against a 64 MiB artifact with 1,000 statements that all claim it (test/helpers/hostile-gate.ts).
 * It must refuse the release (exit 1, red), never hang on the FIFO, and stay under 256 MiB. The same
 * release as GitHub release assets (the API double; test/helpers/hostile-release-assets.ts): the
 * artifact downloaded and hashed by the gate as it streams, 1,000 statement assets beside it, the
 * same bound (before the fix: 264-285 MiB).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHubServer } from '../../packages/core/test/helpers/storage-github-server.ts';
import { type HostileRelease, buildHostileRelease } from '../helpers/hostile-gate.ts';
import { gateReleaseUnderTime, uploadHostileRelease } from '../helpers/hostile-release-assets.ts';
import { SCITT_MAIN } from '../helpers/transparency-service.ts';

const LIMIT_KIB = 256 * 1024;

function gateUnderTime(release: HostileRelease): Promise<{ code: number; stdout: string; stderr: string; maxRssKiB: number }> {
  const args = ['-v', process.execPath, SCITT_MAIN, 'verify', '--artifact', release.artifact, '--ts-keys', release.servicePub, '--issuer-key', release.issuerPub, '--require', 'sbom'];
  return new Promise((res) => {
    execFile('/usr/bin/time', args, { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      res({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr, maxRssKiB: rss ? Number(rss[1]) : Number.NaN });
    });
  });
}

describe('gate memory under 1,000 hostile statements', () => {
  let root: string;
  let release: HostileRelease;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'gate-memory-'));
    release = await buildHostileRelease(join(root, 'dist'), { statements: 1000 });
  }, 120_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('refuses the release with peak RSS under 256 MiB, without hanging on special files', async () => {
    expect(release.statements).toBe(1000);
    const r = await gateUnderTime(release);
    process.stdout.write(`gate peak RSS: ${(r.maxRssKiB / 1024).toFixed(1)} MiB (exit ${r.code})\n`);
    expect(r.stdout).toContain('RELEASE GATE REFUSED');
    expect(r.code).toBe(1);
    expect(r.maxRssKiB).toBeLessThan(LIMIT_KIB);
    // every hostile statement was looked at and refused for its own reason: none verified
    expect(r.stdout).not.toMatch(/^\s+verified /m);
    expect(r.stdout).toMatch(/problem: none of the \d+ statement\(s\) for app\.bin verifies/);
  }, 120_000);

  it('the same statements as GitHub release assets: refused with peak RSS under 256 MiB', async () => {
    const gh = await startGitHubServer({ owner: 'acme', repo: 'app' });
    try {
      expect(uploadHostileRelease(gh, release)).toBe(1000);
      const r = await gateReleaseUnderTime(gh, release);
      process.stdout.write(`gate peak RSS (release assets): ${(r.maxRssKiB / 1024).toFixed(1)} MiB (exit ${r.code})\n`);
      expect(r.stdout, r.stderr).toContain('RELEASE GATE REFUSED');
      expect(r.code).toBe(1);
      expect(r.maxRssKiB).toBeLessThan(LIMIT_KIB);
      // the artifact was downloaded (hashed by the gate); every statement refused for its own reason
      expect(gh.log.some((q) => q.origin === 'web' && q.path.endsWith('/app.bin'))).toBe(true);
      expect(r.stdout).not.toMatch(/^\s+verified /m);
      expect(r.stdout).toMatch(/problem: none of the \d+ statement\(s\) for app\.bin verifies/);
      // the 64 MiB evidence is never downloaded: no statement naming it verified
      expect(gh.log.filter((q) => q.origin === 'web' && q.path.endsWith('/evidence.bin'))).toEqual([]);
    } finally {
      await gh.close();
    }
  }, 180_000);
});
