/** jazzer.js harness: fuzz target "tree-head" (see ../fuzz-targets.ts). Run: ./dev fuzz tree-head [seconds] */
import { harness } from './harness.ts';

export const fuzz = harness('tree-head');
