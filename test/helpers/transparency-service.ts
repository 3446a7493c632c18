/**
 * Starts `scitt serve` as a real child process on a free loopback port, as users and CI run it;
 * tests talk to it over HTTP only. No in-process fake of the Transparency Service exists.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CoseKey } from '@scitt-actions/core';
import { toJwk } from '@scitt-actions/core/cose';

export const SCITT_MAIN = resolve(fileURLToPath(import.meta.url), '../../../packages/cli/src/main.ts');

export interface ServiceProcess {
  url: string;
  dataDir: string;
  proc: ChildProcessWithoutNullStreams;
  /** everything the service wrote on stderr (structured log lines) */
  stderr: () => string;
  /** SIGTERM and wait; resolves with the exit code */
  stop(): Promise<number | null>;
  /** SIGKILL and wait */
  kill(): Promise<void>;
}

export interface StartOptions {
  dataDir?: string;
  /** issuer public keys the registration policy trusts */
  issuers?: CoseKey[];
  args?: string[];
  env?: Record<string, string>;
  /** a command prefix: [...wrap, node, main.ts, serve, …] (e.g. a shell that lowers RLIMIT_FSIZE first) */
  wrap?: string[];
}

/** A policy file trusting the given issuer keys. */
export function writePolicy(dir: string, issuers: CoseKey[], extra: Record<string, unknown> = {}): string {
  const path = join(dir, `policy-${Date.now()}-${Math.random().toString(16).slice(2)}.json`);
  writeFileSync(path, JSON.stringify({ issuers: issuers.map((k, i) => ({ name: `issuer-${i}`, key: toJwk(k) })), ...extra }));
  return path;
}

/** A `scitt` verb running as a child process, once it has printed its first `lines` stdout lines. */
export interface ScittChild {
  lines: string[];
  proc: ChildProcessWithoutNullStreams;
  /** everything it wrote on stderr (structured log lines) */
  stderr: () => string;
  /** SIGTERM and wait; resolves with the exit code */
  stop(): Promise<number | null>;
  /** SIGKILL and wait */
  kill(): Promise<void>;
}

/** Spawns `scitt ARGS` (under an optional command prefix) and waits up to 20 s for its first stdout lines. */
export async function spawnScitt(args: string[], o: { env?: Record<string, string>; wrap?: string[]; lines?: number } = {}): Promise<ScittChild> {
  const want = o.lines ?? 1;
  const [cmd, ...rest] = [...(o.wrap ?? []), process.execPath, SCITT_MAIN, ...args];
  const proc = spawn(cmd!, rest, { env: { ...process.env, ...o.env }, stdio: 'pipe' });
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const lines = await new Promise<string[]>((res, rej) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const complete = out.split('\n').slice(0, -1);
      if (complete.length >= want) {
        proc.stdout.off('data', onData);
        res(complete.slice(0, want).map((l) => l.trim()));
      }
    };
    proc.stdout.on('data', onData);
    void exited.then((code) => rej(new Error(`scitt ${args[0]} exited (${code}) before printing its URL:\n${err}`)));
    setTimeout(() => rej(new Error(`scitt ${args[0]} printed no URL within 20 s:\n${err}`)), 20_000).unref();
  });
  return {
    lines,
    proc,
    stderr: () => err,
    async stop() {
      proc.kill('SIGTERM');
      return exited;
    },
    async kill() {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

export async function startService(o: StartOptions = {}): Promise<ServiceProcess> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'scitt-ts-'));
  const args = ['serve', '--host', '127.0.0.1', '--port', '0', '--data', dataDir, ...(o.args ?? [])];
  if (o.issuers) args.push('--policy', writePolicy(dataDir, o.issuers));
  const { lines, ...child } = await spawnScitt(args, { ...(o.env ? { env: o.env } : {}), ...(o.wrap ? { wrap: o.wrap } : {}) });
  return { url: lines[0]!, dataDir, ...child };
}
