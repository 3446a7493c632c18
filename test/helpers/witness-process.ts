/** Starts `scitt witness` as a real child process on a free loopback port (URL and key on its first two stdout lines). */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCITT_MAIN } from './transparency-service.ts';

export interface WitnessProcess {
  url: string;
  key: string;
  dataDir: string;
  proc: ChildProcessWithoutNullStreams;
  stderr: () => string;
  stop(): Promise<number | null>;
  kill(): Promise<void>;
}

export async function startWitnessProcess(o: { logs: string[]; name?: string; dataDir?: string; args?: string[] }): Promise<WitnessProcess> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'scitt-witness-'));
  const args = ['witness', '--name', o.name ?? 'witness.example/w1', '--data', dataDir, '--port', '0', ...o.logs.flatMap((k) => ['--log', k]), ...(o.args ?? [])];
  const proc = spawn(process.execPath, [SCITT_MAIN, ...args], { stdio: 'pipe' });
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const [url, key] = await new Promise<[string, string]>((res, rej) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      if (lines.length >= 3) {
        proc.stdout.off('data', onData);
        res([lines[0]!.trim(), lines[1]!.trim()]);
      }
    };
    proc.stdout.on('data', onData);
    void exited.then((code) => rej(new Error(`scitt witness exited (${code}) before printing its URL:\n${err}`)));
    setTimeout(() => rej(new Error(`scitt witness printed no URL within 20 s:\n${err}`)), 20_000).unref();
  });
  return {
    url,
    key,
    dataDir,
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
