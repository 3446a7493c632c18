/**
 * `scitt witness`: a C2SP tlog-witness (see packages/transparency-service/src/witness.ts). Prints its
 * URL, then its cosigner verifier key, one per line on stdout; logs structured lines on stderr.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ScittError } from '@scitt-actions/core';
import { startWitness, stderrLog, witnessCosigner } from '@scitt-actions/transparency-service';
import { intOption } from '../numbers.ts';
import { UsageError, action } from '../run.ts';
import { writeEnvelope } from '../output.ts';

interface WitnessFlags {
  name: string;
  data: string;
  log?: string[];
  logsFile?: string;
  host: string;
  port: string;
  prefix: string;
  printKey?: boolean;
  json?: boolean;
}

function logKeys(o: WitnessFlags): string[] {
  const keys = [...(o.log ?? [])];
  if (o.logsFile) {
    try {
      keys.push(...readFileSync(o.logsFile, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
    } catch (e) {
      throw new ScittError('ERR_IO', `cannot read --logs-file ${o.logsFile}: ${(e as Error).message}`);
    }
  }
  return keys;
}

export function registerWitness(program: Command): void {
  program
    .command('witness')
    .description('run a transparency log witness (c2sp.org/tlog-witness): cosigns checkpoints only when consistent with the last one it cosigned')
    .requiredOption('--name <NAME>', 'the witness key name, a schema-less URL such as witness.example/w1')
    .option('--data <DIR>', 'state directory: the witness key and the latest checkpoint of each log', './scitt-witness')
    .option('--log <VKEY>', "a log to follow: its checkpoint note verifier key (<origin>+<key id>+<key>; the server's /checkpoint/key) (repeatable)", (v: string, acc: string[] = []) => [...acc, v])
    .option('--logs-file <FILE>', 'more log verifier keys, one per line')
    .option('--host <HOST>', 'address to listen on', '127.0.0.1')
    .option('--port <PORT>', 'port (0 picks a free one)', '0')
    .option('--prefix <PATH>', 'submission prefix: add-checkpoint is served at <PATH>/add-checkpoint', '')
    .option('--print-key', 'print the cosigner verifier key (creating the key if needed) and exit')
    .option('--json', 'print {url, verifierKey} (or {verifierKey}) as the JSON envelope, on one line')
    .action(
      action('operate', async (o: WitnessFlags) => {
        if (o.printKey) {
          const verifierKey = witnessCosigner(o.data, o.name).verifierKey;
          if (o.json) writeEnvelope({ ok: true, result: { verifierKey } }, { oneLine: true });
          else process.stdout.write(`${verifierKey}\n`);
          return;
        }
        const logs = logKeys(o);
        if (logs.length === 0) throw new UsageError('give at least one log to follow: --log <VKEY> or --logs-file FILE');
        const port = intOption('--port', o.port, { max: 65535 });
        if (o.prefix && !o.prefix.startsWith('/')) throw new UsageError(`--prefix must start with "/", got ${o.prefix}`);
        const w = await startWitness({ dataDir: o.data, name: o.name, logs, host: o.host, port, prefix: o.prefix, logLine: stderrLog });
        // the first stdout line is read as the witness starts: one line either way
        if (o.json) writeEnvelope({ ok: true, result: { url: w.url, verifierKey: w.verifierKey } }, { oneLine: true });
        else process.stdout.write(`${w.url}\n${w.verifierKey}\n`);
        stderrLog({ level: 'info', msg: 'witness started', url: w.url, key: w.verifierKey, logs: logs.map((k) => k.split('+')[0]) });
        const stop = (signal: string) => {
          stderrLog({ level: 'info', msg: `${signal}: shutting down` });
          w.close().then(
            () => process.exit(0),
            () => process.exit(2),
          );
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      }),
    );
}
