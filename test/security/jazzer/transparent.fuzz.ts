/** jazzer.js harness: fuzz target "transparent" (see ../fuzz-targets.ts). Run: ./dev fuzz transparent [seconds] */
import { harness } from './harness.ts';

export const fuzz = harness('transparent');
