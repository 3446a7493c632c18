/**
 * `scitt serve --store postgres://…`: one replica of the service on a shared PostgreSQL log. The same
 * SCRAPI routes as the embedded service (server.ts); the C2SP checkpoints and tiles read the SQLite
 * file directly, so on this store they answer 501 with what to do instead, until the store covers them.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { RunningService, ServiceOptions } from '../index.ts';
import { HttpProblem } from '../problem.ts';
import { describePolicy } from '../registration-policy.ts';
import { buildServer } from '../server.ts';
import { PostgresLog } from './postgres-log.ts';

const NOT_YET = 'C2SP checkpoints and tiles are served by the SQLite store only so far; on the PostgreSQL store use GET /tree-head, /consistency and receipts (SCRAPI)';

function refuseTiles(app: FastifyInstance): void {
  const refuse = () => {
    throw new HttpProblem(501, 'Not Implemented', NOT_YET);
  };
  app.get('/checkpoint', refuse);
  app.get('/checkpoint/key', refuse);
  app.get('/tile/*', refuse);
}

export async function startPostgresService(
  o: ServiceOptions & { logLine: (f: Record<string, unknown>) => void; rate: number; burst: number; bodyLimit: number },
  url: string,
): Promise<RunningService> {
  if (o.tilesDir || (o.witnesses && o.witnesses.length > 0)) throw new Error(`--tiles-dir and --witness need the SQLite store: ${NOT_YET}`);
  const log = await PostgresLog.open({ url, dataDir: o.dataDir, iss: o.iss ?? '', ...(o.maxBatch ? { maxBatch: o.maxBatch } : {}), logLine: o.logLine });
  let app: FastifyInstance | undefined;
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
    refuseTiles(app);
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
  });
  const server = app;
  return {
    url: serviceUrl,
    log,
    noteKey: '',
    async close() {
      await server.close();
      await log.drain();
      await log.close();
    },
  };
}
