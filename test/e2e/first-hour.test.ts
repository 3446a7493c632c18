/**
 * The README's first hour, run as written (issue #15): the operator starts a service from
 * `scitt policy init`, the release engineer runs the one-step composite action (key-signed, so no
 * Sigstore and no network beyond the service), and the consumer verifies what they downloaded,
 * offline, with one command. Any request off loopback goes to a proxy that does not exist.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTufServer } from '../../packages/core/test/helpers/identity-tuf-server.ts';
import { vectorText } from '../../packages/core/test/helpers/identity-vectors.ts';
import { REPO_ROOT, runCompositeAction } from '../helpers/action-runner.ts';
import { scitt } from '../helpers/cli.ts';
import { type ServiceProcess, startService } from '../helpers/transparency-service.ts';

/** Off loopback there is no network here: a dead proxy makes any attempt fail at once, and visibly. */
const OFFLINE = { HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: '127.0.0.1,localhost' };

const services: ServiceProcess[] = [];
afterAll(async () => {
  await Promise.allSettled(services.map((s) => s.stop()));
});

describe('the first hour, as the README writes it', () => {
  const root = mkdtempSync(join(tmpdir(), 'scitt-first-hour-'));
  const operator = join(root, 'operator');
  const ws = join(root, 'workspace');
  const consumer = join(root, 'download');
  for (const d of [operator, ws, join(ws, 'dist'), consumer]) mkdirSync(d, { recursive: true });
  let ts: ServiceProcess;

  it('operator: policy init → serve --policy → keys (3 commands, no hand-written JSON)', { timeout: 120_000 }, async () => {
    // the release engineer's key; the operator receives only its public half
    expect((await scitt(['keygen', '--out', join(ws, 'issuer.pem')], ws)).code).toBe(0);
    cpSync(join(ws, 'issuer.pub.pem'), join(operator, 'issuer.pub.pem'));
    const init = await scitt(['policy', 'init', '--issuer-key', 'issuer.pub.pem', '--out', 'policy.json'], operator, OFFLINE);
    expect(init.code, init.stderr).toBe(0);
    ts = await startService({ args: ['--policy', join(operator, 'policy.json')] });
    services.push(ts);
    const keys = await scitt(['keys', '--ts', ts.url, '--out', 'ts-keys.cbor'], operator, OFFLINE);
    expect(keys.code, keys.stderr).toBe(0);
  });

  it('release engineer: actions/release, key-signed, two artifacts with an SBOM and provenance, offline', { timeout: 300_000 }, async () => {
    writeFileSync(join(ws, 'dist/app.tgz'), 'the app, release 1.0.0\n');
    writeFileSync(join(ws, 'dist/lib.tgz'), 'the lib, release 1.0.0\n');
    cpSync(join(REPO_ROOT, 'test/fixtures/sample-sbom.cdx.json'), join(ws, 'dist/sbom.cdx.json'));
    const r = await runCompositeAction(
      'release',
      {
        'subject-path': 'dist/app.tgz\ndist/lib.tgz',
        'evidence-path': 'dist/sbom.cdx.json',
        'transparency-service': ts.url,
        signing: 'key',
        'signing-key': readFileSync(join(ws, 'issuer.pem'), 'utf8'), // a secret: the content
        issuer: 'https://example.com/releases',
        'issuer-key': 'issuer.pub.pem', // a path
        target: 'files',
      },
      { workspace: ws, env: OFFLINE },
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.outputs.verified).toBe('true');
    const names = readdirSync(join(ws, 'dist')).filter((n) => n.endsWith('.scitt')).sort();
    expect(names).toEqual(['app.tgz.provenance.scitt', 'app.tgz.sbom.scitt', 'lib.tgz.provenance.scitt', 'lib.tgz.sbom.scitt']);
  });

  it('consumer: one command, offline, for what they downloaded; a lone statement says what it did not check', { timeout: 120_000 }, async () => {
    for (const n of readdirSync(join(ws, 'dist')).filter((x) => x.startsWith('app.tgz'))) cpSync(join(ws, 'dist', n), join(consumer, n));
    for (const n of ['ts-keys.cbor', 'issuer.pub.pem']) cpSync(join(operator, n), join(consumer, n));
    const v = await scitt(['verify', '--artifact', 'app.tgz', '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'issuer.pub.pem', '--require', 'sbom,provenance'], consumer, OFFLINE);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toMatch(/RELEASE GATE PASSED/);
    writeFileSync(join(consumer, 'app.tgz'), 'tampered\n');
    expect((await scitt(['verify', '--artifact', 'app.tgz', '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'issuer.pub.pem', '--require', 'sbom,provenance'], consumer, OFFLINE)).code).toBe(1);

    const lone = await scitt(['verify', 'app.tgz.sbom.scitt', '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'issuer.pub.pem'], consumer, OFFLINE);
    expect(lone.code, lone.stderr).toBe(0);
    expect(lone.stdout).toMatch(/not checked: the artifact's bytes/);
    const json = JSON.parse((await scitt(['verify', 'app.tgz.sbom.scitt', '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'issuer.pub.pem', '--json'], consumer, OFFLINE)).stdout) as {
      ok: boolean;
      result: { checksRun: string[]; notChecked: string[] };
    };
    expect(json.ok).toBe(true);
    expect(json.result.checksRun.length).toBeGreaterThan(0);
    expect(json.result.notChecked[0]).toMatch(/artifact's bytes/);
  });

  it('operator, keyless: trusted-root through TUF, policy init --keyless, and a service without a policy names policy init', { timeout: 180_000 }, async () => {
    const tuf = await startTufServer(vectorText('trusted_root.json'));
    try {
      const tr = await scitt(['trusted-root', '--tuf-mirror', tuf.mirrorURL, '--tuf-root', tuf.rootPath, '--tuf-cache', tuf.cachePath, '--out', 'trusted_root.json'], operator);
      expect(tr.code, tr.stderr).toBe(0);
      expect(tuf.requests).toContain('/targets/trusted_root.json');
    } finally {
      await tuf.close();
    }
    expect(JSON.parse(readFileSync(join(operator, 'trusted_root.json'), 'utf8')).mediaType).toMatch(/trustedroot/);
    const init = await scitt(['policy', 'init', '--keyless', '--repo', 'acme/app', '--trusted-root', 'trusted_root.json', '--out', 'keyless.json', '--json'], operator, OFFLINE);
    expect(init.code, init.stderr).toBe(0);
    const policy = JSON.parse(readFileSync(join(operator, 'keyless.json'), 'utf8')) as { x509: { roots: string[]; identity: object } };
    expect(policy.x509.identity).toEqual({ repo: 'acme/app' });
    expect(policy.x509.roots.join('')).toMatch(/BEGIN CERTIFICATE[\s\S]*BEGIN PUBLIC KEY/); // Fulcio's root and its CT logs' keys
    const keyless = await startService({ args: ['--policy', join(operator, 'keyless.json')] });
    services.push(keyless);
    const shown = await scitt(['policy', 'show', '--ts', keyless.url, '--json'], operator);
    expect(JSON.parse(shown.stdout)).toMatchObject({ ok: true, command: 'policy show' });
    const bare = await startService();
    services.push(bare);
    await new Promise((r) => setTimeout(r, 200));
    expect(bare.stderr()).toMatch(/scitt policy init/);
  });
});
