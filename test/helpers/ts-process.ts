/**
 * `scitt serve` as a child process under a wrapper command (e.g. a shell that lowers RLIMIT_FSIZE
 * first), or run to completion when it is expected to refuse to start. Same shape as
 * test/helpers/transparency-service.ts, which it complements.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCITT_MAIN, type ServiceProcess, startService } from './transparency-service.ts';

export interface WrappedStart {
  dataDir: string;
  args?: string[];
  env?: Record<string, string>;
  /** prefix: the command line runs as [...wrap, node, main.ts, serve, ...] */
  wrap?: string[];
}

function serveArgs(o: WrappedStart): string[] {
  return [process.execPath, SCITT_MAIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--data', o.dataDir, ...(o.args ?? [])];
}

/** Starts the service under the wrapper and waits for its URL (first stdout line). */
export function spawnService(o: WrappedStart): Promise<ServiceProcess> {
  return startService(o);
}

export interface Refusal {
  /** it printed a URL: it started (then `probe` ran and it was killed) */
  started: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** what `probe` threw */
  probeError?: unknown;
}

/**
 * Runs `scitt serve` expecting it to refuse to start, and resolves once it has exited. Should it
 * start instead (print its URL), `probe(url)` runs against it (e.g. tries to register) and then it is
 * SIGKILLed; `started` tells. Killed as well after `waitMs` without either.
 */
export function runServeExpectingExit(o: WrappedStart, probe: (url: string) => Promise<void> = async () => undefined, waitMs = 20_000): Promise<Refusal> {
  const [cmd, ...rest] = [...(o.wrap ?? []), ...serveArgs(o)];
  const proc = spawn(cmd!, rest, { env: { ...process.env, ...o.env }, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  let started = false;
  let probeError: unknown;
  proc.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (!started && stdout.includes('\n')) {
      started = true;
      void probe(stdout.split('\n')[0]!.trim())
        .catch((e: unknown) => (probeError = e))
        .finally(() => proc.kill('SIGKILL'));
    }
  });
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((res) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), waitMs);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      res({ started, code, signal, stdout, stderr, ...(probeError !== undefined ? { probeError } : {}) });
    });
  });
}

/**
 * Environment for service processes that start again and again (kill tests): Node's compile cache
 * in a fresh directory, written once here by a clean run of the CLI (killed processes never flush
 * it). A runtime cache only: the service runs the same code, it just starts about twice as fast.
 */
export function compileCacheEnv(): { NODE_COMPILE_CACHE: string } {
  const dir = mkdtempSync(join(tmpdir(), 'scitt-ncc-'));
  spawnSync(process.execPath, [SCITT_MAIN, '--help'], { env: { ...process.env, NODE_COMPILE_CACHE: dir }, stdio: 'ignore' });
  return { NODE_COMPILE_CACHE: dir };
}
