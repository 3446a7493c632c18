/** The README's first Quick start command: the demo runs the whole mission and exits 0. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/action-runner.ts';

it('scripts/demo.sh: gate passes, tampered artifact refused, exit 0, nothing left running', () => {
  const r = spawnSync('bash', [join(REPO_ROOT, 'scripts/demo.sh')], { encoding: 'utf8', timeout: 120_000 });
  expect(r.status, r.stdout + r.stderr).toBe(0);
  expect(r.stdout).toMatch(/RELEASE GATE PASSED/);
  expect(r.stdout).toMatch(/RELEASE GATE REFUSED/);
  expect(r.stdout).toMatch(/refused, as it must be/);
  const leftover = spawnSync('pgrep', ['-f', 'main.ts serve --data ts-data'], { encoding: 'utf8' });
  expect(leftover.stdout.trim()).toBe('');
}, 120_000);
