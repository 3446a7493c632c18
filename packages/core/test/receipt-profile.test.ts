/** RFC 9943 §6 receipt profile: sub present or reported missing; an unknown kid says how to refresh a pinned key. */
import { describe, expect, it } from 'vitest';
import { ScittError, generateKey } from '@scitt-actions/core';
import { keySigner, thumbprint } from '@scitt-actions/core/cose';
import { leafHash } from '@scitt-actions/core/merkle';
import { TrustedKeys, issueReceipt, verifyReceipt } from '@scitt-actions/core/receipt';

const key = generateKey('P-256');
const entry = new TextEncoder().encode('an entry');
const issue = (sub?: string) =>
  issueReceipt({ signer: keySigner(key), kid: thumbprint(key), iss: 'https://ts.example', ...(sub ? { sub } : {}), iat: 1700000000, root: leafHash(entry), proof: { treeSize: 1, leafIndex: 0, path: [] } });

describe('receipt profile (RFC 9943 §6)', () => {
  it('a receipt with iss and sub has no deviation; one without sub verifies and reports it', async () => {
    const keys = new TrustedKeys([{ ...key, kid: thumbprint(key) }]);
    const withSub = verifyReceipt(await issue('pkg:npm/x@1'), entry, keys);
    expect(withSub.sub).toBe('pkg:npm/x@1');
    expect(withSub.profileDeviations).toBeUndefined();
    const without = verifyReceipt(await issue(), entry, keys);
    expect(without.profileDeviations).toEqual(['receipt CWT claims lack sub (2), which RFC 9943 §6 requires; accepted, as the inclusion proof and signature verify']);
  });

  it('an unknown kid is named, with the URL that serves it and how to refresh the pin', async () => {
    const other = generateKey('P-256');
    let err: unknown;
    try {
      verifyReceipt(await issue('s'), entry, new TrustedKeys([{ ...other, kid: thumbprint(other) }]));
    } catch (e) {
      err = e;
    }
    expect((err as ScittError).code).toBe('ERR_RECEIPT_KEY_UNKNOWN');
    const b64 = Buffer.from(thumbprint(key)).toString('base64url');
    expect((err as Error).message).toContain(`https://ts.example/.well-known/scitt-keys/${b64}`);
    expect((err as Error).message).toMatch(/refresh the pinned key/);
  });
});
