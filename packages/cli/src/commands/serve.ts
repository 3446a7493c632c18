import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ScittError } from '@scitt-actions/core';
import { parsePolicy, startTransparencyService, stderrLog } from '@scitt-actions/transparency-service';
import { UsageError, action } from '../run.ts';

interface ServeOptions {
  host: string;
  port: string;
  data: string;
  iss?: string;
  policy?: string;
  tokensFile?: string;
  adminTokenFile?: string;
  rate: string;
  bodyLimit: string;
  syncWait: string;
  origin?: string;
  tilesDir?: string;
  witness?: string[];
}

function readSecretLines(path: string, what: string): string[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
  } catch (e) {
    throw new ScittError('ERR_IO', `cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the embedded Transparency Service (SCRAPI over HTTP); the first line on stdout is its URL')
    .option('--host <HOST>', 'address to listen on', '127.0.0.1')
    .option('--port <PORT>', 'port (0 picks a free one)', '0')
    .option('--data <DIR>', 'data directory: the log database and the service key', './scitt-data')
    .option('--iss <URI>', 'issuer of receipts (default: the URL it listens on)')
    .option('--policy <FILE>', 'registration policy JSON to apply at start (registered on the log)')
    .option('--tokens-file <FILE>', 'bearer tokens allowed to register, one per line (or SCITT_TS_TOKENS, comma-separated)')
    .option('--admin-token-file <FILE>', 'bearer token for POST /policy (or SCITT_TS_ADMIN_TOKEN)')
    .option('--rate <N>', 'registrations per second per client (0: unlimited)', '0')
    .option('--body-limit <BYTES>', 'largest request body', String(2 * 1024 * 1024))
    .option('--sync-wait <MS>', 'how long POST /entries waits for its batch before answering 303 (poll /entries/{id})', '5000')
    .option('--origin <ORIGIN>', 'C2SP checkpoint origin and note key name (default: the issuer without its scheme)')
    .option('--tiles-dir <DIR>', 'also write the checkpoint, tiles and entry bundles here (c2sp.org/tlog-tiles) for a static host')
    .option('--witness <URL=VKEY>', 'a witness to collect cosignatures from: its add-checkpoint prefix, "=", its verifier key (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
    .action(
      action('operate', async (o: ServeOptions) => {
        const port = Number(o.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0..65535, got ${o.port}`);
        const tokens = o.tokensFile ? readSecretLines(o.tokensFile, 'tokens file') : (process.env.SCITT_TS_TOKENS ?? '').split(',').filter(Boolean);
        const adminToken = o.adminTokenFile ? readSecretLines(o.adminTokenFile, 'admin token file')[0] : process.env.SCITT_TS_ADMIN_TOKEN;
        const policy = o.policy ? parsePolicy(readFileSync(o.policy, 'utf8')) : undefined;
        const service = await startTransparencyService({
          dataDir: o.data,
          host: o.host,
          port,
          ...(o.iss ? { iss: o.iss } : {}),
          ...(policy ? { policy } : {}),
          tokens,
          ...(adminToken ? { adminToken } : {}),
          rate: Number(o.rate),
          bodyLimit: Number(o.bodyLimit),
          syncWaitMs: Number(o.syncWait),
          ...(o.origin ? { origin: o.origin } : {}),
          ...(o.tilesDir ? { tilesDir: o.tilesDir } : {}),
          ...(o.witness ? { witnesses: o.witness.map(parseWitnessOption) } : {}),
        });
        process.stdout.write(`${service.url}\n`);
        const stop = (signal: string) => {
          stderrLog({ level: 'info', msg: `${signal}: shutting down`, treeSize: service.log.size() });
          service.close().then(
            () => process.exit(0),
            () => process.exit(2),
          );
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      }),
    );
}

/** `--witness URL=VKEY`: split at the first "=" (a verifier key's base64 may end in "="). */
function parseWitnessOption(v: string): { url: string; key: string } {
  const at = v.indexOf('=');
  if (at <= 0) throw new ScittError('ERR_USAGE', `--witness takes URL=VKEY (the witness's add-checkpoint prefix and its verifier key), got ${JSON.stringify(v)}`);
  return { url: v.slice(0, at), key: v.slice(at + 1) };
}
