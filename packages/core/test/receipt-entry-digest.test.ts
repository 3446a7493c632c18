/** statementEntrySha256 hashes the log entry in parts: the same digest as hashing statementEntry's bytes, for every payload size and a detached (nil) payload. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateKey, thumbprint } from '../src/cose/key.ts';
import { encodeSign1, keySigner } from '../src/cose/sign1.ts';
import { statementEntry, statementEntrySha256 } from '../src/receipt/entry.ts';
import { createSignedStatement, parseSignedStatement } from '../src/statement/signed-statement.ts';

describe('statementEntrySha256', () => {
  it('equals SHA-256 of statementEntry', async () => {
    const key = generateKey('P-256');
    for (const n of [0, 1, 23, 24, 255, 256, 65_535, 65_536, 300_000]) {
      const bytes = await createSignedStatement({ payload: new Uint8Array(n).fill(0x41), signer: keySigner(key), kid: thumbprint(key), iss: 'https://issuer.example', sub: 'pkg:generic/a?checksum=sha256:' + '0'.repeat(64), iat: 1_700_000_000, contentType: 'application/json' });
      const want = createHash('sha256').update(statementEntry(bytes)).digest();
      expect(statementEntrySha256(bytes).equals(want), `payload ${n}`).toBe(true);
      expect(statementEntrySha256(parseSignedStatement(bytes)).equals(want)).toBe(true);
      const detached = { ...parseSignedStatement(bytes).sign1, payload: null };
      expect(statementEntrySha256(encodeSign1(detached)).equals(createHash('sha256').update(statementEntry(encodeSign1(detached))).digest())).toBe(true);
    }
  });
});
