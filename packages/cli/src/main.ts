#!/usr/bin/env node
import { createProgram } from './program.ts';

// A reader that stops early (`scitt inspect … | head`) is not an error: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

await createProgram().parseAsync(process.argv);
