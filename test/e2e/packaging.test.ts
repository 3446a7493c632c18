/**
 * The packages as a user gets them: each packed as it would be published (pnpm pack: workspace:
 * specifiers become versions, exports and bin point at the tsc emit), `npm publish --dry-run` on each
 * tarball, then a plain `npm install` of the tarballs into empty directories outside the workspace on
 * Node 24 and on Node 22, and the whole release flow through the installed `scitt` bin.
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { NODE22_PIN, ROOT, type Run, nodeBinary, releaseFlow, run, withNode } from '../helpers/packaging.ts';

const PACKAGES = ['core', 'transparency-service', 'cli'];
const work = mkdtempSync(join(tmpdir(), 'scitt-packaging-'));
const packs = join(work, 'packs');
const nodes: Record<string, string> = { '24': process.execPath };
const installs: Record<string, string> = {};
let tarballs: string[] = [];

const ok = (r: Run, what: string) => expect(r.code, `${what}\n${r.stdout}\n${r.stderr}`).toBe(0);

beforeAll(async () => {
  const node22 = nodeBinary(NODE22_PIN);
  ok(await run(process.execPath, [join(ROOT, 'scripts', 'build-packages.ts')], { cwd: ROOT }), 'build-packages');
  for (const p of PACKAGES) ok(await run('pnpm', ['pack', '--pack-destination', packs], { cwd: join(ROOT, 'packages', p) }), `pnpm pack ${p}`);
  tarballs = readdirSync(packs).map((f) => join(packs, f));
  nodes['22'] = await node22;
  // one empty directory per Node version, nowhere near the workspace; npm runs under that node
  await Promise.all(
    Object.entries(nodes).map(async ([major, bin]) => {
      const dir = mkdtempSync(join(work, `install-node${major}-`));
      const r = await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], { cwd: dir, env: withNode(bin), timeout: 240_000 });
      ok(r, `npm install on Node ${major}`);
      installs[major] = dir;
    }),
  );
}, 400_000);

describe('packed packages', () => {
  it('each tarball is publishable: versions instead of workspace:, JavaScript and .d.ts from dist, no TypeScript sources', async () => {
    expect(tarballs).toHaveLength(3);
    for (const tgz of tarballs) {
      ok(await run('npm', ['publish', '--dry-run', tgz], { cwd: work }), `npm publish --dry-run ${tgz}`);
      const listing = await run('tar', ['tzf', tgz], { cwd: work });
      const files = listing.stdout.trim().split('\n');
      expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), tgz).toEqual([]);
      const manifest = JSON.parse((await run('tar', ['xzf', tgz, '-O', 'package/package.json'], { cwd: work })).stdout) as Record<string, unknown>;
      expect(JSON.stringify([manifest.exports, manifest.bin, manifest.dependencies])).not.toMatch(/workspace:|\.\/src\//);
      for (const v of Object.values({ ...(manifest.dependencies as object) })) expect(v).toMatch(/^\d+\.\d+\.\d+$/);
      for (const target of JSON.stringify(manifest.exports ?? manifest.bin).match(/\.\/dist\/[^"]+/g) ?? []) {
        expect(files, `${tgz} exports ${target}`).toContain(`package/${target.slice(2)}`);
      }
    }
  });

  for (const major of ['24', '22']) {
    it(`npm install of the tarballs on Node ${major}: the installed scitt bin runs the release flow and refuses a tampered artifact`, async () => {
      const dir = installs[major]!;
      const env = withNode(nodes[major]!);
      const bin = join(dir, 'node_modules', '.bin', 'scitt');
      const v = await run(bin, ['--version'], { cwd: dir, env });
      expect(v.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8')).version);
      expect((await run(nodes[major]!, ['-p', 'process.versions.node'], { cwd: dir })).stdout).toMatch(new RegExp(`^${major}\\.`));
      const flow = await releaseFlow({ cmd: bin, args: [] }, mkdtempSync(join(dir, 'flow-')), env);
      for (const name of ['keygen', 'create', 'register', 'attach', 'keys', 'health', 'verify']) ok(flow[name]!, `${name} on Node ${major}`);
      expect(flow.tampered!.code).toBe(1);
      expect(flow.tampered!.stdout + flow.tampered!.stderr).toMatch(/ERR_SUBJECT_MISMATCH/);
      // the library as a tool author imports it: the curated root and a subpath, from the installed package
      const lib = await run(nodes[major]!, ['--input-type=module', '-e', "const c = await import('@scitt-actions/core'); const m = await import('@scitt-actions/core/merkle'); console.log(typeof c.verifyTransparent, typeof c.issueSignedStatement, typeof m.MerkleTree, 'MerkleTree' in c)"], { cwd: dir });
      ok(lib, 'import @scitt-actions/core');
      expect(lib.stdout.trim()).toBe('function function function false');
    }, 120_000);
  }
});
