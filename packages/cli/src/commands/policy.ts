import type { Command } from 'commander';
import { ScittError } from '@scitt-actions/core';
import { getPolicy, setPolicy } from '@scitt-actions/core/scrapi';
import { action } from '../run.ts';
import { readInput } from '../io.ts';
import { clientFor } from './register.ts';

export function registerPolicy(program: Command): void {
  const policy = program.command('policy').description("manage the embedded Transparency Service's registration policy (itself a statement on the log)");

  policy
    .command('show')
    .description('print the registration policy in force and the log entry that holds it')
    .requiredOption('--ts <URL>', 'the Transparency Service')
    .action(
      action('operate', async (o: { ts: string }) => {
        process.stdout.write(`${JSON.stringify(await getPolicy(clientFor(o.ts, undefined, true)), null, 2)}\n`);
      }),
    );

  policy
    .command('set')
    .description('register a new registration policy; it applies once committed to the log')
    .requiredOption('--ts <URL>', 'the Transparency Service')
    .requiredOption('--policy <FILE>', 'policy JSON: {"issuers": [{"name", "iss"?, "key": JWK or PEM}], "maxStatementBytes"?}')
    .option('--admin-token <TOKEN>', 'the service admin token (default: $SCITT_TS_ADMIN_TOKEN)')
    .action(
      action('verify', async (o: { ts: string; policy: string; adminToken?: string }) => {
        const token = o.adminToken ?? process.env.SCITT_TS_ADMIN_TOKEN;
        if (!token) throw new ScittError('ERR_USAGE', 'setting the policy needs the admin token: --admin-token or $SCITT_TS_ADMIN_TOKEN');
        const text = new TextDecoder().decode(await readInput(o.policy, 'policy'));
        process.stdout.write(`${JSON.stringify(await setPolicy(clientFor(o.ts, undefined, true), text, token), null, 2)}\n`);
      }),
    );
}
