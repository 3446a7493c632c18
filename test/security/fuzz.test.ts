/**
 * Property-based fuzzing of every decoder of untrusted input (fuzz-targets.ts), with a fixed time
 * budget per target: the corpus is replayed first, then structure-aware mutations of valid inputs,
 * random COSE-shaped CBOR and random bytes. The property: the target returns or throws a ScittError,
 * never anything else, and each input takes less than HANG_MS. A failing input is written to
 * corpus/<target>/found-<hash>.hex (the counterexample after shrinking) so it is replayed from then on.
 *
 *   SCITT_FUZZ_MS=10000 npx vitest run --config test/security/vitest.config.ts test/security/fuzz.test.ts
 *   SCITT_FUZZ_SEED=<n> reproduces a run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CORPUS_DIR, corpusTargets, readCorpus, saveFinding } from './corpus.ts';
import { type FuzzTarget, TARGETS, isRefusal, loadTargets } from './fuzz-targets.ts';
import { mutate, randomCbor, rng } from './mutate.ts';

/** per target, ms */
export const BUDGET_MS = Number(process.env.SCITT_FUZZ_MS ?? 2000);
/** one input taking longer than this is a hang */
export const HANG_MS = 1500;
const SEED = process.env.SCITT_FUZZ_SEED ? Number(process.env.SCITT_FUZZ_SEED) : undefined;

type Verdict = { ok: true } | { ok: true; refused: string } | { ok: false; why: string };

export async function runOnce(t: FuzzTarget, input: Uint8Array): Promise<Verdict & { ms: number }> {
  const start = performance.now();
  let v: Verdict;
  try {
    await t.run(input);
    v = { ok: true };
  } catch (e) {
    v = isRefusal(e) ? { ok: true, refused: (e as { code: string }).code } : { ok: false, why: `${(e as Error)?.constructor?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack ?? ''}` };
  }
  const ms = performance.now() - start;
  if (v.ok && ms > HANG_MS) v = { ok: false, why: `took ${Math.round(ms)} ms (> ${HANG_MS} ms): a hang` };
  return { ...v, ms };
}

const pools = new Map<string, Uint8Array[]>();

beforeAll(async () => {
  await loadTargets();
  for (const t of TARGETS) pools.set(t.name, [...(await t.seeds()), ...readCorpus(t.name).map((e) => e.bytes)]);
}, 60_000);

describe('corpus replay (every input that once failed, and the interesting ones)', () => {
  it('every corpus directory names a fuzz target (or http), and every input is documented in corpus/README.md', () => {
    const known = new Set([...TARGETS.map((t) => t.name), 'http']);
    expect(corpusTargets().filter((d) => !known.has(d))).toEqual([]);
    const readme = readFileSync(join(CORPUS_DIR, 'README.md'), 'utf8');
    const undocumented = corpusTargets().flatMap((d) => readCorpus(d).map((e) => `${d}/${e.name}`)).filter((f) => !readme.includes(`\`${f}\``));
    expect(undocumented, 'add a one-line reason for each to corpus/README.md').toEqual([]);
  });

  for (const t of TARGETS) {
    it(`${t.name}: corpus inputs are refused with a typed error or accepted, promptly`, async () => {
      for (const e of readCorpus(t.name)) {
        const v = await runOnce(t, e.bytes);
        expect(v.ok ? 'ok' : v.why, `corpus/${t.name}/${e.name}`).toBe('ok');
      }
    });
  }
});

describe('seeds are valid: the fuzzer starts from inputs that reach the deep paths', () => {
  for (const t of TARGETS) {
    it(t.name, async () => {
      for (const s of await t.seeds()) {
        const v = await runOnce(t, s);
        expect('refused' in v ? `refused ${v.refused}` : v.ok ? 'accepted' : v.why).toBe('accepted');
      }
    });
  }
});

describe(`fuzzing every decoder (${BUDGET_MS} ms each)`, () => {
  for (const t of TARGETS) {
    it(`${t.name}: ${t.what}`, async () => {
      const pool = pools.get(t.name)!;
      const input = fc.oneof(
        { weight: 8, arbitrary: fc.tuple(fc.nat(pool.length - 1), fc.integer()).map(([i, s]) => mutate(pool[i]!, rng(s), pool, t.kind)) },
        { weight: 1, arbitrary: fc.integer().map((s) => (t.kind === 'text' ? mutate(pool[0]!, rng(s), pool, 'cbor') : randomCbor(rng(s)))) },
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }) },
      );
      let runs = 0;
      let refused = 0;
      let slowest = 0;
      const result = await fc.check(
        fc.asyncProperty(input, async (bytes) => {
          runs++;
          const v = await runOnce(t, bytes);
          slowest = Math.max(slowest, v.ms);
          if ('refused' in v) refused++;
          if (!v.ok) throw new Error(v.why);
        }),
        { interruptAfterTimeLimit: BUDGET_MS, numRuns: 10_000_000, ...(SEED !== undefined ? { seed: SEED } : {}) },
      );
      if (result.failed && result.counterexample) {
        const [bytes] = result.counterexample as [Uint8Array];
        const file = saveFinding(t.name, bytes, `fuzz.test.ts ${t.name}: ${result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance)}`);
        expect.fail(`${t.name}: ${result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance)}\nsaved to ${file}; reproduce with SCITT_FUZZ_SEED=${result.seed}`);
      }
      expect(result.failed, String(result.errorInstance)).toBe(false);
      console.log(`fuzz ${t.name}: ${runs} inputs in ${BUDGET_MS} ms (${Math.round((runs * 1000) / BUDGET_MS)}/s), ${refused} refused with a typed error, slowest ${slowest.toFixed(1)} ms`);
      expect(runs).toBeGreaterThan(50);
    }, BUDGET_MS + 30_000);
  }
});
