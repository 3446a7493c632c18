/**
 * The public API (packages/core/src/index.ts) never throws an untyped error on bad input: each entry
 * point, given arbitrary values where its arguments go (wrong types, malformed digests, junk bytes,
 * hostile strings), returns or throws a ScittError with a stable code — never a TypeError,
 * RangeError or a crash from deep inside node:crypto. A verification result never reports
 * ERR_INTERNAL (an untyped error caught on the way). Property-based, with fast-check.
 */
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import * as api from '../../packages/core/src/index.ts';
import { ISS, issuer, receiptFor, service, transparent } from './helpers.ts';

const RUNS = Number(process.env.SCITT_API_FUZZ_RUNS ?? 150);

/** Values of any shape, biased towards what a caller gets wrong: strings that look like digests, bytes, nulls. */
const junk = fc.oneof(
  fc.anything(),
  fc.string(),
  fc.uint8Array({ maxLength: 64 }),
  fc.constantFrom('', 'sha256:', 'sha256:zz', 'sha256:' + 'a'.repeat(63), 'a'.repeat(65), '../../etc/passwd', '\u0000', 'x'.repeat(5000)),
  fc.constantFrom(null, undefined, 0, -1, Number.NaN, Infinity, {}, [], () => 1),
);

async function typedOrOk(f: () => unknown): Promise<void> {
  try {
    await f();
  } catch (e) {
    if (!(e instanceof api.ScittError)) throw new Error(`untyped ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`, { cause: e });
  }
}

const noInternal = (r: unknown) => {
  const checks = (r as { checks?: { code?: string; message: string }[] } | undefined)?.checks ?? [];
  const internal = checks.find((c) => c.code === 'ERR_INTERNAL');
  if (internal) throw new Error(`ERR_INTERNAL in a check: ${internal.message}`);
};

describe('public API: typed errors on bad input', () => {
  it('loadKey', async () => {
    await fc.assert(fc.asyncProperty(junk, async (x) => typedOrOk(() => api.loadKey(x as string))), { numRuns: RUNS });
  });

  it('publicKey, toPem, keyIssuerSigner with a key that is not one', async () => {
    await fc.assert(
      fc.asyncProperty(junk, async (x) => {
        await typedOrOk(() => api.publicKey(x as api.CoseKey));
        await typedOrOk(() => api.toPem(x as api.CoseKey));
        await typedOrOk(() => api.keyIssuerSigner(x as api.CoseKey));
      }),
      { numRuns: RUNS },
    );
  });

  it('generateKey with a curve that is not one', async () => {
    await fc.assert(fc.asyncProperty(junk, async (x) => typedOrOk(() => api.generateKey(x as 'P-256'))), { numRuns: RUNS });
  });

  it('attachReceipts with junk statements and receipts', async () => {
    await fc.assert(fc.asyncProperty(junk, junk, async (s, r) => typedOrOk(() => api.attachReceipts(s as Uint8Array, r as Uint8Array[]))), { numRuns: RUNS });
  });

  it('loadServiceKeys with junk sources (files that do not exist, not keys, not URLs)', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.string({ maxLength: 40 }).filter((s) => !/^https?:/i.test(s.trim())), fc.array(fc.string({ maxLength: 20 }).filter((s) => !/^https?:/i.test(s.trim())), { maxLength: 3 })), async (x) => typedOrOk(() => api.loadServiceKeys(x))), { numRuns: RUNS });
  });

  it('verifyTransparent: any artifact digest, evidence and options give a result or a typed error, never ERR_INTERNAL', async () => {
    const signed = await api.issueSignedStatement({ signer: api.keyIssuerSigner(issuer.key), iss: ISS, sub: `pkg:generic/app?checksum=sha256:${'ab'.repeat(32)}`, payload: new TextEncoder().encode('{}'), contentType: 'application/json' });
    const good = await transparent(signed, [(await receiptFor(signed)).receipt]);
    const trustedServiceKeys = await api.loadServiceKeys(writeKey(service.pub));
    await fc.assert(
      fc.asyncProperty(junk, junk, fc.boolean(), async (digest, evidence, receiptsOnly) => {
        await typedOrOk(async () =>
          noInternal(await api.verifyTransparent(good, { trustedServiceKeys, issuer: { keys: [issuer.pub] }, artifactSha256: digest as string, evidence: evidence as Uint8Array, receiptsOnly })),
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('verifyTransparent with junk bytes and junk options', async () => {
    await fc.assert(fc.asyncProperty(junk, junk, async (b, o) => typedOrOk(async () => noInternal(await api.verifyTransparent(b as Uint8Array, o as api.TransparentVerifyOptions)))), { numRuns: RUNS });
  });

  it('runGate with junk artifacts and discovery results', async () => {
    const trustedServiceKeys = await api.loadServiceKeys(writeKey(service.pub));
    await fc.assert(
      fc.asyncProperty(fc.oneof(junk, fc.array(fc.record({ name: junk, sha256: junk }), { maxLength: 2 })), junk, async (artifacts, found) =>
        typedOrOk(async () => {
          const report = await api.runGate(artifacts as Parameters<typeof api.runGate>[0], async () => found as never, { trustedServiceKeys, issuer: { keys: [issuer.pub] } });
          for (const a of report.artifacts) for (const s of a.statements) noInternal(s.result);
        }),
      ),
      { numRuns: RUNS },
    );
  });

  it('issueSignedStatement with junk subjects and payloads', async () => {
    const signer = api.keyIssuerSigner(issuer.key);
    await fc.assert(fc.asyncProperty(junk, junk, async (sub, payload) => typedOrOk(() => api.issueSignedStatement({ signer, iss: ISS, sub: sub as string, payload: payload as Uint8Array }))), { numRuns: RUNS });
  });
});

let keyDir: string | undefined;
function writeKey(key: api.CoseKey): string {
  keyDir ??= mkdtempSync(join(tmpdir(), 'api-typed-'));
  const path = join(keyDir, `k${Math.random().toString(16).slice(2)}.pem`);
  writeFileSync(path, api.toPem(key));
  return path;
}
