#!/usr/bin/env node
// Only node: builtins and small modules are imported here, so that `scitt --version` starts in the time node does.
import module from 'node:module';
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
  // V8's compiled code for the modules loaded from here is kept on disk (Node >= 22.1; NODE_DISABLE_COMPILE_CACHE=1 turns it off): later runs skip compiling them
  module.enableCompileCache?.();
  const { createProgram } = await import('./program.ts');
  await (await createProgram(args)).parseAsync(process.argv);
}
