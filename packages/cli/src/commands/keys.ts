import type { Command } from 'commander';
import { encodeKeySet, thumbprint } from '@scitt-actions/core/cose';
import { action } from '../run.ts';
import { hex, report, writeOutput } from '../io.ts';
import { clientFor } from './register.ts';

export function registerKeys(program: Command): void {
  program
    .command('keys')
    .description("fetch a Transparency Service's keys (COSE Key Set) to verify its receipts offline later")
    .requiredOption('--ts <URL>', 'the Transparency Service')
    .requiredOption('--out <FILE.cbor>', 'where to write the COSE Key Set')
    .option('--json', 'print the result as JSON')
    .action(
      action('operate', async (o: { ts: string; out: string; json?: boolean }) => {
        const keys = await clientFor(o.ts, undefined, !!o.json).keys();
        await writeOutput(o.out, encodeKeySet(keys.map((k) => ({ ...k, kid: k.kid ?? thumbprint(k) }))));
        report(!!o.json, { keys: o.out, kids: keys.map((k) => hex(k.kid ?? thumbprint(k))) });
      }),
    );
}
