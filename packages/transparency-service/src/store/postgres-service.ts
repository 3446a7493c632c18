/**
 * `scitt serve --store postgres://…`: one replica of the service on a shared PostgreSQL log. The same
 * SCRAPI routes as the embedded service (server.ts), and the same C2SP checkpoints and tiles
 * (transparency.ts) published from the replica's followed tree, and the same web view (web/routes.ts). Every replica signs checkpoints with
 * the same note key: note-key.ed25519 when provisioned in the data directory, else derived from the
 * shared service key (HKDF-SHA256, its own label), so there is nothing more to provision.
 */
import { hkdfSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { CoseKey } from '@scitt-actions/core';
import type { RunningService, ServiceOptions } from '../index.ts';
import { NOTE_KEY_FILE, loadOrCreateNoteKeySeed } from '../note-key.ts';
import { type Transparency, attachTransparency } from '../transparency.ts';
import { describePolicy } from '../registration-policy.ts';
import { buildServer } from '../server.ts';
import { registerWebView } from '../web/routes.ts';
import { PostgresLog } from './postgres-log.ts';


/** The checkpoint note key every replica shares: provisioned, or derived from the shared service key. */
function noteSeedOf(dataDir: string, key: CoseKey): Uint8Array {
  if (existsSync(join(dataDir, NOTE_KEY_FILE))) return loadOrCreateNoteKeySeed(dataDir);
  if (!key.d) throw new Error('the service key has no private part');
  return new Uint8Array(hkdfSync('sha256', key.d, new Uint8Array(0), 'scitt-actions: C2SP note key of a PostgreSQL-backed log', 32));
}

export async function startPostgresService(
  o: ServiceOptions & { logLine: (f: Record<string, unknown>) => void; rate: number; burst: number; bodyLimit: number },
  url: string,
): Promise<RunningService> {
  if (o.tilesDir || (o.witnesses && o.witnesses.length > 0)) throw new Error('--tiles-dir and --witness need the SQLite store so far; on the PostgreSQL store every replica serves /checkpoint and /tile/* itself (a static host can mirror them from any replica)');
  const log = await PostgresLog.open({ url, dataDir: o.dataDir, iss: o.iss ?? '', ...(o.maxBatch ? { maxBatch: o.maxBatch } : {}), logLine: o.logLine });
  let app: FastifyInstance | undefined;
  let transparency: Transparency | undefined;
  try {
    app = buildServer({
      log,
      tokens: o.tokens ?? [],
      ...(o.adminToken ? { adminToken: o.adminToken } : {}),
      bodyLimit: o.bodyLimit,
      rate: o.rate,
      burst: o.burst,
      syncWaitMs: o.syncWaitMs ?? 5_000,
      logLine: o.logLine,
    });
    registerWebView(app, { log, dataDir: o.dataDir, source: log.indexSource() });
    transparency = attachTransparency(app, { dataDir: o.dataDir, tree: log.committedTree(), noteSeed: noteSeedOf(o.dataDir, log.serviceKey.key), ...(o.origin ? { origin: o.origin } : {}), logLine: o.logLine });
    await app.listen({ host: o.host ?? '127.0.0.1', port: o.port ?? 0 });
  } catch (e) {
    await app?.close().catch(() => undefined);
    await log.close();
    throw e;
  }
  const address = app.server.address() as AddressInfo;
  const serviceUrl = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  // Replicas behind one name must share one iss: set --iss; the URL is only a default for one replica.
  if (!o.iss) log.iss = serviceUrl;
  const published = transparency!;
  published.start(log.iss);
  if (o.policy && JSON.stringify(o.policy) !== JSON.stringify(log.policy.policy)) await log.setPolicy(o.policy);
  o.logLine({
    level: 'info',
    msg: 'transparency service started',
    url: serviceUrl,
    store: 'postgres',
    kid: Buffer.from(log.serviceKey.kid).toString('hex'),
    treeSize: log.size(),
    policy: describePolicy(log.policy.policy),
    policyEntry: log.policy.leafIndex ?? 'default',
    rateLimit: o.rate > 0 ? { perSecond: o.rate, burst: o.burst } : 'off',
    noteKey: published.publisher.verifierKey,
  });
  const server = app;
  return {
    url: serviceUrl,
    log,
    noteKey: published.publisher.verifierKey,
    async close() {
      await server.close();
      await published.close();
      await log.drain();
      await log.close();
    },
  };
}
