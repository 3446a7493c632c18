/** jazzer.js harness: fuzz target "trusted-root" (see ../fuzz-targets.ts). Run: ./dev fuzz trusted-root [seconds] */
import { harness } from './harness.ts';

export const fuzz = harness('trusted-root');
