/** jazzer.js harness: fuzz target "payload-location" (see ../fuzz-targets.ts). Run: ./dev fuzz payload-location [seconds] */
import { harness } from './harness.ts';

export const fuzz = harness('payload-location');
