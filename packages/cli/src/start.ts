import module from 'node:module';
import { userCacheDir } from './compile-cache.ts';

/** Runs the CLI on `args` (process.argv without node and the script): every verb but the bare --version. */
export async function start(args: readonly string[]): Promise<void> {
  // A reader that stops early (`scitt inspect … | head`) is not an error: stop quietly.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  // V8's compiled code for the modules loaded from here is kept in the user's own cache directory
  // (Node >= 22.1), never Node's shared default in /tmp: later runs skip compiling them
  const cache = userCacheDir();
  if (cache) module.enableCompileCache?.(cache);
  const { createProgram } = await import('./program.ts');
  await (await createProgram(args)).parseAsync(process.argv);
}
