/** jazzer.js harness: fuzz target "did-x509" (see ../fuzz-targets.ts). Run: ./dev fuzz did-x509 [seconds] */
import { harness } from './harness.ts';

export const fuzz = harness('did-x509');
