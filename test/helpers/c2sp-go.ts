/**
 * The independent C2SP verifier (test/c2sp-go/main.go, on Go's golang.org/x/mod/sumdb/note and
 * tlog): built once from Debian's golang-go and golang-golang-x-mod-dev (GOPATH mode, no network),
 * cached under node_modules/.cache by the source's digest, then run as a child process.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureDebianPackage } from './debian-package.ts';

const run = promisify(execFile);
const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const SOURCE = join(ROOT, 'test/c2sp-go/main.go');
const GOPATH = '/usr/share/gocode';

/** Path of the built verifier, building it when the source changed since the cached build. */
export async function c2spVerifier(): Promise<string> {
  const go = await ensureDebianPackage('/usr/bin/go', 'golang-go');
  await ensureDebianPackage(join(GOPATH, 'src/golang.org/x/mod/sumdb/tlog/tile.go'), 'golang-golang-x-mod-dev');
  const digest = createHash('sha256').update(readFileSync(SOURCE)).digest('hex').slice(0, 16);
  const cache = join(ROOT, 'node_modules/.cache/c2sp-go');
  const bin = join(cache, `c2sp-verify-${digest}`);
  if (existsSync(bin)) return bin;
  mkdirSync(cache, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  const env = { ...process.env, GO111MODULE: 'off', GOPATH, GOCACHE: join(cache, 'go-build'), GOFLAGS: '', GOPROXY: 'off' }; // cgo as Debian built the standard library: its packages are reused, not rebuilt
  await run(go, ['build', '-o', tmp, SOURCE], { env, cwd: join(ROOT, 'test/c2sp-go'), timeout: 300_000 });
  renameSync(tmp, bin); // parallel workers: each build is whole, the last rename wins
  return bin;
}

export interface C2spResult {
  origin: string;
  size: number;
  root: string;
  entriesProven: number;
  cosignatures: { name: string; timestamp: number }[] | null;
  tileFetches: number;
  lastEntrySha256?: string;
  consistentFrom?: number;
}

/** Runs the verifier; resolves with its JSON, or rejects with what it found wrong (its stderr). */
export async function runC2spVerifier(bin: string, args: string[]): Promise<C2spResult> {
  try {
    const { stdout } = await run(bin, args, { timeout: 120_000, maxBuffer: 1 << 20 });
    return JSON.parse(stdout) as C2spResult;
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(err.stderr?.trim() || err.message);
  }
}
