/** jazzer.js harness: fuzz target "cbor" (see ../fuzz-targets.ts). Run: ./dev fuzz cbor [seconds] */
import { harness } from './harness.ts';

export const fuzz = harness('cbor');
