#!/usr/bin/env node
// Only node: builtins and small modules are imported here, so that `scitt --version` starts in the time node does.
import { VERSION } from './version.ts';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${VERSION}\n`);
} else {
  // A reader that stops early (`scitt inspect … | head`) is not an error: stop quietly.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  const { createProgram } = await import('./program.ts');
  await (await createProgram(args)).parseAsync(process.argv);
}
