/**
 * System programs the tests start (docker-registry, chromium, rsync for gitlab-ci-local) come from
 * Debian's packages: installed with apt-get when missing — once, under a lock shared by parallel test
 * workers. As a user that is not root (a GitHub runner), nothing is installed: the error names the
 * setup step (`sudo apt-get install …`, as .github/workflows/ci.yml does). The tests never skip.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const WAIT_MS = 20 * 60_000;

/** Returns `binary`, installing Debian's `pkg` first if it is missing; idempotent across processes. */
export async function ensureDebianPackage(binary: string, pkg: string): Promise<string> {
  if (existsSync(binary)) return binary;
  if (process.getuid?.() !== 0) throw new Error(`${binary} is missing: install Debian's ${pkg} before the tests (sudo apt-get install -y --no-install-recommends ${pkg})`);
  const lock = join(tmpdir(), `scitt-actions-${pkg}-install.lock`);
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      if (existsSync(binary)) return binary;
      // a lock older than any install is one a killed process left behind
      const age = Date.now() - (await stat(lock).then((s) => s.mtimeMs, () => Date.now()));
      if (age > WAIT_MS) await rmdir(lock).catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`waited 20 minutes for another process installing ${pkg} (lock ${lock})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    if (!existsSync(binary)) {
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      try {
        await run('apt-get', ['update'], { env, timeout: 15 * 60_000, maxBuffer: 64 << 20 });
        await run('apt-get', ['install', '-y', '--no-install-recommends', pkg], { env, timeout: 15 * 60_000, maxBuffer: 64 << 20 });
      } catch (e) {
        const err = e as Error & { stderr?: string };
        throw new Error(`${binary} is missing and installing Debian's ${pkg} failed (apt-get update && apt-get install -y ${pkg}, as root with access to the Debian mirrors): ${err.stderr?.trim().split('\n').slice(-3).join(' | ') || err.message}`);
      }
    }
  } finally {
    await rmdir(lock).catch(() => undefined);
  }
  if (!existsSync(binary)) throw new Error(`apt-get reported success but ${binary} does not exist`);
  return binary;
}
