import type { Command } from 'commander';
import { dirname } from 'node:path';
import { FileStatementStore, attachReceipts, fileArtifact, parseSignedStatement, readLocalStatement, subjectPinsDigest } from '@scitt-actions/core';
import { UsageError, action } from '../run.ts';
import { readInput, report, writeOutput } from '../io.ts';
import { clientFor } from './register.ts';

interface Placement {
  out?: string;
  artifact?: string;
  json?: boolean;
}

/** Writes the Transparent Statement to --out, or beside --artifact (with the statement's evidence, from beside the statement file). */
async function place(statementFile: string, transparent: Uint8Array, o: Placement): Promise<Record<string, unknown>> {
  if (!!o.out === !!o.artifact) throw new UsageError('say where the Transparent Statement goes: --out FILE.scitt or --artifact PATH (beside the artifact)');
  if (o.out) {
    await writeOutput(o.out, transparent);
    return { transparentStatement: o.out, receipts: parseSignedStatement(transparent).receipts.length };
  }
  const artifact = await fileArtifact(o.artifact!);
  const local = await readLocalStatement(statementFile);
  if (!subjectPinsDigest(local.sub, artifact.sha256)) {
    throw new UsageError(`${statementFile} is about ${local.sub}, not ${o.artifact} (sha256:${artifact.sha256}): was the artifact rebuilt after signing?`);
  }
  const items = [{ ...local.items[0]!, bytes: transparent }, ...local.items.slice(1)];
  const stored = await new FileStatementStore({ directory: dirname(o.artifact!) }).attach(artifact, items);
  return { stored: stored.map((s) => ({ kind: s.kind, status: s.status, location: s.location })) };
}

export function registerAttach(program: Command): void {
  program
    .command('attach')
    .description('make a Transparent Statement: the statement with its receipts under unprotected 394 (RFC 9943 §7)')
    .argument('<STATEMENT.cose>', 'the Signed Statement (or a Transparent Statement to add receipts to)')
    .argument('<RECEIPT.cose...>', 'one or more receipts')
    .option('--out <FILE.scitt>', 'where to write the Transparent Statement')
    .option('--artifact <PATH>', 'store it beside this artifact (<artifact>.scitt, evidence at its payload-location)')
    .option('--json', 'print the result as JSON')
    .action(
      action('operate', async (statementFile: string, receiptFiles: string[], o: Placement) => {
        const statement = await readInput(statementFile, 'statement');
        const receipts = await Promise.all(receiptFiles.map((f) => readInput(f, 'receipt')));
        report(!!o.json, await place(statementFile, attachReceipts(statement, receipts), o));
      }),
    );

  program
    .command('transparent')
    .description('register a Signed Statement and attach its receipt in one step')
    .argument('<STATEMENT.cose>', 'the Signed Statement')
    .requiredOption('--ts <URL>', 'the Transparency Service')
    .option('--out <FILE.scitt>', 'where to write the Transparent Statement')
    .option('--artifact <PATH>', 'store it beside this artifact (<artifact>.scitt, evidence at its payload-location)')
    .option('--token <TOKEN>', 'bearer token for registration (default: $SCITT_TOKEN)')
    .option('--json', 'print the result as JSON')
    .action(
      action('verify', async (file: string, o: Placement & { ts: string; token?: string }) => {
        const statement = await readInput(file, 'statement');
        parseSignedStatement(statement);
        const r = await clientFor(o.ts, o.token ?? process.env.SCITT_TOKEN, !!o.json).register(statement);
        report(!!o.json, { entryId: r.entryId, location: r.location, ...(await place(file, attachReceipts(statement, [r.receipt!]), o)) });
      }),
    );
}
