#!/usr/bin/env node
// Only small modules are imported here, so that `scitt --version` starts in the time node does.
import { VERSION } from './version.ts';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${VERSION}\n`);
} else {
  await (await import('./start.ts')).start(args);
}
