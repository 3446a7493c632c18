/** jazzer.js harness: fuzz target "pem" (see ../fuzz-targets.ts). Run: ./dev fuzz pem [seconds] */
import { harness } from './harness.ts';

export const fuzz = harness('pem');
