/**
 * A real browser for the web view's tests: Debian's chromium, installed with apt-get when missing —
 * once, under a lock shared by parallel test workers, as docker-registry is (storage-registry.ts) —
 * and driven over the DevTools protocol by puppeteer-core. Failing to install is an error that says
 * why; the tests that need the browser never skip.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import puppeteer, { type Browser } from 'puppeteer-core';

const CHROMIUM = '/usr/bin/chromium';
const INSTALL_LOCK = join(tmpdir(), 'scitt-actions-chromium-install.lock');
const run = promisify(execFile);

/** Installs Debian's chromium if /usr/bin/chromium is missing; idempotent across processes. */
async function ensureChromium(): Promise<string> {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  const deadline = Date.now() + 20 * 60_000;
  for (;;) {
    try {
      await mkdir(INSTALL_LOCK);
      break;
    } catch {
      if (existsSync(CHROMIUM)) return CHROMIUM;
      const age = Date.now() - (await stat(INSTALL_LOCK).then((s) => s.mtimeMs, () => Date.now()));
      if (age > 20 * 60_000) await rmdir(INSTALL_LOCK).catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`waited 20 minutes for another process installing chromium (lock ${INSTALL_LOCK})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    if (!existsSync(CHROMIUM)) {
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      try {
        await run('apt-get', ['update'], { env, timeout: 15 * 60_000, maxBuffer: 64 << 20 });
        await run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { env, timeout: 15 * 60_000, maxBuffer: 64 << 20 });
      } catch (e) {
        const err = e as Error & { stderr?: string };
        throw new Error(`${CHROMIUM} is missing and installing Debian's chromium failed (apt-get update && apt-get install -y chromium, as root with access to the Debian mirrors): ${err.stderr?.trim().split('\n').slice(-3).join(' | ') || err.message}`);
      }
    }
  } finally {
    await rmdir(INSTALL_LOCK).catch(() => undefined);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get reported success but ${CHROMIUM} does not exist`);
  return CHROMIUM;
}

/** Headless chromium; --no-sandbox because tests may run as root, where chromium's sandbox refuses to start. */
export async function launchChromium(): Promise<Browser> {
  return puppeteer.launch({ executablePath: await ensureChromium(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}
