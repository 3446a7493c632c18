// Registered with `node --import` before jazzer.js starts. Node hands .ts modules to loader hooks
// as format "module-typescript", which jazzer.js's ESM instrumentation skips (it only instruments
// "module"); this hook strips the types first, so the source under test gets coverage counters.
import { register } from 'node:module';

register('./strip-types-hooks.mjs', import.meta.url);
