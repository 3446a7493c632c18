/**
 * The release gate's memory stays within a fixed bound however many statements an attacker adds
 * (SECURITY.md, "Resource safety"). What it holds is bounded by the stores' limits; what V8 keeps
 * beside it is not: a process that allocates steadily (a thousand downloads, a thousand
 * verifications) grows its young generation step by step to 2 × 64 MiB, and keeps it. Growth
 * factor 1 leaves the young generation at its start size: on the 1,000-statement release the gate's
 * peak RSS fell from ~280 MiB to ~200 MiB, with no more CPU time (gate-memory, gate-1000 benches).
 *
 * Process-wide, so only the gate's entry points call it (the CLI's `verify` gate, the verify-gate
 * action), never the library on a caller's behalf.
 */
import { setFlagsFromString } from 'node:v8';

let applied = false;

export function boundYoungGeneration(): void {
  if (applied) return;
  applied = true;
  // read by V8 each time it considers growing the young generation, so it applies after start-up too
  setFlagsFromString('--semi-space-growth-factor=1');
}
