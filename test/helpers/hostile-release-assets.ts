/**
 * The hostile release of hostile-gate.ts as GitHub release assets (the local API double,
 * packages/core/test/helpers/storage-github-server.ts), and the release gate run against it as a
 * child process under /usr/bin/time -v. Shared by test/e2e/gate-memory.test.ts and test/bench/gate-memory.ts.
 */
import { execFile } from 'node:child_process';
import { lstatSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { GitHubServer } from '../../packages/core/test/helpers/storage-github-server.ts';
import type { HostileRelease } from './hostile-gate.ts';
import { SCITT_MAIN } from './transparency-service.ts';

/** The hostile release's regular files as assets of release v1; files with the same bytes (hard links, sparse files of one size) share one buffer in this process. */
export function uploadHostileRelease(gh: GitHubServer, release: HostileRelease): number {
  gh.addRelease('v1');
  const shared = new Map<string, Buffer>();
  let statements = 0;
  for (const name of readdirSync(release.dir).sort()) {
    const st = lstatSync(join(release.dir, name));
    if (!st.isFile() || st.size > 1024 ** 3) continue; // the FIFO, the /dev/zero symlink, the 16 GiB sparse file stay missing
    const key = st.blocks === 0 ? `sparse:${st.size}` : `inode:${st.ino}`;
    let bytes = shared.get(key);
    if (!bytes) shared.set(key, (bytes = readFileSync(join(release.dir, name))));
    const statement = name.endsWith('.scitt');
    if (statement) statements++;
    gh.addAsset('v1', name, Buffer.alloc(0), statement ? 'application/scitt-statement+cose' : 'application/octet-stream').bytes = bytes;
  }
  return statements;
}

export function gateReleaseUnderTime(gh: GitHubServer, release: HostileRelease): Promise<{ code: number; stdout: string; stderr: string; maxRssKiB: number }> {
  const args = ['-v', process.execPath, SCITT_MAIN, 'verify', '--artifact', 'release:v1/app.bin', '--ts-keys', release.servicePub, '--issuer-key', release.issuerPub, '--require', 'sbom'];
  const env = { ...process.env, GITHUB_REPOSITORY: 'acme/app', GITHUB_TOKEN: gh.token, GITHUB_API_URL: gh.apiUrl };
  return new Promise((res) => {
    execFile('/usr/bin/time', args, { maxBuffer: 64 * 1024 * 1024, timeout: 170_000, env }, (err, stdout, stderr) => {
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      res({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr, maxRssKiB: rss ? Number(rss[1]) : Number.NaN });
    });
  });
}

