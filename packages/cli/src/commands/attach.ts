import type { Command } from 'commander';
import { attachReceipts } from '@scitt-actions/core';
import { parseSignedStatement } from '@scitt-actions/core/statement';
import { attachStatements, discoverStatements, readLocalStatement } from '@scitt-actions/core/storage';
import { UsageError, action } from '../run.ts';
import { printJson, readInput, report, writeOutput } from '../io.ts';
import { type StorageFlags, addStorageOptions, storageOptions } from '../storage-options.ts';
import { clientFor } from './register.ts';

interface Placement extends StorageFlags {
  out?: string;
  to?: string;
  json?: boolean;
}

const TO = 'store it where consumers fetch the artifact: the artifact file or its directory, release:TAG, or oci://REGISTRY/REPO@sha256:…';

/** Writes the Transparent Statement to --out, or attaches it (with its hash-envelope evidence from beside the statement) --to a store. */
function assertPlacement(o: Placement): void {
  if (!!o.out === !!o.to) throw new UsageError('say where the Transparent Statement goes: --out FILE.scitt, or --to TARGET');
}

async function place(statementFile: string, transparent: Uint8Array, o: Placement): Promise<Record<string, unknown>> {
  assertPlacement(o);
  if (o.out) {
    await writeOutput(o.out, transparent);
    return { transparentStatement: o.out, receipts: parseSignedStatement(transparent).receipts.length };
  }
  const local = await readLocalStatement(statementFile);
  const items = [{ ...local.items[0]!, bytes: transparent }, ...local.items.slice(1)];
  const stored = await attachStatements(o.to!, items, storageOptions(o));
  return { stored: stored.map((s) => ({ kind: s.kind, status: s.status, location: s.location })) };
}

export function registerAttach(program: Command): void {
  addStorageOptions(
    program
      .command('attach')
      .description('make a Transparent Statement: the statement with its receipts under unprotected 394 (RFC 9943 §7)')
      .argument('<STATEMENT.cose>', 'the Signed Statement (or a Transparent Statement to add receipts to)')
      .argument('<RECEIPT.cose...>', 'one or more receipts')
      .option('--out <FILE.scitt>', 'where to write the Transparent Statement')
      .option('--to <TARGET>', TO)
      .option('--json', 'print the result as JSON'),
  ).action(
    action('operate', async (statementFile: string, receiptFiles: string[], o: Placement) => {
      assertPlacement(o); // a usage error before any file is read
      const statement = await readInput(statementFile, 'statement');
      const receipts = await Promise.all(receiptFiles.map((f) => readInput(f, 'receipt')));
      report(!!o.json, await place(statementFile, attachReceipts(statement, receipts), o));
    }),
  );

  addStorageOptions(
    program
      .command('transparent')
      .description('register a Signed Statement and attach its receipt in one step')
      .argument('<STATEMENT.cose>', 'the Signed Statement')
      .requiredOption('--ts <URL>', 'the Transparency Service')
      .option('--out <FILE.scitt>', 'where to write the Transparent Statement')
      .option('--to <TARGET>', TO)
      .option('--token <TOKEN>', 'bearer token for registration (default: $SCITT_TOKEN)')
      .option('--json', 'print the result as JSON'),
  ).action(
    action('verify', async (file: string, o: Placement & { ts: string; token?: string }) => {
      assertPlacement(o); // before anything is registered
      const statement = await readInput(file, 'statement');
      parseSignedStatement(statement);
      const r = await clientFor(o.ts, o.token ?? process.env.SCITT_TOKEN, !!o.json).register(statement);
      report(!!o.json, { entryId: r.entryId, location: r.location, ...(await place(file, attachReceipts(statement, [r.receipt!]), o)) });
    }),
  );

  addStorageOptions(
    program
      .command('discover')
      .description('list the Transparent Statements stored for an artifact (not verified: use scitt verify)')
      .argument('<ARTIFACT>', 'a file, release:TAG/ASSET, or oci://REGISTRY/REPO[:TAG|@sha256:…]')
      .option('--json', 'print the result as JSON'),
  ).action(
    action('operate', async (location: string, o: StorageFlags & { json?: boolean }) => {
      const found = await discoverStatements(location, { ...storageOptions(o), evidence: true });
      const statements = found.statements.map((d) => ({ id: d.id, location: d.source.location, iss: d.statement.iss, sub: d.statement.sub, receipts: d.statement.receipts.length, evidence: d.evidence?.source.location }));
      const skipped = found.skipped.map((s) => ({ name: s.source.name, code: s.code, reason: s.reason }));
      if (o.json) {
        printJson({ artifact: found.artifact, statements, skipped, requests: found.requests });
        return;
      }
      process.stdout.write(`${found.artifact.name} sha256:${found.artifact.sha256}: ${statements.length} statement(s)\n`);
      for (const s of statements) process.stdout.write(`  ${s.location}  by ${s.iss}, ${s.receipts} receipt(s)${s.evidence ? `, evidence ${s.evidence}` : ''}\n`);
      for (const s of skipped) process.stdout.write(`  skipped ${s.name}: ${s.reason} [${s.code}]\n`);
    }),
  );
}
