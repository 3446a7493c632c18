/** jazzer.js harness: fuzz target "consistency-proof" (see ../fuzz-targets.ts). Run: ./dev fuzz consistency-proof [seconds] */
import { harness } from './harness.ts';

export const fuzz = harness('consistency-proof');
