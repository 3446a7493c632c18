/**
 * Another JavaScript verifier of COSE Receipts, for the receipt benchmark: @transmute/cose, the only
 * package on the npm registry found to verify RFC9162_SHA256 receipts (cose-js, @auth0/cose and
 * @ldclabs/cose-ts do plain COSE_Sign1, no receipts). It reads the RFC 9942 / RFC 9943 labels (394
 * receipts, 395 vds = 1, 396 vdp with -1 inclusion proofs), logs the same entry (the statement with
 * its unprotected header emptied, canonical CBOR) and hashes it as an RFC 9162 leaf, so a receipt
 * issued by @scitt-actions/core is also a receipt for it: no re-encoding is needed.
 *
 * Its API is async: `receipt.get` (receipts under 394), `receipt.remove` (the logged entry),
 * `receipt.leaf` (0x00-prefixed SHA-256), `receipt.inclusion.verify({ entry, receipt, verifier })`
 * (decode, recompute the root from the proof, verify the signature over it as detached payload),
 * `detached.verifier({ resolver })` whose resolver returns the JWK for a COSE_Sign1 (here chosen by
 * protected kid, as ours is), and `receipt.verifier({ resolver }).verify({ coseSign1, payload })`,
 * which also verifies the statement's own signature before its receipts.
 * Dev dependency of @scitt-actions/bench only.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { JsonWebKey } from 'node:crypto';
import * as cose from '@transmute/cose';

const require = createRequire(import.meta.url);

export const transmuteVersion: string = (JSON.parse(readFileSync(require.resolve('@transmute/cose/package.json'), 'utf8')) as { version: string }).version;

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Receipt-only and full (statement signature + receipts) verification through @transmute/cose. */
export function transmuteVerifier(keys: readonly { kid: Uint8Array; jwk: JsonWebKey }[]) {
  const byKid = new Map(keys.map(({ kid, jwk }) => [hex(kid), { ...jwk, alg: 'ES256' }]));
  const resolver = {
    // Selects the key by the protected kid (4), as TrustedKeys does; throws when none is trusted.
    resolve: async (coseSign1: ArrayBuffer) => {
      const { value } = cose.cbor.decodeFirstSync(coseSign1) as { value: [Uint8Array, ...unknown[]] };
      const kid = (cose.cbor.decodeFirstSync(value[0]) as Map<number, unknown>).get(4);
      const jwk = kid instanceof Uint8Array ? byKid.get(hex(kid)) : undefined;
      if (!jwk) throw new Error('no trusted key for this kid');
      return jwk as never;
    },
  };
  const full = cose.receipt.verifier(resolver);
  return {
    /** What verifyTransparentStatement does: the logged entry, then every receipt under 394 against it. */
    async verifyReceipts(transparent: Uint8Array): Promise<number> {
      const receipts = await cose.receipt.get(transparent as never);
      if (receipts.length === 0) throw new Error('no receipts');
      const entry = await cose.receipt.leaf(new Uint8Array(await cose.receipt.remove(transparent as never)));
      const verifier = cose.detached.verifier({ resolver });
      for (const receipt of receipts) await cose.receipt.inclusion.verify({ entry, receipt, verifier });
      return receipts.length;
    },
    /** Its top-level call: the statement's signature (issuer key by kid), then its receipts. */
    async verifyStatementAndReceipts(transparent: Uint8Array, payload: Uint8Array): Promise<number> {
      const v = await (await full).verify({ coseSign1: transparent as never, payload: payload as never });
      if (v.receipts.length === 0) throw new Error('no receipts');
      return v.receipts.length;
    },
  };
}
