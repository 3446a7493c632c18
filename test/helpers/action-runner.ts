/**
 * Runs an action's committed bundle the way a GitHub runner does: a child `node` process with
 * INPUT_* variables, GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_ENV files, the workspace as cwd,
 * and the runner's context variables. Outputs are read back from the files, as the next step would.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

export interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** workflow commands the action printed: ::error::, ::warning:: … */
  errors: string[];
  warnings: string[];
}

export const GITHUB_CONTEXT = {
  GITHUB_ACTIONS: 'true',
  GITHUB_REPOSITORY: 'acme/app',
  GITHUB_REPOSITORY_ID: '123456',
  GITHUB_REPOSITORY_OWNER: 'acme',
  GITHUB_REPOSITORY_OWNER_ID: '7890',
  GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
  GITHUB_REF: 'refs/tags/v1.0.0',
  GITHUB_REF_NAME: 'v1.0.0',
  GITHUB_WORKFLOW_REF: 'acme/app/.github/workflows/release.yml@refs/tags/v1.0.0',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_RUN_ID: '9876543210',
  GITHUB_RUN_ATTEMPT: '1',
  GITHUB_EVENT_NAME: 'push',
  GITHUB_JOB: 'release',
  RUNNER_ENVIRONMENT: 'github-hosted',
  RUNNER_OS: 'Linux',
};

/** GITHUB_OUTPUT holds `name=value` lines and `name<<DELIM … DELIM` blocks (@actions/core writes the latter). */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const block = /^([^=<]+)<<(.+)$/.exec(line);
    if (block) {
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== block[2]; i++) body.push(lines[i]!);
      out[block[1]!] = body.join('\n');
    } else if (line.includes('=')) {
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return out;
}

export function runBundledAction(name: string, inputs: Record<string, string>, o: { workspace: string; env?: Record<string, string> }): Promise<ActionRun> {
  const runnerTemp = mkdtempSync(join(tmpdir(), 'runner-temp-'));
  const files = { GITHUB_OUTPUT: join(runnerTemp, 'output'), GITHUB_STEP_SUMMARY: join(runnerTemp, 'summary'), GITHUB_ENV: join(runnerTemp, 'env'), GITHUB_STATE: join(runnerTemp, 'state') };
  for (const f of Object.values(files)) writeFileSync(f, '');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? runnerTemp,
    ...GITHUB_CONTEXT,
    GITHUB_WORKSPACE: o.workspace,
    RUNNER_TEMP: runnerTemp,
    ...files,
    ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v])),
    ...o.env,
  };
  const main = join(REPO_ROOT, 'actions', name, 'dist', 'index.mjs');
  return new Promise((res) => {
    const child = spawn(process.execPath, [main], { cwd: o.workspace, env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => {
      const commands = (kind: string) => stdout.split('\n').filter((l) => l.startsWith(`::${kind}`)).map((l) => l.slice(l.indexOf('::', 2) + 2));
      res({
        code,
        stdout,
        stderr,
        outputs: parseOutputFile(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
        summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
        errors: commands('error'),
        warnings: commands('warning'),
      });
    });
  });
}
