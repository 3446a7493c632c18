/**
 * Subject hashing throughput: the project's hashing path (packages/core/src/payload/hashing.ts) against
 * `sha256sum` and `openssl dgst -sha256` on the same files in the same run, for 10,000 files of 4 KiB
 * and one 1 GiB file; plus createReadStream at several highWaterMarks, the alternative hashing.ts was
 * measured against. Medians of 5 runs, files served from the page cache for every contender.
 * Run: node test/bench/hashing.ts
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, createReadStream, fsyncSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256Files } from '../../packages/core/src/payload/hashing.ts';

const RUNS = 5;
const SMALL_COUNT = 10_000;
const SMALL_SIZE = 4 * 1024;
const LARGE_SIZE = 1024 * 1024 * 1024;

interface Result {
  name: string;
  mbPerSecond: number | undefined;
  note?: string;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

function available(tool: string, args: string[]): boolean {
  return spawnSync(tool, args, { stdio: 'ignore' }).status === 0;
}

/** Runs an external hasher over `files` and checks its first digest, so a broken run cannot look fast. */
function external(tool: string, args: string[], files: string[], expectFirst: string): void {
  const r = spawnSync(tool, [...args, ...files], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${tool} failed: ${r.stderr}`);
  if (!r.stdout.includes(expectFirst)) throw new Error(`${tool} printed an unexpected digest`);
}

async function streamHash(path: string, highWaterMark: number): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function print(title: string, results: Result[]): void {
  const openssl = results.find((r) => r.name.startsWith('openssl'))?.mbPerSecond;
  console.log(`\n${title}`);
  for (const r of results) {
    const rate = r.mbPerSecond === undefined ? 'n/a'.padStart(9) : `${r.mbPerSecond.toFixed(0).padStart(6)} MB/s`;
    const ratio = r.mbPerSecond !== undefined && openssl ? `  ${((100 * r.mbPerSecond) / openssl).toFixed(0).padStart(4)}% of openssl` : '';
    console.log(`  ${r.name.padEnd(40)} ${rate}${ratio}${r.note ? `  (${r.note})` : ''}`);
  }
}

interface Contender {
  name: string;
  run?: () => Promise<unknown> | unknown;
  note?: string;
}

/** Runs contenders round-robin, RUNS times, so drift (writeback, frequency scaling) does not favour whoever goes first. */
async function race(list: Contender[], bytes: number): Promise<Result[]> {
  const times = list.map(() => [] as number[]);
  for (let i = 0; i < RUNS; i++) {
    for (const [k, c] of list.entries()) if (c.run) times[k]!.push(await timed(c.run));
  }
  return list.map((c, k) => ({ name: c.name, mbPerSecond: c.run ? bytes / 1e6 / (median(times[k]!) / 1000) : undefined, note: c.note }));
}

async function contenders(files: string[], hasSha256sum: boolean, hasOpenssl: boolean): Promise<Contender[]> {
  const [first] = await sha256Files(files.slice(0, 1));
  const expect = first!.sha256;
  return [
    { name: 'scitt-actions sha256Files', run: () => sha256Files(files) },
    hasSha256sum ? { name: 'sha256sum', run: () => external('sha256sum', [], files, expect) } : { name: 'sha256sum', note: 'not installed' },
    hasOpenssl ? { name: 'openssl dgst -sha256', run: () => external('openssl', ['dgst', '-sha256', '-r'], files, expect) } : { name: 'openssl dgst -sha256', note: 'not installed' },
  ];
}

export async function bench(): Promise<void> {
  const hasSha256sum = available('sha256sum', ['--version']);
  const hasOpenssl = available('openssl', ['version']);
  const dir = mkdtempSync(join(tmpdir(), 'bench-hashing-'));
  try {
    console.log(`hashing benchmark: Node ${process.version}, ${RUNS} runs each, median MB/s (1 MB = 10^6 bytes); ${hasOpenssl ? spawnSync('openssl', ['version'], { encoding: 'utf8' }).stdout.trim() : 'no openssl'}`);

    // 10,000 × 4 KiB
    const smallDir = join(dir, 'small');
    mkdirSync(smallDir);
    const block = Buffer.allocUnsafe(SMALL_SIZE);
    const small: string[] = [];
    for (let i = 0; i < SMALL_COUNT; i++) {
      const p = join(smallDir, `f${String(i).padStart(5, '0')}.bin`);
      writeFileSync(p, randomFillSync(block));
      small.push(p);
    }
    print(
      `${SMALL_COUNT} files × 4 KiB (${((SMALL_COUNT * SMALL_SIZE) / 2 ** 20).toFixed(0)} MiB; external tools get all paths in one process)`,
      await race(await contenders(small, hasSha256sum, hasOpenssl), SMALL_COUNT * SMALL_SIZE),
    );
    rmSync(smallDir, { recursive: true, force: true });

    // one 1 GiB file, written in 64 MiB random chunks
    const large = join(dir, 'large.bin');
    const fd = openSync(large, 'w');
    const chunk = Buffer.allocUnsafe(64 * 1024 * 1024);
    for (let written = 0; written < LARGE_SIZE; written += chunk.length) writeSync(fd, randomFillSync(chunk));
    // flush to disk first so writeback does not compete with the timed reads; the untimed pass warms the cache
    fsyncSync(fd);
    closeSync(fd);
    const expected = (await sha256Files([large]))[0]!.sha256;
    const list = await contenders([large], hasSha256sum, hasOpenssl);
    for (const hwm of [64 * 1024, 1024 * 1024, 4 * 1024 * 1024]) {
      list.push({
        name: `createReadStream highWaterMark ${hwm >= 1 << 20 ? `${hwm >> 20} MiB` : `${hwm >> 10} KiB`}`,
        note: 'alternative, not used',
        run: async () => {
          if ((await streamHash(large, hwm)) !== expected) throw new Error('stream digest differs');
        },
      });
    }
    const results = await race(list, LARGE_SIZE);
    print('1 file × 1 GiB', results);
    const ours = results[0]!.mbPerSecond!;
    const openssl = results[2]!.mbPerSecond;
    if (openssl) console.log(`\nlarge file: scitt-actions at ${((100 * ours) / openssl).toFixed(0)}% of openssl (goal ≥ 90%)`);
    rmSync(large, { force: true });

    // one 2 GiB file through the path the CLI and actions use: progress reported, memory flat
    const huge = join(dir, 'huge.bin');
    const hfd = openSync(huge, 'w');
    for (let written = 0; written < 2 * LARGE_SIZE; written += chunk.length) writeSync(hfd, randomFillSync(chunk));
    fsyncSync(hfd);
    closeSync(hfd);
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    let updates = 0;
    let lastDone = 0;
    const t0 = performance.now();
    await sha256Files([huge], {
      onProgress: (p) => {
        updates++;
        lastDone = p.bytesDone;
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
    console.log(`\n1 file × 2 GiB: ${((2 * LARGE_SIZE) / 1e6 / seconds).toFixed(0)} MB/s, ${updates} progress updates (last at ${mib(lastDone)}), RSS ${mib(rssBefore)} before, ${mib(rssPeak)} peak (+${mib(rssPeak - rssBefore)}: constant memory)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await bench();
}
