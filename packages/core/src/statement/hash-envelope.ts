/** Hash Envelope preimages (RFC 9995): computing the payload digest and checking a preimage against it. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { StatementError } from '../errors.ts';
import { type HashAlgorithmId, hashAlgorithm } from './profile.ts';
import type { SignedStatement } from './signed-statement.ts';

export type Preimage = Uint8Array | AsyncIterable<Uint8Array> | { path: string };

/** Digest of a preimage given as bytes, a stream, or a file path (streamed, constant memory). */
export async function digestPreimage(preimage: Preimage, hashAlg: HashAlgorithmId = -16): Promise<Uint8Array> {
  const h = hashAlgorithm(hashAlg);
  if (!h) throw new StatementError('ERR_STATEMENT_HASH_ENVELOPE', `hash algorithm ${hashAlg} is not supported`);
  const hash = createHash(h.node);
  if (preimage instanceof Uint8Array) {
    hash.update(preimage);
  } else {
    const source = 'path' in preimage ? createReadStream(preimage.path, { highWaterMark: 1 << 20 }) : preimage;
    for await (const chunk of source) hash.update(chunk as Uint8Array);
  }
  return new Uint8Array(hash.digest());
}

/** Throws unless `preimage` hashes to the statement's hash-envelope payload (compared in constant time). */
export async function verifyPreimage(statement: SignedStatement, preimage: Preimage): Promise<void> {
  const he = statement.hashEnvelope;
  if (!he) throw new StatementError('ERR_STATEMENT_HASH_ENVELOPE', 'statement is not a Hash Envelope (no payload-hash-alg 258); compare its payload directly');
  if (he.digest.length === 0) throw new StatementError('ERR_STATEMENT_HASH_ENVELOPE', 'hash envelope payload is detached; the digest is not available to compare');
  const actual = await digestPreimage(preimage, he.hashAlg);
  if (actual.length !== he.digest.length || !timingSafeEqual(actual, he.digest)) {
    throw new StatementError(
      'ERR_STATEMENT_PREIMAGE_MISMATCH',
      `preimage digest ${Buffer.from(actual).toString('hex')} does not match the statement's ${Buffer.from(he.digest).toString('hex')}: the evidence was changed or is not the one signed`,
    );
  }
}
