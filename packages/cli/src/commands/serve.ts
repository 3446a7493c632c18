import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ScittError } from '@scitt-actions/core';
import { DEFAULT_BURST, DEFAULT_RATE, DEFAULT_THREADS, parsePolicy, parseStore, startTransparencyService, stderrLog } from '@scitt-actions/transparency-service';
import { intOption } from '../numbers.ts';
import { UsageError, action } from '../run.ts';
import { writeEnvelope } from '../output.ts';
import { rotateKeyAt } from './serve-admin.ts';

interface ServeOptions {
  host: string;
  port: string;
  data: string;
  store?: string;
  iss?: string;
  policy?: string;
  json?: boolean;
  tokensFile?: string;
  adminTokenFile?: string;
  rate: string;
  burst: string;
  bodyLimit: string;
  syncWait: string;
  threads: string;
  origin?: string;
  tilesDir?: string;
  witness?: string[];
  rotateKey?: string;
}

/** A file the operator named, or a clear ERR_IO (exit 2) saying which and why. */
function readSecretText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ScittError('ERR_IO', `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}; write one with scitt policy init`);
  }
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
    .option('--store <STORE>', 'where the log is kept: sqlite (default, in --data) or postgres://user@host:port/db, shared by replicas (each with the same service-key.pem in --data)')
    .option('--iss <URI>', 'issuer of receipts (default: the URL it listens on)')
    .option('--policy <FILE>', 'registration policy JSON to apply at start (registered on the log); write one with scitt policy init')
    .option('--json', 'print the URL as a one-line JSON envelope {"ok":true,"command":"serve","result":{"url":…}}')
    .option('--tokens-file <FILE>', 'bearer tokens allowed to register, one per line (or SCITT_TS_TOKENS, comma-separated)')
    .option('--admin-token-file <FILE>', 'bearer token for POST /policy and POST /admin/rotate-key (or SCITT_TS_ADMIN_TOKEN)')
    .option('--rate <N>', 'registrations per second per client address (0: unlimited; behind a proxy, one budget for all)', String(DEFAULT_RATE))
    .option('--burst <N>', 'registrations a client may make at once before --rate applies', String(DEFAULT_BURST))
    .option('--body-limit <BYTES>', 'largest request body', String(2 * 1024 * 1024))
    .option('--threads <N>', 'worker threads, started at the 200th registration: the first commits batches, the others check statement signatures (0: all on the event loop)', String(DEFAULT_THREADS))
    .option('--sync-wait <MS>', 'how long POST /entries waits for its batch before answering 303 (poll /entries/{id})', '5000')
    .option('--origin <ORIGIN>', 'C2SP checkpoint origin and note key name (default: the issuer without its scheme)')
    .option('--tiles-dir <DIR>', 'also write the checkpoint, tiles and entry bundles here (c2sp.org/tlog-tiles) for a static host')
    .option('--rotate-key <URL>', 'do not serve: ask the service running at URL to rotate its signing key (needs the admin token), print the new kid and exit')
    .option('--witness <URL=VKEY>', 'a witness to collect cosignatures from: its add-checkpoint prefix, "=", its verifier key (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
    .action(
      action('operate', async (o: ServeOptions) => {
        const port = intOption('--port', o.port, { max: 65535 });
        const rate = intOption('--rate', o.rate, { unit: 'registrations per second per client; 0 for unlimited' });
        const burst = intOption('--burst', o.burst, { min: 1 });
        const bodyLimit = intOption('--body-limit', o.bodyLimit, { min: 1024, max: 1024 ** 3, unit: 'bytes' });
        const syncWaitMs = intOption('--sync-wait', o.syncWait, { max: 600_000, unit: 'milliseconds' });
        const threads = intOption('--threads', o.threads, { max: 64, unit: 'worker threads' });
        try {
          parseStore(o.store);
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
        const tokens = o.tokensFile ? readSecretLines(o.tokensFile, 'tokens file') : (process.env.SCITT_TS_TOKENS ?? '').split(',').filter(Boolean);
        const adminToken = o.adminTokenFile ? readSecretLines(o.adminTokenFile, 'admin token file')[0] : process.env.SCITT_TS_ADMIN_TOKEN;
        if (o.rotateKey !== undefined) {
          if (!adminToken) throw new UsageError('--rotate-key needs the admin token: --admin-token-file FILE or SCITT_TS_ADMIN_TOKEN');
          const r = await rotateKeyAt(o.rotateKey, adminToken);
          if (o.json) writeEnvelope({ ok: true, result: r }, { oneLine: true });
          else process.stdout.write(`rotated: kid ${r.kid} (was ${r.previousKid}); announced at leaf ${r.announcement.leafIndex}, entry ${r.announcement.entryId}\n`);
          return;
        }
        const policy = o.policy ? parsePolicy(readSecretText(o.policy, 'policy')) : undefined;
        const service = await startTransparencyService({
          dataDir: o.data,
          ...(o.store ? { store: o.store } : {}),
          host: o.host,
          port,
          ...(o.iss ? { iss: o.iss } : {}),
          ...(policy ? { policy } : {}),
          tokens,
          ...(adminToken ? { adminToken } : {}),
          rate,
          burst,
          bodyLimit,
          syncWaitMs,
          threads,
          ...(o.origin ? { origin: o.origin } : {}),
          ...(o.tilesDir ? { tilesDir: o.tilesDir } : {}),
          ...(o.witness ? { witnesses: o.witness.map(parseWitnessOption) } : {}),
        });
        if (o.json) writeEnvelope({ ok: true, result: { url: service.url } }, { oneLine: true });
        else process.stdout.write(`${service.url}\n`);
        // Every registration acknowledged (201, or 303 before its batch committed) is committed before
        // exit: close() drains the queue. A second signal while draining is logged, not obeyed.
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) return stderrLog({ level: 'info', msg: `${signal}: already shutting down, committing ${service.log.queueLength} queued registrations` });
          stopping = true;
          stderrLog({ level: 'info', msg: `${signal}: shutting down`, treeSize: service.log.size(), queue: service.log.queueLength });
          service.close().then(
            () => process.exit(0),
            (e: unknown) => {
              stderrLog({ level: 'error', msg: 'shutdown failed', error: (e as Error).message });
              process.exit(2);
            },
          );
        };
        process.on('SIGTERM', () => stop('SIGTERM'));
        process.on('SIGINT', () => stop('SIGINT'));
      }),
    );
}

/** `--witness URL=VKEY`: split at the first "=" (a verifier key's base64 may end in "="). */
function parseWitnessOption(v: string): { url: string; key: string } {
  const at = v.indexOf('=');
  if (at <= 0) throw new ScittError('ERR_USAGE', `--witness takes URL=VKEY (the witness's add-checkpoint prefix and its verifier key), got ${JSON.stringify(v)}`);
  return { url: v.slice(0, at), key: v.slice(at + 1) };
}
