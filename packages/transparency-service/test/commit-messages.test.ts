/** The commit thread's messages (commit-worker.ts): a batch and its outcome packed into one transferred buffer each, and back. */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import type { BatchItem, BatchOutcome } from '../src/committer.ts';
import { packBatch, packOutcome, unpackBatch, unpackOutcome } from '../src/commit-worker.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const id = (s: string) => new Uint8Array(createHash('sha256').update(s).digest());

describe('commit thread messages', () => {
  it('a batch comes back item for item: entries, statements (shared or not), ids, subs, policies and rotations', () => {
    const shared = bytes('entry and statement are one');
    const batch: BatchItem[] = [
      { entry: shared, statement: shared, entryId: id('a'), sub: 'pkg:a', checkedUnder: -1 },
      { entry: bytes('entry b'), statement: bytes('statement b, with a receipt in its unprotected header'), entryId: id('b'), sub: 'pkg:b', checkedUnder: 7 },
      { entry: new Uint8Array(0), statement: bytes('c'), entryId: id('c'), sub: '', checkedUnder: 3, policy: { version: 1, issuers: [], maxStatementBytes: 1000 } },
      // a view into a larger buffer, as request bodies are
      { entry: new Uint8Array(new ArrayBuffer(64), 8, 5).fill(9), statement: bytes('d'), entryId: id('d'), sub: 'ü', checkedUnder: 0, rotateTo: { key: { kid: id('k'), key: { kty: 'EC2' } as never }, coseKey: bytes('cose key') } },
    ];
    const packed = packBatch(batch);
    const back = unpackBatch(structuredClone(packed, { transfer: [packed.bytes] }));
    expect(back).toHaveLength(batch.length);
    batch.forEach((p, k) => {
      const q = back[k]!;
      expect(Buffer.from(q.entry)).toEqual(Buffer.from(p.entry));
      expect(Buffer.from(q.statement)).toEqual(Buffer.from(p.statement));
      expect(Buffer.from(q.entryId)).toEqual(Buffer.from(p.entryId));
      expect(q.sub).toBe(p.sub);
      expect(q.checkedUnder).toBe(p.checkedUnder);
      expect(q.policy).toEqual(p.policy);
      expect(q.rotateTo && { kid: Buffer.from(q.rotateTo.key.kid), coseKey: Buffer.from(q.rotateTo.coseKey) }).toEqual(p.rotateTo && { kid: Buffer.from(p.rotateTo.key.kid), coseKey: Buffer.from(p.rotateTo.coseKey) });
    });
    expect(back[0]!.statement).toBe(back[0]!.entry);
    expect(() => packBatch([{ ...batch[0]!, entryId: new Uint8Array(31) }])).toThrow(/32 bytes/);
  });

  it('an outcome comes back item for item: receipts, leaf indexes, existing flags and refusals', () => {
    const outcome: BatchOutcome = {
      items: [
        { leafIndex: 10, receipt: bytes('receipt ten'), existing: false },
        { refusal: { policyLeafIndex: 4, reason: 'Rejected: no', refusedAt: 1234 } },
        { leafIndex: 2 ** 40, receipt: new Uint8Array(new ArrayBuffer(100), 50, 3).fill(1), existing: true },
        { leafIndex: 0, receipt: new Uint8Array(0), existing: false },
      ],
      policyLeafIndex: 4,
      rotated: true,
    };
    const packed = packOutcome(outcome);
    const back = unpackOutcome(structuredClone(packed, { transfer: [packed.receipts] }));
    expect(back.policyLeafIndex).toBe(4);
    expect(back.rotated).toBe(true);
    expect(back.items.map((r) => ('receipt' in r ? { ...r, receipt: Buffer.from(r.receipt) } : r))).toEqual(outcome.items.map((r) => ('receipt' in r ? { ...r, receipt: Buffer.from(r.receipt) } : r)));
  });
});
