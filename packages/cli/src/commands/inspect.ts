import type { Command } from 'commander';
import { diagnose } from '@scitt-actions/core/diagnostic';
import { action } from '../run.ts';
import { printJson, readInput } from '../io.ts';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('show any COSE/CBOR object of this project (statement, receipt, transparent statement, key) in diagnostic notation')
    .argument('<FILE>', 'the object to show')
    .option('--json', 'print a JSON view instead of diagnostic notation')
    .action(
      action('operate', async (file: string, o: { json?: boolean }) => {
        const d = diagnose(await readInput(file, 'object'));
        if (o.json) printJson({ kind: d.kind, value: d.json });
        else process.stdout.write(`/ ${d.kind} /\n${d.text}\n`);
      }),
    );
}
