/** jazzer.js harness: fuzz target "policy" (see ../fuzz-targets.ts). Run: ./dev fuzz policy [seconds] */
import { harness } from './harness.ts';

export const fuzz = harness('policy');
