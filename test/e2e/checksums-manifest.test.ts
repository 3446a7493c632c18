/**
 * A release of 5,000 artifacts gated through one checksums manifest: a single statement about the
 * bytes of SHA256SUMS (sha256sum format) covers every artifact it lists, through `scitt verify
 * --checksums` and the verify-gate action's checksums input. No subject cap is hit on the way
 * (provenance about all 5,000). A changed artifact and an unlisted one are refused.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey, publicKey, toPem } from '@scitt-actions/core';
import { GITHUB_CONTEXT, REPO_ROOT, runBundledAction } from '../helpers/action-runner.ts';
import { type CliResult, scitt } from '../helpers/cli.ts';
import { SCITT_MAIN, type ServiceProcess, startService } from '../helpers/transparency-service.ts';

const N = 5000;
const key = generateKey('P-256');
/** scitt with room for a 5,001-artifact JSON report (the shared helper keeps execFile's 1 MiB default) */
function scittBig(args: string[], cwd: string): Promise<CliResult> {
  return new Promise((res) => {
    execFile(process.execPath, [SCITT_MAIN, ...args], { cwd, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 2) : 0, stdout, stderr });
    });
  });
}
const result = (stdout: string) => {
  const o = JSON.parse(stdout);
  return o.result ?? o;
};

describe(`a release of ${N} artifacts through one verified checksums manifest`, { timeout: 600_000 }, () => {
  let ts: ServiceProcess;
  let ws: string;
  const gate = (...extra: string[]) =>
    scittBig(['verify', '--artifact', 'dist/*.bin', '--checksums', 'dist/SHA256SUMS', '--ts-keys', ts.url, '--issuer-key', 'issuer.pub.pem', '--require', 'sbom', '--json', ...extra], ws);

  beforeAll(async () => {
    ts = await startService({ issuers: [publicKey(key)] });
    ws = mkdtempSync(join(tmpdir(), 'manifest-'));
    mkdirSync(join(ws, 'dist'));
    writeFileSync(join(ws, 'issuer.pem'), toPem(key, { includePrivate: true }));
    writeFileSync(join(ws, 'issuer.pub.pem'), toPem(publicKey(key)));
    cpSync(join(REPO_ROOT, 'test/fixtures/sample-sbom.cdx.json'), join(ws, 'sbom.cdx.json'));
    const lines: string[] = [];
    for (let i = 0; i < N; i++) {
      const name = `pkg-${String(i).padStart(4, '0')}.bin`;
      const bytes = `artifact ${i}\n`;
      writeFileSync(join(ws, 'dist', name), bytes);
      lines.push(`${createHash('sha256').update(bytes).digest('hex')}  ${name}`);
    }
    writeFileSync(join(ws, 'dist', 'SHA256SUMS'), `${lines.join('\n')}\n`);
    // one statement about the manifest's bytes, registered and stored beside it
    const create = await scitt(['statement', 'create', '--key', 'issuer.pem', '--iss', 'https://acme.example/releases', '--payload', 'sbom.cdx.json', '--subject-path', 'dist/SHA256SUMS', '--out-dir', 'scitt', '--json'], ws);
    expect(create.code, create.stderr).toBe(0);
    const t = await scitt(['transparent', 'scitt/SHA256SUMS.sbom.cose', '--ts', ts.url, '--to', 'dist/SHA256SUMS'], ws);
    expect(t.code, t.stderr).toBe(0);
  }, 600_000);
  afterAll(async () => {
    await ts?.stop();
  });

  it(`no subject cap: provenance names all ${N} artifacts`, async () => {
    const r = await scitt(['provenance', 'generate', '--subject-path', 'dist/*.bin', '--out', 'provenance.json'], ws, GITHUB_CONTEXT);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(ws, 'provenance.json'), 'utf8')).subject).toHaveLength(N);
  });

  it(`the gate passes all ${N}: each is listed, with the digest of its bytes, in the manifest the statement is about`, async () => {
    const r = await gate();
    expect(r.code, r.stderr).toBe(0);
    const report = result(r.stdout);
    expect(report.artifacts).toHaveLength(N + 1);
    expect(report.artifacts[0]).toMatchObject({ artifact: { name: 'SHA256SUMS' }, ok: true, evidence: ['sbom'] });
    const covered = report.artifacts.filter((a: { coveredBy?: string }) => a.coveredBy);
    expect(covered).toHaveLength(N);
    expect(covered[42]).toMatchObject({ artifact: { name: 'pkg-0042.bin' }, ok: true, coveredBy: 'SHA256SUMS:43', evidence: ['sbom'] });
  });

  it('the gate action takes the manifest as its checksums input', async () => {
    const r = await runBundledAction('verify-gate', { 'subject-path': 'dist/*.bin', checksums: 'dist/SHA256SUMS', 'transparency-service-keys': ts.url, 'issuer-key': toPem(publicKey(key)), require: 'sbom', 'show-summary': 'false' }, { workspace: ws });
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.verified).toBe('true');
  });

  it('refuses an artifact changed after the manifest was signed, and one the manifest does not list', async () => {
    const d = mkdtempSync(join(tmpdir(), 'manifest-bad-'));
    cpSync(join(ws, 'dist'), join(d, 'dist'), { recursive: true });
    cpSync(join(ws, 'issuer.pub.pem'), join(d, 'issuer.pub.pem'));
    writeFileSync(join(d, 'dist', 'pkg-0007.bin'), 'backdoored\n');
    writeFileSync(join(d, 'dist', 'extra.bin'), 'not listed\n');
    const r = await scittBig(['verify', '--artifact', 'dist/*.bin', '--checksums', 'dist/SHA256SUMS', '--ts-keys', ts.url, '--issuer-key', 'issuer.pub.pem', '--json'], d);
    expect(r.code).toBe(1);
    const bad = result(r.stdout).artifacts.filter((a: { ok: boolean }) => !a.ok);
    expect(bad.map((a: { artifact: { name: string } }) => a.artifact.name).sort()).toEqual(['extra.bin', 'pkg-0007.bin']);
    expect(bad.find((a: { artifact: { name: string } }) => a.artifact.name === 'pkg-0007.bin').problems[0]).toMatch(/lists other bytes for it \(SHA256SUMS line 8 .*changed after the manifest was signed/);
    expect(bad.find((a: { artifact: { name: string } }) => a.artifact.name === 'extra.bin').problems[0]).toMatch(/no Transparent Statement found for extra\.bin/);
  });

  it('a manifest without a verified statement covers nothing', async () => {
    const d = mkdtempSync(join(tmpdir(), 'manifest-unsigned-'));
    mkdirSync(join(d, 'dist'));
    writeFileSync(join(d, 'dist', 'a.bin'), 'a\n');
    writeFileSync(join(d, 'dist', 'SHA256SUMS'), `${createHash('sha256').update('a\n').digest('hex')}  a.bin\n`);
    cpSync(join(ws, 'issuer.pub.pem'), join(d, 'issuer.pub.pem'));
    const r = await scittBig(['verify', '--artifact', 'dist/*.bin', '--checksums', 'dist/SHA256SUMS', '--ts-keys', ts.url, '--issuer-key', 'issuer.pub.pem', '--json'], d);
    expect(r.code).toBe(1);
    const report = result(r.stdout);
    expect(report.artifacts.map((a: { artifact: { name: string }; ok: boolean; coveredBy?: string }) => [a.artifact.name, a.ok, a.coveredBy ?? null])).toEqual([
      ['SHA256SUMS', false, null],
      ['a.bin', false, null],
    ]);
  });

  it('a manifest that is a FIFO is refused at once (exit 2), never waited on', async () => {
    const d = mkdtempSync(join(tmpdir(), 'manifest-fifo-'));
    mkdirSync(join(d, 'dist'));
    writeFileSync(join(d, 'dist', 'a.bin'), 'a\n');
    execFileSync('mkfifo', [join(d, 'dist', 'SHA256SUMS')]);
    cpSync(join(ws, 'issuer.pub.pem'), join(d, 'issuer.pub.pem'));
    const r = await scittBig(['verify', '--artifact', 'dist/*.bin', '--checksums', 'dist/SHA256SUMS', '--ts-keys', ts.url, '--issuer-key', 'issuer.pub.pem'], d);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/checksums manifest .*SHA256SUMS is a FIFO \(named pipe\), not a regular file.*\[ERR_USAGE\]/);
  });
});
