/**
 * A real browser for the web view's tests: Debian's chromium, installed when missing
 * (debian-package.ts), driven over the DevTools protocol by puppeteer-core. The tests never skip.
 */
import puppeteer, { type Browser } from 'puppeteer-core';
import { ensureDebianPackage } from './debian-package.ts';

/** Headless chromium; --no-sandbox because tests may run as root, where chromium's sandbox refuses to start. */
export async function launchChromium(): Promise<Browser> {
  return puppeteer.launch({ executablePath: await ensureDebianPackage('/usr/bin/chromium', 'chromium'), headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}
