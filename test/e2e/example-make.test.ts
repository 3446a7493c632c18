/**
 * The generic example (examples/make-release): a make-driven release of a sample package — build,
 * checksums, one statement about SHA256SUMS, register + attach, offline gate — run as a user would,
 * against the embedded Transparency Service; then a tampered tarball is refused by `make verify`.
 */
import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/action-runner.ts';
import { scitt } from '../helpers/cli.ts';
import { SCITT_MAIN, type ServiceProcess, startService } from '../helpers/transparency-service.ts';
import { loadKey } from '../../packages/core/src/cose/key.ts';

function make(cwd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((res) => {
    execFile('make', ['--no-print-directory', ...args], { cwd, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 2) : 0, out: stdout + stderr });
    });
  });
}

describe('examples/make-release: a release with make and the scitt CLI', { timeout: 240_000 }, () => {
  let ts: ServiceProcess;
  let dir: string;
  const vars = () => [`SCITT=${process.execPath} ${SCITT_MAIN}`, `TS_URL=${ts.url}`, 'KEY=issuer.pem'];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'example-make-'));
    cpSync(join(REPO_ROOT, 'examples/make-release'), dir, { recursive: true });
    expect((await scitt(['keygen', '--out', 'issuer.pem'], dir)).code).toBe(0);
    ts = await startService({ issuers: [loadKey(readFileSync(join(dir, 'issuer.pub.pem'), 'utf8'))] });
  }, 240_000);
  afterAll(async () => {
    await ts?.stop();
  });

  it('make release: build, checksums, sign, register, attach, gate', async () => {
    const r = await make(dir, ['release', ...vars()]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/RELEASE GATE PASSED/);
    expect(r.out).toMatch(/hello-1\.0\.0\.tar\.gz .*\n.*listed in the verified checksums manifest SHA256SUMS:1/);
    expect(readdirSync(join(dir, 'dist')).sort()).toEqual(['SHA256SUMS', 'SHA256SUMS.sbom.cdx.json', 'SHA256SUMS.sbom.scitt', 'hello-1.0.0.tar.gz']);
  });

  it('make verify refuses a tarball changed after the release was signed', async () => {
    appendFileSync(join(dir, 'dist/hello-1.0.0.tar.gz'), 'tampered');
    const r = await make(dir, ['verify', ...vars()]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/RELEASE GATE REFUSED/);
    expect(r.out).toMatch(/changed after the manifest was signed/);
  });
});
