/** jazzer.js harness: fuzz target "ccf-proof" (see ../fuzz-targets.ts). Run: ./dev fuzz ccf-proof [seconds] */
import { harness } from './harness.ts';

export const fuzz = harness('ccf-proof');
