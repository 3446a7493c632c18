/**
 * `./dev bench gate-memory`: the release gate (`scitt verify --artifact`, a child process under
 * /usr/bin/time -v) against a 64 MiB artifact with 1,000 hostile statements beside it
 * (test/helpers/hostile-gate.ts), against the baseline of the same artifact with none: peak RSS and
 * wall time, median of RUNS; then the same as GitHub release assets (the API double), then as OCI
 * referrers of an image with a 64 MiB layer in docker-registry (test/helpers/hostile-referrers.ts).
 * The bound the e2e tests hold is 256 MiB.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type GitHubServer, startGitHubServer } from '../../packages/core/test/helpers/storage-github-server.ts';
import { buildHostileRelease } from '../helpers/hostile-gate.ts';
import { gateReleaseUnderTime, uploadHostileRelease } from '../helpers/hostile-release-assets.ts';
import { gateImageUnderTime, pushHostileImage } from '../helpers/hostile-referrers.ts';
import { pushTestImage, startRegistry } from '../../packages/core/test/helpers/storage-registry.ts';
import { SCITT_MAIN } from '../helpers/transparency-service.ts';
import { median, row, title } from './stats.ts';

const RUNS = 3;

function gate(artifact: string, keys: { issuerPub: string; servicePub: string }): { rssMiB: number; seconds: number; exit: number } {
  const started = performance.now();
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, SCITT_MAIN, 'verify', '--artifact', artifact, '--ts-keys', keys.servicePub, '--issuer-key', keys.issuerPub, '--require', 'sbom'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = (performance.now() - started) / 1000;
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  return { rssMiB: rss ? Number(rss[1]) / 1024 : Number.NaN, seconds, exit: r.status ?? -1 };
}

export async function bench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-gate-memory-'));
  try {
    title('release gate: 64 MiB artifact, 1,000 hostile statements beside it (scitt verify --artifact)');
    const release = await buildHostileRelease(join(dir, 'dist'), { statements: 1000 });
    // baseline: the same artifact (a hard link) alone in its directory
    mkdirSync(join(dir, 'alone'));
    linkSync(release.artifact, join(dir, 'alone', 'app.bin'));
    execFileSync('sync');
    const hostile = Array.from({ length: RUNS }, () => gate(release.artifact, release));
    const alone = Array.from({ length: RUNS }, () => gate(join(dir, 'alone', 'app.bin'), release));
    const show = (label: string, runs: ReturnType<typeof gate>[]) =>
      row(label, `${median(runs.map((r) => r.rssMiB)).toFixed(1)} MiB peak RSS`, `${median(runs.map((r) => r.seconds)).toFixed(1)} s, exit ${runs.map((r) => r.exit).join('/')}`);
    show('no statement (baseline)', alone);
    show(`${release.statements} hostile statements`, hostile);
    row('difference', `${(median(hostile.map((r) => r.rssMiB)) - median(alone.map((r) => r.rssMiB))).toFixed(1)} MiB`, 'bound: 256 MiB in all');

    // the same statements as release assets (the GitHub API double, in this process), against the artifact alone in a release
    title('release gate: the same as GitHub release assets (scitt verify --artifact release:v1/app.bin, API double)');
    const timed = async (gh: GitHubServer) => {
      const started = performance.now();
      const r = await gateReleaseUnderTime(gh, release);
      return { rssMiB: r.maxRssKiB / 1024, seconds: (performance.now() - started) / 1000, exit: r.code };
    };
    const runsOf = async (gh: GitHubServer) => {
      const runs: Awaited<ReturnType<typeof timed>>[] = [];
      for (let i = 0; i < RUNS; i++) runs.push(await timed(gh));
      return runs;
    };
    const lone = await startGitHubServer({ owner: 'acme', repo: 'app' });
    let aloneAssets: Awaited<ReturnType<typeof timed>>[];
    try {
      lone.addRelease('v1');
      lone.addAsset('v1', 'app.bin', readFileSync(release.artifact));
      aloneAssets = await runsOf(lone);
    } finally {
      await lone.close();
    }
    const gh = await startGitHubServer({ owner: 'acme', repo: 'app' });
    let hostileAssets: Awaited<ReturnType<typeof timed>>[];
    try {
      uploadHostileRelease(gh, release);
      hostileAssets = await runsOf(gh);
    } finally {
      await gh.close();
    }
    show('no statement asset (baseline)', aloneAssets);
    show(`${release.statements} hostile statement assets`, hostileAssets);
    row('difference', `${(median(hostileAssets.map((r) => r.rssMiB)) - median(aloneAssets.map((r) => r.rssMiB))).toFixed(1)} MiB`, 'bound: 256 MiB in all');

    // the same attack as OCI referrers: an image with a 64 MiB layer and 1,000 referrers, against an image with none
    title('release gate: the same as OCI referrers (scitt verify --artifact oci://…, docker-registry)');
    const registry = await startRegistry();
    try {
      const image = await pushHostileImage(registry.url, registry.host);
      const keys = { issuerPub: join(dir, 'oci-issuer.pub.pem'), servicePub: join(dir, 'oci-service.pub.pem') };
      writeFileSync(keys.issuerPub, image.issuerPub);
      writeFileSync(keys.servicePub, image.servicePub);
      const bare = await pushTestImage(registry.url, 'acme/bare', 'v1');
      const timedImage = async (reference: string) => {
        const started = performance.now();
        const r = await gateImageUnderTime({ ...image, reference }, keys);
        return { rssMiB: r.maxRssKiB / 1024, seconds: (performance.now() - started) / 1000, exit: r.code };
      };
      const aloneImage: Awaited<ReturnType<typeof timedImage>>[] = [];
      const hostileImage: Awaited<ReturnType<typeof timedImage>>[] = [];
      for (let i = 0; i < RUNS; i++) aloneImage.push(await timedImage(`oci://${registry.host}/acme/bare@${bare.digest}`));
      for (let i = 0; i < RUNS; i++) hostileImage.push(await timedImage(image.reference));
      show('no referrer (baseline)', aloneImage);
      show(`${image.referrers} hostile referrers`, hostileImage);
      row('difference', `${(median(hostileImage.map((r) => r.rssMiB)) - median(aloneImage.map((r) => r.rssMiB))).toFixed(1)} MiB`, 'bound: 256 MiB in all');
    } finally {
      await registry.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
