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
function parseOutputFile(text: string): Record<string, string> {
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

/** `dist`: another build of the action's dist/ (default the committed one); `nodeArgs`: before the script, as `node --import …` */
export function runBundledAction(name: string, inputs: Record<string, string>, o: { workspace: string; env?: Record<string, string>; dist?: string; nodeArgs?: string[] }): Promise<ActionRun> {
  const env = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v]));
  return runScript(join(o.dist ?? join(REPO_ROOT, 'actions', name, 'dist'), 'index.mjs'), env, o);
}

/** One step: a child node process with the runner's environment and fresh GITHUB_OUTPUT / summary files. */
function runScript(main: string, stepEnv: Record<string, string>, o: { workspace: string; env?: Record<string, string>; nodeArgs?: string[] }): Promise<ActionRun> {
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
    ...stepEnv,
    ...o.env,
  };
  return new Promise((res) => {
    const child = spawn(process.execPath, [...(o.nodeArgs ?? []), main], { cwd: o.workspace, env, stdio: 'pipe' });
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

/**
 * Runs a composite action's steps as the runner does: each `run` step in bash with its `env`, the
 * expressions it uses (`inputs.*`, `github.*`, `steps.<id>.outputs.*`, `a || b`, string literals)
 * evaluated, GITHUB_OUTPUT per step, and the composite's outputs mapped from its `outputs.*.value`.
 */
export async function runCompositeAction(name: string, inputs: Record<string, string>, o: { workspace: string; env?: Record<string, string> }): Promise<ActionRun & { steps: Record<string, ActionRun> }> {
  const { parse } = await import('yaml');
  const dir = join(REPO_ROOT, 'actions', name);
  const meta = parse(readFileSync(join(dir, 'action.yml'), 'utf8')) as {
    inputs: Record<string, { default?: string }>;
    outputs: Record<string, { value: string }>;
    runs: { using: string; steps: { id: string; run: string; shell: string; env?: Record<string, string> }[] };
  };
  if (meta.runs.using !== 'composite') throw new Error(`${name} is not a composite action`);
  const withDefaults = { ...Object.fromEntries(Object.entries(meta.inputs).map(([k, v]) => [k, v.default ?? ''])), ...inputs };
  const steps: Record<string, ActionRun> = {};
  const context: Record<string, string> = { 'github.action_path': dir, 'github.repository': GITHUB_CONTEXT.GITHUB_REPOSITORY, 'github.workspace': o.workspace, 'github.token': o.env?.GITHUB_TOKEN ?? '' };
  const ref = (r: string): string => {
    const t = r.trim();
    const lit = /^'(.*)'$/.exec(t);
    if (lit) return lit[1]!;
    if (t.startsWith('inputs.')) {
      const v = withDefaults[t.slice(7)] ?? '';
      return v.includes('${{') ? evaluate(v) : v; // a default that is an expression (github-token: ${{ github.token }})
    }
    const step = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(t);
    if (step) return steps[step[1]!]?.outputs[step[2]!] ?? '';
    if (t in context) return context[t]!;
    throw new Error(`expression ${t} is not supported by this test runner`);
  };
  // GitHub's precedence: == binds tighter than &&, && tighter than ||; && and || yield an operand ('' is falsy)
  const term = (t: string) => {
    const eq = t.split('==');
    return eq.length === 2 ? (ref(eq[0]!) === ref(eq[1]!) ? 'true' : '') : ref(t);
  };
  const and = (a: string) => {
    let v = '';
    for (const t of a.split('&&')) if ((v = term(t)) === '') return v;
    return v;
  };
  function evaluate(s: string): string {
    return s.replace(/\$\{\{(.+?)\}\}/g, (_m, expr: string) => expr.split('||').map(and).find((v) => v !== '') ?? '');
  }
  let last: ActionRun | undefined;
  for (const step of meta.runs.steps) {
    const env = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, evaluate(String(v))]));
    // A run step is a bash command; the bundled action reads the same INPUT_* the runner would set.
    const cmd = evaluate(step.run);
    const nodeMain = /^node "(.+)"$/.exec(cmd.trim());
    if (!nodeMain) throw new Error(`step ${step.id}: only \`node "<bundle>"\` steps are supported here`);
    const run = await runScript(nodeMain[1]!, env, o);
    steps[step.id] = run;
    last = run;
    if (run.code !== 0) break;
  }
  const outputs = Object.fromEntries(Object.entries(meta.outputs).map(([k, v]) => [k, evaluate(v.value)]));
  const all = Object.values(steps);
  return {
    code: last?.code ?? 0,
    stdout: all.map((s) => s.stdout).join(''),
    stderr: all.map((s) => s.stderr).join(''),
    outputs,
    summary: all.map((s) => s.summary).join(''),
    errors: all.flatMap((s) => s.errors),
    warnings: all.flatMap((s) => s.warnings),
    steps,
  };
}
