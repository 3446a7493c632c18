/**
 * Packaging rules checked on the tree itself (fast; packaging.test.ts installs the packed packages):
 * every package declares exactly what its sources import; `uses:` lines resolve for this repository's
 * layout (OWNER/REPO/actions/NAME@REF); the CLI's version is its package's; the release workflow ships
 * the one-file CLI and moves the floating major tag.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/packaging.ts';
import { VERSION } from '../../packages/cli/src/version.ts';

const files = (dir: string, test: (f: string) => boolean): string[] =>
  existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => !f.includes('node_modules') && test(f)).map((f) => join(dir, f)) : [];

/** The packages a TypeScript file imports (static, type-only, side-effect and dynamic), by package name. */
export function importedPackages(source: string): Set<string> {
  const names = new Set<string>();
  for (const m of source.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
    const spec = m[1] ?? m[2] ?? m[3] ?? m[4]!;
    if (spec.startsWith('.') || spec.startsWith('node:') || builtinModules.includes(spec)) continue;
    names.add(spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/'));
  }
  return names;
}

const PACKAGES = ['packages/core', 'packages/transparency-service', 'packages/cli', 'actions'];

describe('dependencies', () => {
  it('the import scanner sees every form of import (the check can fail)', () => {
    const seen = importedPackages("import a from 'x';\nimport type { B } from '@s/y/deep.js';\nimport 'side';\nconst z = await import('lazy');\nexport { c } from 'again';\nimport { d } from './local.ts';\nimport { e } from 'node:fs';");
    expect([...seen].sort()).toEqual(['@s/y', 'again', 'lazy', 'side', 'x']);
  });
  for (const pkg of PACKAGES) {
    it(`${pkg} declares exactly the packages its sources import, at exact versions`, () => {
      const manifest = JSON.parse(readFileSync(join(ROOT, pkg, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
      const sources = pkg === 'actions' ? readdirSync(join(ROOT, pkg)).flatMap((a) => files(join(ROOT, pkg, a, 'src'), (f) => f.endsWith('.ts'))) : files(join(ROOT, pkg, 'src'), (f) => f.endsWith('.ts') || f.endsWith('.cjs'));
      const imported = new Set<string>();
      for (const f of sources) for (const n of importedPackages(readFileSync(f, 'utf8'))) imported.add(n);
      const declared = Object.keys(manifest.dependencies ?? {});
      expect([...imported].filter((n) => !declared.includes(n)), 'imported but not declared').toEqual([]);
      expect(declared.filter((n) => !imported.has(n)), 'declared but never imported').toEqual([]);
      for (const [name, range] of Object.entries(manifest.dependencies ?? {})) expect(range, name).toMatch(/^(\d+\.\d+\.\d+|workspace:\*)$/);
    });
  }
  it('the transparency service depends on core at run time, not as a dev dependency', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'packages/transparency-service/package.json'), 'utf8'));
    expect(manifest.dependencies['@scitt-actions/core']).toBeDefined();
  });
});

describe('GitHub', () => {
  const docs = [join(ROOT, 'README.md'), ...files(ROOT, (f) => f.endsWith('.md') && !f.startsWith('.') && !f.startsWith('test/security/corpus'))];
  const yamls = [...files(join(ROOT, '.github/workflows'), (f) => f.endsWith('.yml')), ...files(join(ROOT, 'actions'), (f) => f.endsWith('action.yml'))];
  const lines = [...new Set([...docs, ...yamls])].flatMap((f) => readFileSync(f, 'utf8').split('\n').map((l, i) => ({ where: `${relative(ROOT, f)}:${i + 1}`, line: l })));
  const uses = lines.flatMap(({ where, line }) => {
    const m = /^\s*(?:-\s+)?uses:\s*([^\s#]+)/.exec(line);
    return m ? [{ where, ref: m[1]! }] : [];
  });
  const actions = readdirSync(join(ROOT, 'actions')).filter((n) => existsSync(join(ROOT, 'actions', n, 'action.yml')));

  it('every uses: of this project is OWNER/REPO/actions/NAME@REF naming an action that exists, or ./actions/NAME', () => {
    expect(uses.length).toBeGreaterThan(4);
    const bad = uses.filter(({ ref }) => {
      const local = /^\.\/actions\/([\w-]+)$/.exec(ref);
      if (local) return !actions.includes(local[1]!);
      const ours = /^[\w.-]+\/scitt-actions\/actions\/([\w-]+)@v\d+$/.exec(ref);
      if (ours) return !actions.includes(ours[1]!);
      // anything else is a third-party action at its root: OWNER/REPO@REF
      return !/^[\w.-]+\/[\w.-]+@[\w.-]+$/.test(ref) || /scitt/.test(ref);
    });
    expect(bad.map((b) => `${b.where} ${b.ref}`)).toEqual([]);
  });
  it('the form check refuses the old, unresolvable form (the check can fail)', () => {
    expect(/^[\w.-]+\/scitt-actions\/actions\/([\w-]+)@v\d+$/.test('scitt-actions/actions/issue-statement@v0')).toBe(false);
  });
  it('the release workflow attaches scitt.mjs and the service keys, and moves the floating major tag', () => {
    const wf = parse(readFileSync(join(ROOT, '.github/workflows/release.yml'), 'utf8')) as { jobs: Record<string, { steps: { run?: string }[] }> };
    const runs = Object.values(wf.jobs).flatMap((j) => j.steps.map((s) => s.run ?? '')).join('\n');
    expect(runs).toMatch(/scitt\.mjs/);
    expect(runs).toMatch(/ts-keys\.cbor/);
    expect(runs).toMatch(/git tag -f "\$major"/);
  });
});

describe('the CLI', () => {
  it("reports its package's version", () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8')).version);
  });
});
