/**
 * A small coverage-guided fuzzer on V8's own block coverage (node:inspector, Profiler precise
 * coverage), for hosts where jazzer.js's native libFuzzer addon cannot load (its prebuilt needs
 * glibc ≥ 2.38 and GCC 13's libstdc++). Same harness contract, same corpus, same mutators.
 *
 * Loop: run the corpus and record which blocks of packages/{core,transparency-service}/src each
 * input reaches, bucketed by hit count (1, 2, 3, 4–7, 8–15, 16–31, 32+) as AFL does; then, until the
 * deadline, mutate corpus inputs in batches, take coverage once per batch, and when a batch shows a
 * new block or bucket, bisect it (re-running halves) to keep the inputs that did. Inputs that throw
 * anything but a ScittError, or run longer than the hang limit, are findings: written to
 * test/security/corpus/<target>/crash-<sha1>.bin and the run stops.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { CORPUS_DIR } from '../corpus.ts';
import type { FuzzTarget } from '../fuzz-targets.ts';
import { isRefusal } from '../fuzz-targets.ts';
import { mutate, randomCbor, rng } from '../mutate.ts';

export interface EngineOptions {
  seconds: number;
  /** working corpus: read at start, new interesting inputs written here */
  workDir: string;
  seed?: number;
  hangMs?: number;
  /** source paths whose coverage guides the search */
  include?: RegExp;
  log?: (line: string) => void;
}

export interface EngineResult {
  execs: number;
  seconds: number;
  execsPerSecond: number;
  corpus: number;
  features: number;
  finding?: { file: string; error: string };
}

interface ScriptCoverage {
  scriptId: string;
  url: string;
  functions: { ranges: { startOffset: number; endOffset: number; count: number }[] }[];
}

function post<T>(session: Session, method: string, params?: object): T {
  let out: { result?: T; error?: Error } = {};
  session.post(method, params ?? {}, (error, result) => (out = { result: result as T, ...(error ? { error } : {}) }));
  if (out.error) throw out.error;
  if (out.result === undefined) throw new Error(`inspector ${method} did not answer synchronously`);
  return out.result;
}

/** hit-count buckets 1, 2, 3, 4–7, 8–15, 16–31, 32+ */
const bucket = (count: number) => (count <= 3 ? count : Math.min(7, 32 - Math.clz32(count) + 1));

let session: Session | undefined;

/**
 * Starts block coverage. Call it before the code under test first runs: V8 gives block counts only
 * to functions compiled after this (earlier ones report whole-function counts).
 */
export function startCoverage(): Session {
  if (!session) {
    session = new Session();
    session.connect();
    post(session, 'Profiler.enable');
    post(session, 'Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }
  return session;
}

export function runEngine(t: FuzzTarget, seeds: Uint8Array[], o: EngineOptions): EngineResult {
  const include = o.include ?? /\/packages\/(core|transparency-service)\/src\//;
  const hangMs = o.hangMs ?? 2000;
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const r = rng(o.seed ?? Date.now() & 0x7fffffff);
  const session = startCoverage();

  const seen = new Set<string>();
  const scripts = new Map<string, boolean>();
  /** features reached since the last take that are not yet in `seen` */
  const fresh = (): string[] => {
    const { result } = post<{ result: ScriptCoverage[] }>(session, 'Profiler.takePreciseCoverage');
    const out: string[] = [];
    for (const s of result) {
      let wanted = scripts.get(s.scriptId);
      if (wanted === undefined) scripts.set(s.scriptId, (wanted = include.test(s.url)));
      if (!wanted) continue;
      for (const f of s.functions) {
        for (const range of f.ranges) {
          if (range.count === 0) continue;
          const key = `${s.scriptId}:${range.startOffset}:${range.endOffset}:${bucket(range.count)}`;
          if (!seen.has(key)) out.push(key);
        }
      }
    }
    return out;
  };

  let finding: EngineResult['finding'];
  const execute = (input: Uint8Array): boolean => {
    const start = performance.now();
    try {
      t.run(input);
    } catch (e) {
      if (!isRefusal(e)) {
        finding = save(t.name, input, `${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
        return false;
      }
    }
    if (performance.now() - start > hangMs) {
      finding = save(t.name, input, `took ${Math.round(performance.now() - start)} ms`);
      return false;
    }
    return true;
  };

  mkdirSync(o.workDir, { recursive: true });
  const corpus: Uint8Array[] = [];
  const keep = (input: Uint8Array, features: string[], write: boolean) => {
    for (const f of features) seen.add(f);
    corpus.push(input);
    if (write) writeFileSync(join(o.workDir, createHash('sha1').update(input).digest('hex')), input);
  };
  const initial = [...seeds, ...readdirSync(o.workDir).map((f) => new Uint8Array(readFileSync(join(o.workDir, f))))];
  fresh(); // discard what loading cost
  for (const input of initial) {
    if (!execute(input)) break;
    const f = fresh();
    if (f.length || corpus.length === 0) keep(input, f, false);
  }

  const started = Date.now();
  const deadline = started + o.seconds * 1000;
  let execs = initial.length;
  let lastLog = started;
  const BATCH = 64;
  while (!finding && Date.now() < deadline) {
    const batch: Uint8Array[] = [];
    for (let i = 0; i < BATCH; i++) {
      batch.push(r.chance(0.05) ? (t.kind === 'cbor' ? randomCbor(r) : mutate(corpus[0]!, r, corpus, 'cbor')) : mutate(r.pick(corpus), r, corpus, t.kind));
    }
    let ok = true;
    for (const input of batch) if (!(ok = execute(input))) break;
    execs += batch.length;
    if (!ok) break;
    const found = fresh();
    if (found.length) {
      // which inputs of the batch found something new: bisect, re-running halves
      const attribute = (inputs: Uint8Array[]): boolean => {
        for (const input of inputs) execute(input);
        execs += inputs.length;
        const f = fresh();
        if (!f.length) return false;
        if (inputs.length === 1) {
          keep(inputs[0]!, f, true);
          return true;
        }
        const mid = inputs.length >> 1;
        const kept = [attribute(inputs.slice(0, mid)), attribute(inputs.slice(mid))].some(Boolean);
        if (!kept) for (const x of f) seen.add(x); // only the halves together reach it: do not chase it again
        return kept;
      };
      if (!attribute(batch)) for (const x of found) seen.add(x);
    }
    if (Date.now() - lastLog > 5000) {
      lastLog = Date.now();
      log(`#${execs} cov: ${seen.size} corp: ${corpus.length} exec/s: ${Math.round(execs / ((Date.now() - started) / 1000))}`);
    }
  }
  const seconds = (Date.now() - started) / 1000;
  return { execs, seconds, execsPerSecond: Math.round(execs / Math.max(seconds, 0.001)), corpus: corpus.length, features: seen.size, ...(finding ? { finding } : {}) };
}

function save(target: string, input: Uint8Array, error: string): { file: string; error: string } {
  const dir = join(CORPUS_DIR, target);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `crash-${createHash('sha1').update(input).digest('hex')}.bin`);
  writeFileSync(file, input);
  return { file, error };
}
