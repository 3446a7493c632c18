/** jazzer.js harness: fuzz target "trusted-keys" (see ../fuzz-targets.ts). Run: ./dev fuzz trusted-keys [seconds] */
import { harness } from './harness.ts';

export const fuzz = harness('trusted-keys');
