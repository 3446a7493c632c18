import type { Command } from 'commander';
import { attachReceipts, parseSignedStatement } from '@scitt-actions/core';
import { action } from '../run.ts';
import { readInput, report, writeOutput } from '../io.ts';
import { clientFor } from './register.ts';

export function registerAttach(program: Command): void {
  program
    .command('attach')
    .description('make a Transparent Statement: the statement with its receipts under unprotected 394 (RFC 9943 §7)')
    .argument('<STATEMENT.cose>', 'the Signed Statement (or a Transparent Statement to add receipts to)')
    .argument('<RECEIPT.cose...>', 'one or more receipts')
    .requiredOption('--out <FILE.scitt>', 'where to write the Transparent Statement')
    .option('--json', 'print the result as JSON')
    .action(
      action('operate', async (statementFile: string, receiptFiles: string[], o: { out: string; json?: boolean }) => {
        const statement = await readInput(statementFile, 'statement');
        const receipts = await Promise.all(receiptFiles.map((f) => readInput(f, 'receipt')));
        const transparent = attachReceipts(statement, receipts);
        await writeOutput(o.out, transparent);
        report(!!o.json, { transparentStatement: o.out, receipts: parseSignedStatement(transparent).receipts.length });
      }),
    );

  program
    .command('transparent')
    .description('register a Signed Statement and attach its receipt in one step')
    .argument('<STATEMENT.cose>', 'the Signed Statement')
    .requiredOption('--ts <URL>', 'the Transparency Service')
    .requiredOption('--out <FILE.scitt>', 'where to write the Transparent Statement')
    .option('--token <TOKEN>', 'bearer token for registration (default: $SCITT_TOKEN)')
    .option('--json', 'print the result as JSON')
    .action(
      action('verify', async (file: string, o: { ts: string; out: string; token?: string; json?: boolean }) => {
        const statement = await readInput(file, 'statement');
        parseSignedStatement(statement);
        const r = await clientFor(o.ts, o.token ?? process.env.SCITT_TOKEN, !!o.json).register(statement);
        await writeOutput(o.out, attachReceipts(statement, [r.receipt!]));
        report(!!o.json, { transparentStatement: o.out, entryId: r.entryId, location: r.location });
      }),
    );
}
