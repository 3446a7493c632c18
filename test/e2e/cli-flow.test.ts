/**
 * The release flow through the `scitt` binary against `scitt serve`, both as child processes:
 * sign → register → attach → verify, and the gate's refusals.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKey, publicKey, toPem } from '@scitt-actions/core';
import { scitt } from '../helpers/cli.ts';
import { type ServiceProcess, startService } from '../helpers/transparency-service.ts';

describe('scitt: register, attach, transparent, verify against the embedded service', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scitt-flow-'));
  let ts: ServiceProcess;
  let other: ServiceProcess;
  let digest: string;
  const run = (...args: string[]) => scitt(args, dir);

  beforeAll(async () => {
    await run('keygen', '--out', 'issuer.pem');
    await run('keygen', '--out', 'intruder.pem');
    const issuer = loadKey(readFileSync(join(dir, 'issuer.pem')));
    const intruder = loadKey(readFileSync(join(dir, 'intruder.pem')));
    ts = await startService({ issuers: [publicKey(issuer), publicKey(intruder)] });
    other = await startService({ issuers: [publicKey(issuer)] });
    writeFileSync(join(dir, 'app.tar'), 'release bytes 1.0.0\n');
    writeFileSync(join(dir, 'sbom.json'), '{"bomFormat":"CycloneDX","specVersion":"1.6","version":1}');
    digest = createHash('sha256').update(readFileSync(join(dir, 'app.tar'))).digest('hex');
    const sub = `pkg:generic/app@1.0.0?checksum=sha256:${digest}`;
    for (const [key, out] of [['issuer.pem', 's.cose'], ['intruder.pem', 'intruder.cose']]) {
      const r = await run('statement', 'create', '--payload', 'sbom.json', '--key', key!, '--iss', 'https://e.x', '--sub', sub, '--hash-envelope', '--location', 'sbom.json', '--out', out!);
      expect(r.code, r.stderr).toBe(0);
    }
    expect((await run('keys', '--ts', ts.url, '--out', 'ts-keys.cbor')).code).toBe(0);
    expect((await run('keys', '--ts', other.url, '--out', 'other-keys.cbor')).code).toBe(0);
  });
  afterAll(async () => {
    await ts.stop();
    await other.stop();
  });

  it('register writes a receipt; attach makes a Transparent Statement that verifies with receipt, issuer, artifact and evidence', async () => {
    const reg = await run('register', 's.cose', '--ts', ts.url, '--out', 's.receipt', '--json');
    expect(reg.code, reg.stderr).toBe(0);
    expect(JSON.parse(reg.stdout).result.entryId).toMatch(/^[0-9a-f]{64}$/);
    expect((await run('attach', 's.cose', 's.receipt', '--out', 'app.tar.scitt')).code).toBe(0);
    const v = await run('verify', 'app.tar.scitt', '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'issuer.pub.pem', '--artifact', 'app.tar', '--evidence', 'sbom.json', '--json');
    expect(v.code, v.stdout + v.stderr).toBe(0);
    const result = JSON.parse(v.stdout).result;
    expect(result.ok).toBe(true);
    expect(result.checks.map((c: { name: string }) => c.name)).toEqual(['statement', 'receipts', 'issuer', 'artifact', 'evidence']);
    expect(result.receipts.receipts[0]).toMatchObject({ status: 'verified', vds: 1, serviceIss: ts.url });
    // the service URL works as --ts-keys too
    expect((await run('verify', 'app.tar.scitt', '--ts-keys', ts.url, '--issuer-key', 'issuer.pub.pem')).code).toBe(0);
  });

  it('transparent = register + attach in one step; inspect shows the receipt and its decoded proof', async () => {
    expect((await run('transparent', 's.cose', '--ts', ts.url, '--out', 't.scitt')).code).toBe(0);
    const i = await run('inspect', 't.scitt');
    expect(i.stdout).toMatch(/Transparent Statement/);
    expect(i.stdout).toMatch(/\/ receipts \/ 394:/);
    expect(i.stdout).toMatch(/\/ inclusion proofs \/ -1:/);
  });

  it('exit 1: artifact changed after signing, receipt from an untrusted service, wrong issuer, no receipt', async () => {
    writeFileSync(join(dir, 'tampered.tar'), 'release bytes 1.0.0 + backdoor\n');
    const changed = await run('verify', 'app.tar.scitt', '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'issuer.pub.pem', '--artifact', 'tampered.tar');
    expect(changed.code).toBe(1);
    expect(changed.stdout).toMatch(/FAIL  artifact .*ERR_SUBJECT_MISMATCH/);
    const untrusted = await run('verify', 'app.tar.scitt', '--ts-keys', 'other-keys.cbor', '--issuer-key', 'issuer.pub.pem');
    expect(untrusted.code).toBe(1);
    expect(untrusted.stdout).toMatch(/FAIL  receipts/);
    expect((await run('transparent', 'intruder.cose', '--ts', ts.url, '--out', 'intruder.scitt')).code).toBe(0);
    const wrongIssuer = await run('verify', 'intruder.scitt', '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'issuer.pub.pem');
    expect(wrongIssuer.code).toBe(1);
    expect(wrongIssuer.stdout).toMatch(/FAIL  issuer/);
    const bare = await run('verify', 's.cose', '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'issuer.pub.pem');
    expect(bare.code).toBe(1);
    expect(bare.stdout).toMatch(/ERR_RECEIPT_MISSING/);
    // --receipts-only: registration proven without issuer trust, and it says so
    const ro = await run('verify', 'intruder.scitt', '--ts-keys', 'ts-keys.cbor', '--receipts-only');
    expect(ro.code).toBe(0);
    expect(ro.stdout).toMatch(/issuer not verified/);
  });

  it('exit 2: no issuer trust given, unreachable service, missing files', async () => {
    const noTrust = await run('verify', 'app.tar.scitt', '--ts-keys', 'ts-keys.cbor');
    expect(noTrust.code).toBe(2);
    expect(noTrust.stderr).toMatch(/issuer key.*\[ERR_USAGE\]/); // refused before verifying: say whom to trust
    const down = await run('register', 's.cose', '--ts', 'http://127.0.0.1:9', '--out', 'x.receipt');
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/is the Transparency Service up/);
    expect((await run('attach', 'nope.cose', 's.receipt', '--out', 'x.scitt')).code).toBe(2);
  }, 60_000);

  it('scitt policy show and set: the policy in force, and a new one registered on the log with the admin token', async () => {
    const admin = await startService({ env: { SCITT_TS_ADMIN_TOKEN: 'admin-token' } });
    try {
      const before = await run('policy', 'show', '--ts', admin.url);
      expect(before.code).toBe(0);
      expect(JSON.parse(before.stdout)).toMatchObject({ default: true, leafIndex: null });
      const issuer = loadKey(readFileSync(join(dir, 'issuer.pem')));
      writeFileSync(join(dir, 'new-policy.json'), JSON.stringify({ issuers: [{ name: 'release', key: toPem(publicKey(issuer)) }] }));
      const refused = await run('policy', 'set', '--ts', admin.url, '--policy', 'new-policy.json', '--admin-token', 'wrong');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/401/);
      const set = await scitt(['policy', 'set', '--ts', admin.url, '--policy', 'new-policy.json'], dir, { SCITT_TS_ADMIN_TOKEN: 'admin-token' });
      expect(set.code, set.stderr).toBe(0);
      expect(JSON.parse(set.stdout).leafIndex).toBe(0);
      expect(JSON.parse((await run('policy', 'show', '--ts', admin.url)).stdout)).toMatchObject({ default: false, leafIndex: 0 });
      expect((await run('register', 's.cose', '--ts', admin.url, '--out', 'admin.receipt')).code).toBe(0);
    } finally {
      await admin.stop();
    }
  });

  it('registration refused by the service policy is exit 1 with its reason', async () => {
    await run('keygen', '--out', 'stranger.pem');
    await run('statement', 'create', '--payload', 'sbom.json', '--key', 'stranger.pem', '--iss', 'https://e.x', '--sub', 'pkg:generic/x', '--out', 'stranger.cose');
    const r = await run('register', 'stranger.cose', '--ts', other.url, '--out', 'x.receipt');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/400 Rejected: issuer key [0-9a-f]+ is not trusted/);
  });
});
