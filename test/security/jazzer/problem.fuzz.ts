/** jazzer.js harness: fuzz target "problem" (see ../fuzz-targets.ts). Run: ./dev fuzz problem [seconds] */
import { harness } from './harness.ts';

export const fuzz = harness('problem');
