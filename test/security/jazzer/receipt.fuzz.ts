/** jazzer.js harness: fuzz target "receipt" (see ../fuzz-targets.ts). Run: ./dev fuzz receipt [seconds] */
import { harness } from './harness.ts';

export const fuzz = harness('receipt');
