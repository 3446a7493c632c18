/** jazzer.js harness: fuzz target "key-set" (see ../fuzz-targets.ts). Run: ./dev fuzz key-set [seconds] */
import { harness } from './harness.ts';

export const fuzz = harness('key-set');
