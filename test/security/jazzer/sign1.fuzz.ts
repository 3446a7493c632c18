/** jazzer.js harness: fuzz target "sign1" (see ../fuzz-targets.ts). Run: ./dev fuzz sign1 [seconds] */
import { harness } from './harness.ts';

export const fuzz = harness('sign1');
