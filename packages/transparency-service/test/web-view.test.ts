/**
 * The web view in a real browser (Debian's chromium via puppeteer-core): the page loads under its CSP
 * with no console error, a registered entry is found by its subject digest and shows iss and sub, an
 * unknown id is a clean not-found, and a statement whose iss and sub carry markup renders as text
 * with no script run.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'puppeteer-core';
import { generateKey, publicKey } from '@scitt-actions/core';
import { keySigner, thumbprint } from '@scitt-actions/core/cose';
import { leafHash, rootFromInclusionProof } from '@scitt-actions/core/merkle';
import { ProofType, decodeInclusionProof, readReceiptHeaders, statementEntry } from '@scitt-actions/core/receipt';
import { createSignedStatement } from '@scitt-actions/core/statement';
import { launchChromium } from '../../../test/helpers/chromium.ts';
import { type ServiceProcess, startService } from '../../../test/helpers/transparency-service.ts';
import { post } from './helpers.ts';

const issuer = generateKey('P-256');
const sign = (iss: string, sub: string) =>
  createSignedStatement({ payload: new TextEncoder().encode('{"built":true}'), contentType: 'application/json', signer: keySigner(issuer), iss, sub, kid: thumbprint(issuer) });

describe('the web view in chromium', () => {
  let ts: ServiceProcess;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  beforeAll(async () => {
    [ts, browser] = await Promise.all([startService({ issuers: [publicKey(issuer)], args: ['--rate', '0'] }), launchChromium()]);
    page = await browser.newPage();
    page.on('console', (m) => problems.push(`console ${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`page error: ${(e as Error).message}`));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    if (ts) await ts.stop();
  });

  it('loads under a strict CSP; an entry is found by subject digest and shows iss and sub, with its inclusion path', async () => {
    const digest = createHash('sha256').update('the artifact').digest('hex');
    const statement = await sign('https://builds.example/ci', `pkg:generic/app@2.0.0?checksum=sha256:${digest}`);
    const r = await post(ts.url, statement);
    expect(r.status).toBe(201);
    const receipt = new Uint8Array(await r.arrayBuffer());
    const entryId = createHash('sha256').update(statementEntry(statement)).digest('hex');

    const home = await page.goto(`${ts.url}/log`);
    expect(home!.status()).toBe(200);
    expect(home!.headers()['content-security-policy']).toMatch(/default-src 'none'/);
    expect(await page.$eval('#tree-size', (e) => e.textContent)).toBe('2'); // the policy entry and this one

    await page.type('input[name=q]', digest);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    expect(await page.$eval('h1', (e) => e.textContent)).toBe(`Statements about sha256:${digest}`);
    await Promise.all([page.waitForNavigation(), page.click(`a[href="/log/entries/${entryId}"]`)]);
    expect(await page.$eval('#iss', (e) => e.textContent)).toBe('https://builds.example/ci');
    expect(await page.$eval('#sub', (e) => e.textContent)).toBe(`pkg:generic/app@2.0.0?checksum=sha256:${digest}`);
    expect(await page.$eval('#statement', (e) => e.textContent)).toMatch(/\/ cwtClaims \/ 15: \{\s+\/ iss \/ 1: "https:\/\/builds.example\/ci",\s+\/ sub \/ 2: "pkg:generic/);
    // the drawn path ends at the root the receipt's proof leads to
    const proof = decodeInclusionProof((readReceiptHeaders(receipt).vdp.get(ProofType.inclusion) as Uint8Array[])[0]!);
    expect(await page.$eval('#root', (e) => e.textContent)).toBe(Buffer.from(rootFromInclusionProof(leafHash(statementEntry(statement)), proof)).toString('hex'));
    // the download links serve the statement and the receipt
    const href = await page.$eval('a[download$=".statement.cose"]', (a) => (a as unknown as { href: string }).href);
    expect(Buffer.from(await (await fetch(href)).arrayBuffer()).equals(Buffer.from(statement))).toBe(true);
    // tree heads and consistency between two sizes
    expect((await page.goto(`${ts.url}/log/consistency?from=1&to=2`))!.status()).toBe(200);
    expect(await page.$eval('h1', (e) => e.textContent)).toBe('Consistency 1 → 2');
    expect(problems).toEqual([]);
  });

  it('an unknown entry id is a clean not-found', async () => {
    const unknown = 'ab'.repeat(32);
    const res = await page.goto(`${ts.url}/log/entries/${unknown}`);
    expect(res!.status()).toBe(404);
    expect(await page.$eval('.notfound h1', (e) => e.textContent)).toBe('Not found');
    const search = await page.goto(`${ts.url}/log/search?q=${unknown}`);
    expect(search!.status()).toBe(404);
    // the browser reports each 404 document it was asked to load, and nothing else
    expect(problems.splice(0)).toEqual(Array(2).fill('console error: Failed to load resource: the server responded with a status of 404 (Not Found)'));
  });

  it('markup in iss and sub renders as text: no script runs', async () => {
    const iss = 'https://evil.example/<script>window.__pwned = true</script>';
    const sub = '<img src=x onerror="window.__pwned = true">';
    const statement = await sign(iss, sub);
    expect((await post(ts.url, statement)).status).toBe(201);
    const entryId = createHash('sha256').update(statementEntry(statement)).digest('hex');
    for (const url of [`${ts.url}/log`, `${ts.url}/log/entries/${entryId}`, `${ts.url}/log/search?q=${encodeURIComponent(iss)}`]) {
      const res = await page.goto(url);
      expect(res!.status()).toBe(200);
      expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: boolean }).__pwned)).toBeUndefined();
      expect(await page.$$eval('script, img', (els) => els.length)).toBe(0);
    }
    expect(await page.$eval('h1', (e) => e.textContent)).toBe(`Statements by ${iss}`);
    await page.goto(`${ts.url}/log/entries/${entryId}`);
    expect(await page.$eval('#iss', (e) => e.textContent)).toBe(iss);
    expect(await page.$eval('#sub', (e) => e.textContent)).toBe(sub);
    expect(problems).toEqual([]);
  });
});
