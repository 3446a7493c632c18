/** Starts `scitt witness` as a real child process on a free loopback port (URL and key on its first two stdout lines). */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnScitt } from './transparency-service.ts';

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
  // its URL and its verifier key, on the first two lines
  const { lines, ...child } = await spawnScitt(args, { lines: 2 });
  return { url: lines[0]!, key: lines[1]!, dataDir, ...child };
}
