/**
 * What the bundled actions load (their structure, not timings; test/bench/actions.ts times them). Each
 * dist/ is an entry, index.mjs, and chunks beside it (scripts/bundle-options.ts): with no inputs an action
 * loads its entry's static imports alone, which hold @actions/core, cbor-x and our own code; a real offline
 * run loads the libraries its work uses and no other. The actions are built here with the committed
 * settings (esbuild's metafile says which libraries each file holds) and run as the runner runs them, under
 * a module hook that lists every file node loads, through import and require alike.
 */
import { build, type Metafile } from 'esbuild';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionBuildOptions } from '../../scripts/bundle-options.ts';
import { REPO_ROOT, runBundledAction } from '../helpers/action-runner.ts';
import { type OfflineRelease, offlineRelease } from '../helpers/offline-release.ts';

const ACTIONS = ['attach-receipt', 'issue-statement', 'register', 'verify-gate'];
// what a run may load without a need: the toolkit's inputs and outputs (@actions/core, and the few
// top-level lines of @actions/exec and @actions/io its platform module imports), CBOR, our code (no package)
const AT_START = new Set(['@actions/core', '@actions/exec', '@actions/io', 'cbor-x']);
// libraries no offline key-signed run needs: certificates, Sigstore, HTTP clients, GitHub's API, XML, globs
const HEAVY = ['@peculiar/x509', 'asn1js', 'reflect-metadata', '@sigstore/core', '@sigstore/verify', '@sigstore/bundle', '@sigstore/sign', '@sigstore/tuf', 'undici', 'iconv-lite', '@actions/http-client', '@actions/github', '@octokit/rest', '@octokit/core', 'fast-xml-parser', 'xmllint-wasm', 'tinyglobby'];

// node's synchronous module hooks see every load: the entry, static imports, import() and require(esm)
const HOOK = `import { registerHooks } from 'node:module'; import { appendFileSync } from 'node:fs';
registerHooks({ load(url, context, next) { if (url.startsWith('file:')) appendFileSync(process.env.SCITT_LOADED, url + '\\n'); return next(url, context); } });`;

interface Built {
  dist: string;
  /** the libraries (npm package names) each output file holds */
  packages: Map<string, Set<string>>;
  /** index.mjs and the files it imports statically, transitively */
  startGraph: Set<string>;
}

const packageOf = (input: string) => /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1];

function analyse(dist: string, metafile: Metafile): Built {
  const outputs = Object.entries(metafile.outputs).map(([f, o]) => [basename(f), o] as const);
  const packages = new Map(outputs.map(([f, o]) => [f, new Set(Object.keys(o.inputs).map(packageOf).filter((p) => p !== undefined))]));
  const byName = new Map(outputs);
  const startGraph = new Set<string>();
  const visit = (f: string) => {
    if (startGraph.has(f)) return;
    startGraph.add(f);
    for (const i of byName.get(f)!.imports) if (i.kind === 'import-statement' && !i.external) visit(basename(i.path));
  };
  visit('index.mjs');
  return { dist, packages, startGraph };
}

describe('the bundled actions load only what a run uses', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'actions-load-'));
  const built = new Map<string, Built>();
  let release: OfflineRelease;

  beforeAll(async () => {
    const lazyDeps = join(REPO_ROOT, 'packages/core/src/lazy-deps.cjs');
    await Promise.all(
      ACTIONS.map(async (name) => {
        const dist = join(tmp, name);
        const r = await build({ ...actionBuildOptions(join(REPO_ROOT, 'actions', name, 'src', 'main.ts'), dist, lazyDeps), logLevel: 'silent' });
        built.set(name, analyse(dist, r.metafile!));
      }),
    );
    release = await offlineRelease(join(tmp, 'release'));
  }, 120_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  /** Runs the action built here; returns the run, the dist files node loaded and the libraries they hold. */
  async function run(name: string, inputs: Record<string, string>) {
    const b = built.get(name)!;
    const log = join(tmp, `loaded-${name}-${Math.random().toString(36).slice(2)}`);
    const r = await runBundledAction(name, inputs, { workspace: release.dir, dist: b.dist, nodeArgs: ['--import', `data:text/javascript,${encodeURIComponent(HOOK)}`], env: { SCITT_LOADED: log } });
    const files = existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n')
          .filter((u) => u.startsWith('file:'))
          .map((u) => fileURLToPath(u))
          .filter((f) => f.startsWith(b.dist))
          .map((f) => basename(f))
      : [];
    const packages = new Set(files.flatMap((f) => [...(b.packages.get(f) ?? [])]));
    return { r, files: new Set(files), packages };
  }

  it('with no inputs, each action loads its entry and its static imports alone: @actions/core, cbor-x and our code', async () => {
    for (const name of ACTIONS) {
      const { r, files, packages } = await run(name, {});
      expect(r.code, `${name}: ${r.stdout}`).toBe(1);
      expect(r.errors, name).toHaveLength(1);
      expect(files.has('index.mjs'), name).toBe(true);
      expect([...files].filter((f) => !built.get(name)!.startGraph.has(f)), name).toEqual([]);
      expect([...packages].filter((p) => !AT_START.has(p)), name).toEqual([]);
      // the entry's graph is a small part of dist/: the rest stays unread
      const all = [...built.get(name)!.packages.keys()];
      expect(all.length, name).toBeGreaterThan(files.size + 20);
    }
  }, 60_000);

  it('issue-statement signing an SPDX JSON with a key loads ajv and no certificate, Sigstore, HTTP, GitHub or XML library', async () => {
    const { r, files, packages } = await run('issue-statement', release.issueInputs);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.outputs['statement-paths']).toBe('issued/app.tar.sbom.cose');
    // validating the SBOM loads ajv through lazy-deps.cjs (require of a file beside the entry): the hook sees it
    expect(packages.has('ajv')).toBe(true);
    expect([...files].some((f) => f.startsWith('lazy-ajv'))).toBe(true);
    expect(HEAVY.filter((p) => packages.has(p))).toEqual([]);
  }, 60_000);

  it('attach-receipt storing a Transparent Statement beside its artifact loads no certificate, Sigstore, HTTP, GitHub or XML library', async () => {
    const { r, packages } = await run('attach-receipt', release.attachInputs);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.outputs.locations!)).toHaveLength(1);
    expect(HEAVY.filter((p) => packages.has(p))).toEqual([]);
  }, 60_000);

  it('verify-gate verifying a Transparent Statement with key files loads no certificate, Sigstore, HTTP, GitHub or XML library', async () => {
    const { r, packages } = await run('verify-gate', release.gateInputs);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.outputs.verified).toBe('true');
    expect(HEAVY.filter((p) => packages.has(p))).toEqual([]);
  }, 60_000);
});
