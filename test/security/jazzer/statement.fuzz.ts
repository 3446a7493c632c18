/** jazzer.js harness: fuzz target "statement" (see ../fuzz-targets.ts). Run: ./dev fuzz statement [seconds] */
import { harness } from './harness.ts';

export const fuzz = harness('statement');
