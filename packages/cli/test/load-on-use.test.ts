/**
 * Commands load only what they use (issue #14): `scitt verify` of a key-signed statement loads
 * neither the service (fastify), the keyless signer, the schema validator, nor the libraries that
 * only certificates, XML, Sigstore bundles, GitHub releases or globs need. The real CLI runs under a
 * module hook that lists every file Node loads; the verify fails (no such file) after its verb's
 * whole module graph has loaded, which is what start-up pays for.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const HOOK = `import { registerHooks } from 'node:module';
import { writeSync } from 'node:fs';
registerHooks({ load(url, context, next) { writeSync(2, 'LOADED ' + url + '\\n'); return next(url, context); } });
`;

function loaded(args: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'scitt-load-'));
  writeFileSync(join(dir, 'hook.mjs'), HOOK);
  const r = spawnSync(process.execPath, ['--import', join(dir, 'hook.mjs'), MAIN, ...args], { cwd: dir, encoding: 'utf8' });
  return r.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice('LOADED '.length));
}

const NOT_FOR_VERIFY = ['fastify', '@sigstore/sign', '/ajv/', '/schemas/', '@peculiar/x509', '@octokit/', 'cbor-extract', 'fast-xml-parser', 'tinyglobby', '@sigstore/verify', 'better-sqlite3'];

describe('scitt loads only what the command uses', () => {
  it('verify with a key file loads none of the service, signer, validators, X.509, XML, GitHub or glob libraries', () => {
    const files = loaded(['verify', 'missing.scitt', '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'issuer.pub.pem']);
    expect(files.some((f) => f.includes('/commands/verify.'))).toBe(true);
    expect(files.filter((f) => NOT_FOR_VERIFY.some((n) => f.includes(n)))).toEqual([]);
  });

  it("verify with a key file loads no network stack: not fetch's undici, http2, tls or zlib, nor SQLite", () => {
    // node's own list of the builtins it loaded, printed at exit (an ES import of node:http loads undici with all of these)
    const dir = mkdtempSync(join(tmpdir(), 'scitt-load-'));
    writeFileSync(join(dir, 'list.cjs'), "process.on('exit', () => process._rawDebug('BUILTINS ' + process.moduleLoadList.join(',')));\n");
    const r = spawnSync(process.execPath, ['-r', join(dir, 'list.cjs'), MAIN, 'verify', 'missing.scitt', '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'issuer.pub.pem'], { cwd: dir, encoding: 'utf8' });
    const builtins = /BUILTINS (.*)/.exec(r.stderr)![1]!.split(',');
    expect(builtins).toContain('NativeModule internal/crypto/sig');
    expect(builtins.filter((m) => /^NativeModule (internal\/deps\/undici\/undici|http2|tls|zlib|sqlite)$/.test(m))).toEqual([]);
  });

  it('--version loads the entry point and its version only', () => {
    const files = loaded(['--version']).filter((f) => f.startsWith('file:'));
    expect(files.every((f) => /\/cli\/src\/(main|version)\.ts$/.test(f))).toBe(true);
  });
});
