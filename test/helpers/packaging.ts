/**
 * What the packaging tests share: a Node build of a given major from the npm registry (as
 * scripts/bootstrap.sh brings Node 24), child processes with that node first on PATH, and the
 * release flow run through whatever `scitt` command a test hands in (an installed bin, or node
 * with the one-file scitt.mjs).
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
export const NODE22_PIN = '22.23.5';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command, never throwing: the exit code is part of what tests check. */
export function run(cmd: string, args: readonly string[], o: { cwd: string; env?: Record<string, string>; timeout?: number }): Promise<Run> {
  return new Promise((res) => {
    execFile(cmd, args, { cwd: o.cwd, env: { ...process.env, ...o.env }, timeout: o.timeout ?? 120_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 2) : 0, stdout, stderr });
    });
  });
}

/** The node binary of Node `version`, installed once into .tools/node-VERSION from the npm registry. */
export async function nodeBinary(version: string): Promise<string> {
  const pkg = `node-${platform() === 'win32' ? 'win' : platform()}-${arch()}`;
  const dir = join(ROOT, '.tools', `node-${version}`);
  const bin = join(dir, 'node_modules', pkg, 'bin', platform() === 'win32' ? 'node.exe' : 'node');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{"private":true}\n');
  const r = await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--no-save', `${pkg}@${version}`], { cwd: dir, timeout: 300_000 });
  if (r.code !== 0 || !existsSync(bin)) throw new Error(`could not install Node ${version} from the npm registry: ${r.stderr}`);
  return bin;
}

/** An environment whose `node` (and so every `#!/usr/bin/env node` bin) is `nodeBin`. */
export const withNode = (nodeBin: string): Record<string, string> => ({ PATH: `${dirname(nodeBin)}${delimiter}${process.env.PATH ?? ''}` });

/**
 * The README's flow through `scitt`: keygen, serve with a policy trusting the key, statement create
 * (a Hash Envelope of an SBOM about an artifact), register, attach, keys, verify — then the same
 * verification of a tampered artifact, which must be refused. Returns each step's result.
 */
export async function releaseFlow(scitt: { cmd: string; args: string[] }, dir: string, env: Record<string, string>) {
  const step = (...a: string[]) => run(scitt.cmd, [...scitt.args, ...a], { cwd: dir, env });
  const steps: Record<string, Run> = {};
  steps.keygen = await step('keygen', '--out', 'issuer.pem');
  const jwk = (await import('node:crypto')).createPublicKey(readFileSync(join(dir, 'issuer.pub.pem'))).export({ format: 'jwk' });
  writeFileSync(join(dir, 'policy.json'), JSON.stringify({ issuers: [{ name: 'release pipeline', key: jwk }] }));
  const service = spawn(scitt.cmd, [...scitt.args, 'serve', '--data', 'ts-data', '--policy', 'policy.json'], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let serviceErr = '';
  service.stderr.on('data', (d: Buffer) => (serviceErr += d.toString()));
  try {
    const url = await new Promise<string>((res, rej) => {
      let out = '';
      service.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) res(out.split('\n')[0]!.trim());
      });
      service.on('exit', (code) => rej(new Error(`scitt serve exited with ${code}: ${serviceErr}`)));
    });
    writeFileSync(join(dir, 'app.tar'), 'release bytes 1.0.0\n');
    writeFileSync(join(dir, 'sbom.json'), '{"bomFormat":"CycloneDX","specVersion":"1.6","version":1}');
    const digest = createHash('sha256').update(readFileSync(join(dir, 'app.tar'))).digest('hex');
    const sub = `pkg:generic/app@1.0.0?checksum=sha256:${digest}`;
    steps.create = await step('statement', 'create', '--payload', 'sbom.json', '--key', 'issuer.pem', '--iss', 'https://e.x', '--sub', sub, '--hash-envelope', '--location', 'sbom.json', '--out', 's.cose');
    steps.register = await step('register', 's.cose', '--ts', url, '--out', 's.receipt');
    steps.attach = await step('attach', 's.cose', 's.receipt', '--out', 'app.tar.scitt');
    steps.keys = await step('keys', '--ts', url, '--out', 'ts-keys.cbor');
    steps.health = { code: (await fetch(`${url}/health`)).ok ? 0 : 1, stdout: '', stderr: '' };
  } finally {
    service.kill('SIGTERM');
    await new Promise((r) => (service.exitCode === null ? service.on('exit', r) : r(undefined)));
  }
  // offline from here: the service is stopped
  steps.verify = await step('verify', 'app.tar.scitt', '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'issuer.pub.pem', '--artifact', 'app.tar', '--evidence', 'sbom.json');
  writeFileSync(join(dir, 'tampered.tar'), 'release bytes 1.0.0 + backdoor\n');
  steps.tampered = await step('verify', 'app.tar.scitt', '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'issuer.pub.pem', '--artifact', 'tampered.tar');
  return steps;
}
