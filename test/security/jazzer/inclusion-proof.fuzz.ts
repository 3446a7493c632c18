/** jazzer.js harness: fuzz target "inclusion-proof" (see ../fuzz-targets.ts). Run: ./dev fuzz inclusion-proof [seconds] */
import { harness } from './harness.ts';

export const fuzz = harness('inclusion-proof');
