import { execFile } from 'node:child_process';
import { SCITT_MAIN } from './transparency-service.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `scitt` binary as a child process, as a user's shell would. */
export function scitt(args: string[], cwd: string, env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((res) => {
    execFile(process.execPath, [SCITT_MAIN, ...args], { cwd, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 2) : 0, stdout, stderr });
    });
  });
}
