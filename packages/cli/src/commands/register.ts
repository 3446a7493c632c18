import type { Command } from 'commander';
import { ScrapiClient } from '@scitt-actions/core';
import { parseSignedStatement } from '@scitt-actions/core/statement';
import { intOption } from '../numbers.ts';
import { action } from '../run.ts';
import { readInput, report, writeOutput } from '../io.ts';

interface RegisterOptions {
  ts: string;
  out: string;
  token?: string;
  wait: boolean;
  timeout: string;
  json?: boolean;
}

export function clientFor(url: string, token: string | undefined, json: boolean): ScrapiClient {
  return new ScrapiClient({
    url,
    ...(token ? { token } : {}),
    ...(json ? {} : { onNote: (m: string) => process.stderr.write(`scitt: ${m}\n`) }),
  });
}

export function registerRegister(program: Command): void {
  program
    .command('register')
    .description('register a Signed Statement with a Transparency Service (SCRAPI) and save its receipt')
    .argument('<STATEMENT.cose>', 'the Signed Statement')
    .requiredOption('--ts <URL>', 'the Transparency Service')
    .requiredOption('--out <RECEIPT.cose>', 'where to write the receipt')
    .option('--token <TOKEN>', 'bearer token for registration (default: $SCITT_TOKEN)')
    .option('--no-wait', 'return once the service accepted the statement, without waiting for the receipt')
    .option('--timeout <SECONDS>', 'give up waiting for the receipt after this long', '120')
    .option('--json', 'print the result as JSON')
    .action(
      action('verify', async (file: string, o: RegisterOptions) => {
        const bytes = await readInput(file, 'statement');
        parseSignedStatement(bytes); // refuse locally what the service would refuse for its form
        const client = clientFor(o.ts, o.token ?? process.env.SCITT_TOKEN, !!o.json);
        const r = await client.register(bytes, { wait: o.wait, timeoutMs: intOption('--timeout', o.timeout, { min: 1, max: 86_400, unit: 'seconds' }) * 1000 });
        if (r.receipt) await writeOutput(o.out, r.receipt);
        report(!!o.json, { entryId: r.entryId, location: r.location, receipt: r.receipt ? o.out : undefined, pending: r.receipt ? undefined : true });
      }),
    );
}
