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
import { generateKey, publicKey, thumbprint, toPem } from '../../core/src/cose/key.ts';
import { keySigner } from '../../core/src/cose/sign1.ts';
import { leafHash } from '../../core/src/merkle/hash.ts';
import { statementEntry } from '../../core/src/receipt/entry.ts';
import { issueReceipt } from '../../core/src/receipt/issue.ts';
import { attachReceipts } from '../../core/src/receipt/transparent.ts';
import { createSignedStatement } from '../../core/src/statement/signed-statement.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const HOOK = `import { registerHooks } from 'node:module';
import { writeSync } from 'node:fs';
registerHooks({ load(url, context, next) { writeSync(2, 'LOADED ' + url + '\\n'); return next(url, context); } });
`;

// counts the ICU collators made (packageurl-js makes one as it loads, unless purl.ts stands in for it)
const COLLATORS = `const C = Intl.Collator; let n = 0;
Intl.Collator = new Proxy(C, { construct(t, a) { n++; return Reflect.construct(t, a); }, apply(t, self, a) { n++; return Reflect.apply(t, self, a); } });
process.on('exit', () => process._rawDebug('COLLATORS ' + n));
`;

function run(args: string[], cwd = mkdtempSync(join(tmpdir(), 'scitt-load-'))) {
  writeFileSync(join(cwd, 'hook.mjs'), HOOK);
  writeFileSync(join(cwd, 'collators.cjs'), COLLATORS);
  const r = spawnSync(process.execPath, ['-r', join(cwd, 'collators.cjs'), '--import', join(cwd, 'hook.mjs'), MAIN, ...args], { cwd, encoding: 'utf8' });
  const files = r.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice('LOADED '.length));
  return { status: r.status, stdout: r.stdout, files, collators: Number(/COLLATORS (\d+)/.exec(r.stderr)?.[1]) };
}

const loaded = (args: string[]): string[] => run(args).files;

/** A key-signed Transparent Statement about `sub` with a receipt of a one-leaf log, its service's and issuer's public keys, in a new directory. */
async function transparentStatement(sub: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'scitt-load-'));
  const issuer = generateKey('P-256');
  const service = generateKey('P-256');
  const signed = await createSignedStatement({ payload: new TextEncoder().encode('{"bomFormat":"CycloneDX"}'), signer: keySigner(issuer), kid: thumbprint(issuer), iss: 'https://acme.example', sub, iat: 1_700_000_000 });
  const receipt = await issueReceipt({ signer: keySigner(service), kid: thumbprint(service), iss: 'https://ts.example', iat: 1_700_000_100, proof: { treeSize: 1, leafIndex: 0, path: [] }, root: leafHash(statementEntry(signed)) });
  writeFileSync(join(dir, 's.scitt'), attachReceipts(signed, [receipt]));
  writeFileSync(join(dir, 'issuer.pub.pem'), toPem(publicKey(issuer)));
  writeFileSync(join(dir, 'service.pub.pem'), toPem(publicKey(service)));
  return dir;
}
const VERIFY = ['verify', 's.scitt', '--ts-keys', 'service.pub.pem', '--issuer-key', 'issuer.pub.pem'];

// What verifying one key-signed statement never needs: the root barrel, the gate's stores and file hashing, trust
// states and tiles, the SCRAPI client, certificates, and the evidence formats (their validators)
const LAZY_CORE = ['/core/src/index.ts', '/storage/target.', '/storage/files.', '/storage/github-release.', '/storage/oci/store.', '/verify/beside.', '/payload/subjects.', '/payload/hashing.', '/payload/index.', '/payload/detect.', '/payload/binding.', '/checkpoint/', '/tiles/', '/scrapi/', '/identity/verify.', '/identity/trust.', '/identity/keyless.', '/statement/issue.'];

const NOT_FOR_VERIFY = ['fastify', '@sigstore/sign', '/ajv/', '/schemas/', '@peculiar/x509', '@octokit/', 'cbor-extract', 'fast-xml-parser', 'tinyglobby', '@sigstore/verify', 'better-sqlite3'];

describe('scitt loads only what the command uses', () => {
  it('verify with a key file loads none of the service, signer, validators, X.509, XML, GitHub or glob libraries', () => {
    const files = loaded(['verify', 'missing.scitt', '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'issuer.pub.pem']);
    expect(files.some((f) => f.includes('/commands/verify.'))).toBe(true);
    expect(files.filter((f) => NOT_FOR_VERIFY.some((n) => f.includes(n)))).toEqual([]);
  });

  it('verifying a key-signed statement about a package URL loads only its own modules, and packageurl-js without an ICU collator', async () => {
    const r = run(VERIFY, await transparentStatement(`pkg:generic/app@1.0.0?checksum=sha256:${'ab'.repeat(32)}`));
    expect(r.stdout).toMatch(/^VERIFIED/);
    expect(r.files.some((f) => f.includes('/packageurl-js/'))).toBe(true);
    expect(r.files.filter((f) => [...NOT_FOR_VERIFY, ...LAZY_CORE].some((n) => f.includes(n)))).toEqual([]);
    expect(r.collators).toBe(0);
  });

  it('verifying a statement whose subject is not a package URL does not load packageurl-js', async () => {
    const r = run(VERIFY, await transparentStatement('https://acme.example/app/1.0.0'));
    expect(r.stdout).toMatch(/^VERIFIED/);
    expect(r.files.some((f) => f.includes('/commands/verify.'))).toBe(true);
    expect(r.files.filter((f) => f.includes('/packageurl-js/'))).toEqual([]);
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
