/**
 * Bodies read by storage (storage/http.ts) free each chunk once its bytes are copied or hashed, so a
 * large download leaves no pile of dead chunks for the collector: the bytes read are intact, the
 * chunks the stream handed over are detached, and a chunk that views part of a larger buffer is left alone.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashLimited, readLimited } from '../src/storage/http.ts';

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({ pull: (c) => (i < chunks.length ? c.enqueue(chunks[i++]!) : c.close()) });
}

const fresh = () => [new Uint8Array(70_000).fill(1), new Uint8Array(65_536).fill(2), new Uint8Array(10).fill(3)];
const whole = Buffer.concat(fresh());
/** ES2024 (Node >= 22); not in this project's TypeScript lib */
const detached = (c: Uint8Array) => (c.buffer as ArrayBuffer & { detached: boolean }).detached;

describe('chunks are freed once used', () => {
  it('readLimited with a known size: the bytes intact, the chunks detached', async () => {
    const chunks = fresh();
    const bytes = await readLimited(streamOf(chunks), 1 << 20, 'test body', String(whole.length));
    expect(Buffer.from(bytes).equals(whole)).toBe(true);
    expect(chunks.every(detached)).toBe(true);
  });

  it('readLimited without a size keeps the chunks it returns', async () => {
    const chunks = fresh();
    const bytes = await readLimited(streamOf(chunks), 1 << 20, 'test body');
    expect(Buffer.from(bytes).equals(whole)).toBe(true);
  });

  it('hashLimited: the digest of all the bytes, the chunks detached', async () => {
    const chunks = fresh();
    const { digests, size } = await hashLimited(streamOf(chunks), 1 << 20, 'test body', ['sha256']);
    expect(size).toBe(whole.length);
    expect(digests[0]!.equals(createHash('sha256').update(whole).digest())).toBe(true);
    expect(chunks.every(detached)).toBe(true);
  });

  it('a chunk that views part of a larger buffer is not detached (the buffer may be shared)', async () => {
    const shared = new Uint8Array(100).fill(7);
    const { size } = await hashLimited(streamOf([shared.subarray(0, 50), shared.subarray(50)]), 1 << 20, 'test body', ['sha256']);
    expect(size).toBe(100);
    expect(detached(shared)).toBe(false);
    expect(shared[99]).toBe(7);
  });
});
