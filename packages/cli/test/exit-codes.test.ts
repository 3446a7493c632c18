/**
 * One exit-code contract and one --json envelope on every verb (issue #15): 0 success, 1 verification
 * failed or refused, 2 usage or operational error. Each row runs the real binary twice: as a person
 * runs it (one stderr line ending in the stable code) and with --json (the envelope on stdout).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scitt } from '../../../test/helpers/cli.ts';
import { type ServiceProcess, startService } from '../../../test/helpers/transparency-service.ts';

type Case = 'missing flag' | 'bad flag value' | 'unknown evidence kind' | 'missing file' | 'service unreachable' | 'verification failure' | 'success';
interface Row {
  verb: string;
  case: Case;
  args: () => string[];
  exit: 0 | 1 | 2;
  code?: string;
}

const dir = mkdtempSync(join(tmpdir(), 'scitt-exit-'));
let ts: ServiceProcess;
let dead: string; // a loopback URL nothing listens on

const R = (verb: string, c: Case, exit: 0 | 1 | 2, code: string | undefined, args: () => string[]): Row => ({ verb, case: c, args, exit, ...(code ? { code } : {}) });
const subjectArgs = ['--key', 'issuer.pem', '--subject-path', 'app.tgz', '--out-dir', 'out'];

const TABLE: Row[] = [
  R('keygen', 'missing flag', 2, 'ERR_USAGE', () => ['keygen']),
  R('keygen', 'bad flag value', 2, 'ERR_COSE_ALG_UNSUPPORTED', () => ['keygen', '--out', 'x.pem', '--alg', 'ES1']),
  R('statement create', 'missing flag', 2, 'ERR_USAGE', () => ['statement', 'create', '--key', 'issuer.pem']),
  R('statement create', 'bad flag value', 2, 'ERR_USAGE', () => ['statement', 'create', '--payload', 'sbom.json', ...subjectArgs, '--placement', 'inline']),
  R('statement create', 'unknown evidence kind', 2, 'ERR_USAGE', () => ['statement', 'create', '--payload', 'sbom.json', ...subjectArgs, '--type', 'pdf']),
  R('statement create', 'missing file', 2, 'ERR_IO', () => ['statement', 'create', '--payload', 'nope.json', ...subjectArgs]),
  R('statement verify', 'missing flag', 2, 'ERR_USAGE', () => ['statement', 'verify', 's.cose']),
  R('statement verify', 'missing file', 2, 'ERR_IO', () => ['statement', 'verify', 'nope.cose', '--key', 'issuer.pub.pem']),
  R('statement verify', 'verification failure', 1, 'ERR_COSE_SIGNATURE_INVALID', () => ['statement', 'verify', 's.cose', '--key', 'intruder.pub.pem']),
  R('statement verify', 'success', 0, undefined, () => ['statement', 'verify', 's.cose', '--key', 'issuer.pub.pem']),
  R('register', 'missing flag', 2, 'ERR_USAGE', () => ['register', 's.cose', '--out', 'r.cose']),
  R('register', 'bad flag value', 2, 'ERR_USAGE', () => ['register', 's.cose', '--ts', ts.url, '--out', 'r.cose', '--timeout', 'soon']),
  R('register', 'missing file', 2, 'ERR_IO', () => ['register', 'nope.cose', '--ts', ts.url, '--out', 'r.cose']),
  R('register', 'service unreachable', 2, 'ERR_SCRAPI_UNAVAILABLE', () => ['register', 's.cose', '--ts', dead, '--out', 'r.cose']),
  R('register', 'verification failure', 1, 'ERR_SCRAPI_REFUSED', () => ['register', 'intruder.cose', '--ts', ts.url, '--out', 'r.cose']),
  R('transparent', 'missing flag', 2, 'ERR_USAGE', () => ['transparent', 's.cose', '--out', 't2.scitt']),
  R('transparent', 'service unreachable', 2, 'ERR_SCRAPI_UNAVAILABLE', () => ['transparent', 's.cose', '--ts', dead, '--out', 't2.scitt']),
  R('transparent', 'verification failure', 1, 'ERR_SCRAPI_REFUSED', () => ['transparent', 'intruder.cose', '--ts', ts.url, '--out', 't2.scitt']),
  R('attach', 'missing flag', 2, 'ERR_USAGE', () => ['attach', 's.cose', 'r.cose']),
  R('attach', 'missing file', 2, 'ERR_IO', () => ['attach', 's.cose', 'nope.cose', '--out', 'x.scitt']),
  R('discover', 'missing file', 2, undefined, () => ['discover', 'nope.tgz']),
  R('keys', 'missing flag', 2, 'ERR_USAGE', () => ['keys', '--out', 'k.cbor']),
  R('keys', 'service unreachable', 2, 'ERR_SCRAPI_UNAVAILABLE', () => ['keys', '--ts', dead, '--out', 'k.cbor']),
  R('verify', 'missing flag', 2, 'ERR_USAGE', () => ['verify', 't.scitt', '--issuer-key', 'issuer.pub.pem']),
  R('verify', 'bad flag value', 2, 'ERR_USAGE', () => ['verify', 't.scitt', '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'issuer.pub.pem', '--min-receipts', 'many']),
  R('verify', 'unknown evidence kind', 2, 'ERR_USAGE', () => ['verify', 't.scitt', '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'issuer.pub.pem', '--artifact', 'app.tgz', '--require', 'sbom,pdf']),
  R('verify', 'missing file', 2, 'ERR_IO', () => ['verify', 'nope.scitt', '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'issuer.pub.pem']),
  R('verify', 'service unreachable', 2, undefined, () => ['verify', 't.scitt', '--ts-keys', dead, '--issuer-key', 'issuer.pub.pem']),
  R('verify', 'verification failure', 1, undefined, () => ['verify', 't.scitt', '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'intruder.pub.pem']),
  R('verify', 'success', 0, undefined, () => ['verify', 't.scitt', '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'issuer.pub.pem']),
  R('provenance generate', 'missing flag', 2, 'ERR_USAGE', () => ['provenance', 'generate', '--subject-path', 'app.tgz']),
  R('provenance generate', 'missing file', 2, undefined, () => ['provenance', 'generate', '--subject-path', 'nope.tgz', '--out', 'p.json']),
  R('policy init', 'missing flag', 2, 'ERR_USAGE', () => ['policy', 'init']),
  R('policy init', 'bad flag value', 2, 'ERR_USAGE', () => ['policy', 'init', '--issuer-key', 'issuer.pub.pem', '--max-statement-bytes', '12']),
  R('policy init', 'missing file', 2, 'ERR_IO', () => ['policy', 'init', '--issuer-key', 'nope.pub.pem']),
  R('policy init', 'success', 0, undefined, () => ['policy', 'init', '--issuer-key', 'issuer.pub.pem']),
  R('policy show', 'missing flag', 2, 'ERR_USAGE', () => ['policy', 'show']),
  R('policy show', 'service unreachable', 2, 'ERR_SCRAPI_UNAVAILABLE', () => ['policy', 'show', '--ts', dead]),
  R('policy set', 'missing file', 2, 'ERR_IO', () => ['policy', 'set', '--ts', ts.url, '--policy', 'nope.json', '--admin-token', 't']),
  R('policy set', 'service unreachable', 2, 'ERR_SCRAPI_UNAVAILABLE', () => ['policy', 'set', '--ts', dead, '--policy', 'policy.json', '--admin-token', 't']),
  R('trusted-root', 'bad flag value', 2, 'ERR_USAGE', () => ['trusted-root', '--tuf-root', 'root.json']),
  R('trusted-root', 'service unreachable', 2, 'ERR_TRUST_ROOT', () => ['trusted-root', '--tuf-mirror', dead, '--tuf-root', '{"signed":{}}', '--tuf-cache', join(dir, 'tuf-cache')]),
  R('serve', 'bad flag value', 2, 'ERR_USAGE', () => ['serve', '--port', '99999']),
  R('serve', 'missing file', 2, 'ERR_IO', () => ['serve', '--policy', 'nope.json', '--data', join(dir, 'never')]),
  R('inspect', 'missing flag', 2, 'ERR_USAGE', () => ['inspect']),
  R('witness', 'missing flag', 2, 'ERR_USAGE', () => ['witness']),
  R('witness', 'success', 0, undefined, () => ['witness', '--name', 'witness.example/w1', '--data', 'witness-state', '--print-key']),
  R('monitor', 'missing flag', 2, 'ERR_USAGE', () => ['monitor', '--url', dead]),
  R('inspect', 'missing file', 2, 'ERR_IO', () => ['inspect', 'nope.cose']),
];

beforeAll(async () => {
  const run = async (...args: string[]) => {
    const r = await scitt(args, dir);
    expect(r.code, r.stderr).toBe(0);
  };
  writeFileSync(join(dir, 'app.tgz'), 'release bytes\n');
  writeFileSync(join(dir, 'sbom.json'), '{"bomFormat":"CycloneDX","specVersion":"1.6","version":1}');
  await run('keygen', '--out', 'issuer.pem');
  await run('keygen', '--out', 'intruder.pem');
  await run('policy', 'init', '--issuer-key', 'issuer.pub.pem', '--out', 'policy.json');
  ts = await startService({ args: ['--policy', join(dir, 'policy.json')] }); // policy init's output, as is
  const sub = 'pkg:generic/app@1.0.0';
  await run('statement', 'create', '--payload', 'sbom.json', '--key', 'issuer.pem', '--iss', 'https://e.x', '--sub', sub, '--content-type', 'application/vnd.cyclonedx+json', '--out', 's.cose');
  await run('statement', 'create', '--payload', 'sbom.json', '--key', 'intruder.pem', '--iss', 'https://e.x', '--sub', sub, '--content-type', 'application/vnd.cyclonedx+json', '--out', 'intruder.cose');
  await run('transparent', 's.cose', '--ts', ts.url, '--out', 't.scitt');
  await run('keys', '--ts', ts.url, '--out', 'ts-keys.cbor');
  const probe = createServer();
  await new Promise<void>((res) => probe.listen(0, '127.0.0.1', res));
  dead = `http://127.0.0.1:${(probe.address() as { port: number }).port}`;
  await new Promise<void>((res) => probe.close(() => res()));
}, 300_000);

afterAll(async () => {
  await ts?.stop();
});

describe('exit codes and the --json envelope, verb by verb', () => {
  it('the table covers every verb', { timeout: 60_000 }, async () => {
    const help = await scitt(['--help'], dir);
    const commands = help.stdout.slice(help.stdout.indexOf('Commands:'));
    const verbs = [...commands.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]).filter((v) => v !== 'help');
    expect(verbs.length).toBeGreaterThan(10);
    for (const v of verbs) expect(TABLE.some((r) => r.verb.split(' ')[0] === v), `no row for ${v}`).toBe(true);
  });

  // One run per row, with --json: the exit code, the envelope on stdout, and the stderr line a person reads.
  for (const row of TABLE) {
    it(`${row.verb}: ${row.case} → exit ${row.exit}${row.code ? ` [${row.code}]` : ''}`, { timeout: 120_000 }, async () => {
      const r = await scitt([...row.args(), '--json'], dir);
      expect(r.code, r.stderr).toBe(row.exit);
      const envelope = JSON.parse(r.stdout) as { ok: boolean; command: string; result?: unknown; error?: { code: string; message: string } };
      expect(Object.keys(envelope).every((k) => ['ok', 'command', 'result', 'error'].includes(k))).toBe(true);
      expect(envelope.command).toBe(row.verb);
      expect(envelope.ok).toBe(row.exit === 0);
      if (row.exit === 0) {
        expect(envelope.result).toBeDefined();
        expect(envelope.error).toBeUndefined();
        return;
      }
      expect(envelope.error?.code).toMatch(/^ERR_[A-Z0-9_]+$/);
      expect(envelope.error?.message.length).toBeGreaterThan(10);
      if (row.code) expect(envelope.error?.code).toBe(row.code);
      // a verdict is printed as the result; every other error is one stderr line ending in the same code
      if (row.case !== 'verification failure' || row.verb !== 'verify') expect(r.stderr).toContain(`[${envelope.error?.code}]`);
    });
  }

  it('without --json, the same exit code and one stderr line ending in the code, nothing on stdout', { timeout: 120_000 }, async () => {
    for (const row of TABLE.filter((t) => t.case === 'missing flag' || t.case === 'missing file').slice(0, 4)) {
      const r = await scitt(row.args(), dir);
      expect(r.code).toBe(row.exit);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/\[ERR_[A-Z0-9_]+\]\n(\(run with --help for usage\)\n)?$/);
    }
  });
});
