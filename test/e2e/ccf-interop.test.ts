/**
 * Statements registered on real CCF-based services (Microsoft Signing Transparency, the Azure SDK
 * test ledger), verified by `scitt verify --receipts-only` as a relying party does (RFC 9943 §7.1).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VECTORS } from '../../packages/core/test/vectors.ts';
import { scitt } from '../helpers/cli.ts';

const ccf = join(VECTORS, 'ccf');

describe('interop: receipts from deployed CCF services', () => {
  it('the production MST statement: tag-1 iat and a PS384 issuer signature do not stop receipt verification', async () => {
    const r = await scitt(['verify', 'mst-esrp-cts-db/uvm_0.2.10.cose', '--ts-keys', 'mst-esrp-cts-db/esrp-cts-db.json', '--receipts-only', '--json'], ccf);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const result = JSON.parse(r.stdout).result;
    expect(result.receipts.receipts[0]).toMatchObject({ status: 'verified', vds: 2, serviceIss: 'esrp-cts-db.confidential-ledger.azure.com' });
    expect(result.warnings.join(' ')).toMatch(/algorithm -38/);
  });

  it('the Azure SDK test ledger statement verifies with its JWKS; without --receipts-only its missing sub is refused', async () => {
    const ok = await scitt(['verify', 'azure-sdk-test-ledger/transparent_statement.cose', '--ts-keys', 'azure-sdk-test-ledger/jwks_kid_mismatch.json', '--receipts-only', '--json'], ccf);
    expect(JSON.parse(ok.stdout).result.receipts.receipts[0].status).toBe('verified');
    const dir = mkdtempSync(join(tmpdir(), 'ccf-'));
    await scitt(['keygen', '--out', join(dir, 'k.pem')], dir);
    const strict = await scitt(['verify', 'azure-sdk-test-ledger/transparent_statement.cose', '--ts-keys', 'azure-sdk-test-ledger/jwks_kid_mismatch.json', '--issuer-key', join(dir, 'k.pub.pem')], ccf);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toMatch(/no sub/);
  });

  it('inspect shows the tag-1 date of the production statement, and the statement parses with its iat', async () => {
    const r = await scitt(['inspect', 'mst-esrp-cts-db/uvm_0.2.10.cose'], ccf);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\/ iat \/ 6: 1\(1766437887\) \/ 2025-12-22T21:11:27.000Z \//);
  });

  it('a receipt signed by a key the relying party does not trust is refused', async () => {
    const r = await scitt(['verify', 'mst-esrp-cts-db/uvm_0.2.10.cose', '--ts-keys', 'azure-sdk-test-ledger/jwks_kid_mismatch.json', '--receipts-only'], ccf);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/no trusted service key has kid/);
  });
});
