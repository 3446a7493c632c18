/** jazzer.js harness: fuzz target "diagnose" (see ../fuzz-targets.ts). Run: ./dev fuzz diagnose [seconds] */
import { harness } from './harness.ts';

export const fuzz = harness('diagnose');
