/**
 * The gate's memory is bounded however many hostile statements an attacker adds as OCI referrers:
 * an image with a 64 MiB layer in a real registry (Debian's docker-registry) and 1,000 referrers
 * that all claim it (test/helpers/hostile-referrers.ts), gated by `scitt verify --artifact oci://…`
 * as a child process under /usr/bin/time -v. It must refuse the image (exit 1) and stay under 256 MiB
 * (before the fix: 392 MiB — the 12 MiB statement behind 40 referrers downloaded and held up to the
 * budget, eight large blobs in flight, the 64 MiB layer downloaded and held to be hashed).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RegistryProcess, startRegistry } from '../../packages/core/test/helpers/storage-registry.ts';
import { type HostileImage, gateImageUnderTime, pushHostileImage } from '../helpers/hostile-referrers.ts';

const LIMIT_KIB = 256 * 1024;

describe('gate memory under 1,000 hostile referrers', () => {
  let root: string;
  let registry: RegistryProcess;
  let image: HostileImage;
  const keys = { issuerPub: '', servicePub: '' };
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'gate-memory-referrers-'));
    registry = await startRegistry();
    image = await pushHostileImage(registry.url, registry.host);
    keys.issuerPub = join(root, 'issuer.pub.pem');
    keys.servicePub = join(root, 'service.pub.pem');
    writeFileSync(keys.issuerPub, image.issuerPub);
    writeFileSync(keys.servicePub, image.servicePub);
  }, 300_000);
  afterAll(async () => {
    await registry?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses the image with peak RSS under 256 MiB', async () => {
    expect(image.referrers).toBe(1000);
    const r = await gateImageUnderTime(image, keys);
    process.stdout.write(`gate peak RSS (OCI referrers): ${(r.maxRssKiB / 1024).toFixed(1)} MiB (exit ${r.code})\n`);
    expect(r.stdout, r.stderr).toContain('RELEASE GATE REFUSED');
    expect(r.code).toBe(1);
    expect(r.maxRssKiB).toBeLessThan(LIMIT_KIB);
    // every hostile statement was looked at and refused for its own reason: none verified
    expect(r.stdout).not.toMatch(/^\s+verified /m);
    expect(r.stdout).toMatch(/problem: none of the \d+ statement\(s\) for \S+ verifies/);
    expect(r.stdout).toMatch(/required sbom evidence is missing/);
  }, 300_000);
});
