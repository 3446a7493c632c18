import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PayloadError } from '../src/errors.ts';
import { HASH_BUFFER_BYTES, sha256File, sha256Files, sha256Hex, type HashProgress } from '../src/payload/hashing.ts';
import { createProgressRenderer, formatBytes, progressLine } from '../src/payload/progress.ts';

let dir: string;
const oneShot = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'payload-hashing-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('known answers (FIPS 180-4 examples)', () => {
  it('hashes "abc", the empty string and the 448-bit message', async () => {
    writeFileSync(join(dir, 'abc'), 'abc');
    writeFileSync(join(dir, 'empty'), '');
    writeFileSync(join(dir, 'two-block'), 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq');
    expect((await sha256File(join(dir, 'abc'))).sha256).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect((await sha256File(join(dir, 'empty'))).sha256).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect((await sha256File(join(dir, 'two-block'))).sha256).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('streamed hashing', () => {
  it('equals node:crypto one-shot for a multi-MiB file that does not end on a buffer boundary', async () => {
    const bytes = randomBytes(9 * HASH_BUFFER_BYTES + 12345);
    const path = join(dir, 'big.bin');
    writeFileSync(path, bytes);
    const d = await sha256File(path);
    expect(d).toEqual({ path, sha256: oneShot(bytes), size: bytes.length });
  });

  it('is right at the small/large boundary', async () => {
    for (const size of [HASH_BUFFER_BYTES - 1, HASH_BUFFER_BYTES, HASH_BUFFER_BYTES + 1]) {
      const bytes = randomBytes(size);
      const path = join(dir, `edge-${size}`);
      writeFileSync(path, bytes);
      expect((await sha256File(path)).sha256).toBe(oneShot(bytes));
    }
  });

  it('hashes many files in order, reporting progress up to the total', async () => {
    const sizes = [0, 1, 4096, 3 * HASH_BUFFER_BYTES + 7, 100];
    const files = sizes.map((n, i) => {
      const bytes = randomBytes(n);
      const path = join(dir, `many-${i}`);
      writeFileSync(path, bytes);
      return { path, sha256: oneShot(bytes), size: n };
    });
    const seen: HashProgress[] = [];
    const out = await sha256Files(
      files.map((f) => f.path),
      { onProgress: (p) => seen.push({ ...p }) },
    );
    expect(out).toEqual(files);
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(seen.every((p) => p.bytesTotal === total && p.filesTotal === files.length)).toBe(true);
    expect(seen.map((p) => p.bytesDone)).toEqual([...seen.map((p) => p.bytesDone)].sort((a, b) => a - b));
    // the large file reports per buffer, not only when it is done
    expect(seen.filter((p) => p.path === files[3]!.path).length).toBeGreaterThan(3);
    expect(seen.at(-1)).toMatchObject({ bytesDone: total, filesDone: files.length });
  });

  it('refuses a directory and a missing file with subject errors', async () => {
    const e1 = await sha256File(dir).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(PayloadError);
    expect((e1 as PayloadError).code).toBe('ERR_SUBJECT_DIRECTORY');
    const e2 = await sha256File(join(dir, 'nope')).catch((e: unknown) => e);
    expect((e2 as PayloadError).code).toBe('ERR_SUBJECT_NOT_FOUND');
  });

  it('stops when aborted', async () => {
    const path = join(dir, 'abort.bin');
    writeFileSync(path, randomBytes(4 * HASH_BUFFER_BYTES));
    const controller = new AbortController();
    controller.abort();
    await expect(sha256File(path, { signal: controller.signal })).rejects.toThrow(/abort/i);
  });
});

describe('progress display', () => {
  const sample: HashProgress = { bytesDone: 512 * 1024 * 1024, bytesTotal: 1024 * 1024 * 1024, filesDone: 3, filesTotal: 10, path: 'x' };

  function fakeStream(isTTY: boolean): NodeJS.WriteStream & { out: string } {
    const s = { isTTY, columns: 100, out: '', write(chunk: string) { s.out += chunk; return true; } };
    return s as unknown as NodeJS.WriteStream & { out: string };
  }

  it('formats a line with counts, percentage and rate', () => {
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(progressLine(sample, 1000)).toBe('hashing 3/10 files  512.0 MiB / 1.0 GiB  50%  537 MB/s');
  });

  it('draws on a terminal and clears when done', () => {
    const s = fakeStream(true);
    const r = createProgressRenderer({ stream: s, intervalMs: 0 });
    expect(r.silent).toBe(false);
    r.update(sample);
    expect(s.out).toMatch(/^\rhashing 3\/10 files {2}512\.0 MiB \/ 1\.0 GiB {2}50%/);
    r.done();
    expect(s.out.endsWith('\r\x1b[K')).toBe(true);
  });

  it('is silent when stderr is not a terminal, in JSON mode, or when quiet', () => {
    for (const options of [{ stream: fakeStream(false) }, { stream: fakeStream(true), json: true }, { stream: fakeStream(true), quiet: true }]) {
      const r = createProgressRenderer({ ...options, intervalMs: 0 });
      r.update(sample);
      r.done();
      expect(r.silent).toBe(true);
      expect(options.stream.out).toBe('');
    }
  });
});
