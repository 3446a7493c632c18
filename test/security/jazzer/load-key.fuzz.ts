/** jazzer.js harness: fuzz target "load-key" (see ../fuzz-targets.ts). Run: ./dev fuzz load-key [seconds] */
import { harness } from './harness.ts';

export const fuzz = harness('load-key');
