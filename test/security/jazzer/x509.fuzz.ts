/** jazzer.js harness: fuzz target "x509" (see ../fuzz-targets.ts). Run: ./dev fuzz x509 [seconds] */
import { harness } from './harness.ts';

export const fuzz = harness('x509');
