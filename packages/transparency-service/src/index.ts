/**
 * The embedded Transparency Service: `startTransparencyService()` opens (or creates) the data
 * directory, applies the registration policy, and serves SCRAPI on host:port.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { loadServiceKeys } from './key-rotation.ts';
import { TransparencyLog } from './log.ts';
import { buildServer } from './server.ts';
import { type LogService, parseStore } from './store.ts';
import { startPostgresService } from './store/postgres-service.ts';
import { attachTransparency } from './transparency.ts';
import type { WitnessConfig } from './witness-client.ts';
import { type RegistrationPolicy, describePolicy } from './registration-policy.ts';

export { TransparencyLog } from './log.ts';
export { parseStore, type LogService, type StoreKind } from './store.ts';
export { PostgresLog } from './store/postgres-log.ts';
export { CheckpointPublisher } from './checkpoints.ts';
export type { WitnessConfig } from './witness-client.ts';
export { startWitness, witnessCosigner, type RunningWitness, type WitnessOptions } from './witness.ts';
export { parsePolicy, describePolicy, type RegistrationPolicy, DEFAULT_POLICY, POLICY_SUBJECT } from './registration-policy.ts';
export { encodeProblem, PROBLEM_MEDIA_TYPE, HttpProblem } from './problem.ts';

/**
 * Registrations per second per client address, and burst, unless set: a CI fleet behind one NAT
 * registering a few statements per job stays far below; a flood from one address does not.
 */
export const DEFAULT_RATE = 20;
export const DEFAULT_BURST = 200;

/**
 * Worker threads unless set: one per core beside the event loop's, at least one, at most five. The
 * first commits batches; the others check statements (on 2 cores: the commit thread alone, since
 * handing each statement to a thread costs about what verifying it on the event loop does).
 */
export const DEFAULT_THREADS = Math.max(1, Math.min(5, availableParallelism() - 1));

export interface ServiceOptions {
  dataDir: string;
  /** "sqlite" (default: log.sqlite in dataDir) or a postgres:// URL shared by replicas (store.ts) */
  store?: string;
  host?: string;
  port?: number;
  /** iss of receipts; defaults to the URL the service listens on */
  iss?: string;
  /** applied at start when it differs from the policy in force */
  policy?: RegistrationPolicy;
  tokens?: readonly string[];
  adminToken?: string;
  bodyLimit?: number;
  /** registrations per second per client (0: unlimited); default DEFAULT_RATE */
  rate?: number;
  burst?: number;
  syncWaitMs?: number;
  maxBatch?: number;
  /** worker threads: the commit thread, then statement checkers; 0: everything on the event loop (default: DEFAULT_THREADS) */
  threads?: number;
  /** C2SP checkpoint origin (default: the issuer without its scheme) */
  origin?: string;
  /** also write checkpoints, tiles and entry bundles here (c2sp.org/tlog-tiles), for a static host */
  tilesDir?: string;
  /** witnesses whose cosignatures the service collects on its checkpoints (c2sp.org/tlog-witness) */
  witnesses?: readonly WitnessConfig[];
  logLine?: (fields: Record<string, unknown>) => void;
}

export interface RunningService {
  url: string;
  log: LogService;
  /** the C2SP note verifier key of the log's checkpoints */
  noteKey: string;
  close(): Promise<void>;
}

export const stderrLog = (fields: Record<string, unknown>) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);

export async function startTransparencyService(o: ServiceOptions): Promise<RunningService> {
  const logLine = o.logLine ?? stderrLog;
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const host = o.host ?? '127.0.0.1';
  const port = o.port ?? 0;
  const bodyLimit = o.bodyLimit ?? 2 * 1024 * 1024;
  const store = parseStore(o.store);
  if (store.kind === 'postgres') return startPostgresService({ ...o, logLine, bodyLimit, rate: o.rate ?? DEFAULT_RATE, burst: o.burst ?? DEFAULT_BURST }, store.url);
  // The key is loaded (or, for an empty log only, created) once the log's size and head are known.
  let keyCreated = false;
  const threads = o.threads ?? DEFAULT_THREADS;
  const log = new TransparencyLog({
    dataDir: o.dataDir,
    serviceKey: (identity) => {
      const k = loadServiceKeys(o.dataDir, identity);
      keyCreated = k.created;
      return { current: k.current, all: k.all };
    },
    iss: o.iss ?? '',
    ...(o.maxBatch ? { maxBatch: o.maxBatch } : {}),
    // SCITT_TS_THREADS_AFTER: registrations before the threads start (crash tests use 1, to kill the commit thread mid-batch)
    threads: { verify: Math.max(0, threads - 1), commit: threads > 0, ...(process.env.SCITT_TS_THREADS_AFTER ? { after: Number(process.env.SCITT_TS_THREADS_AFTER) } : {}) },
  });
  const { serviceKey } = log;
  const rate = o.rate ?? DEFAULT_RATE;
  const burst = o.burst ?? DEFAULT_BURST;
  const app = buildServer({
    log,
    tokens: o.tokens ?? [],
    ...(o.adminToken ? { adminToken: o.adminToken } : {}),
    dataDir: o.dataDir,
    bodyLimit,
    rate,
    burst,
    syncWaitMs: o.syncWaitMs ?? 5_000,
    logLine,
  });
  const transparency = attachTransparency(app, { dataDir: o.dataDir, ...(o.origin ? { origin: o.origin } : {}), ...(o.tilesDir ? { tilesDir: o.tilesDir } : {}), ...(o.witnesses ? { witnesses: o.witnesses } : {}), logLine });
  await app.listen({ host, port });
  const address = app.server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  // The default iss is the URL, known only once bound; set before any request is handled.
  if (!o.iss) log.iss = url;
  transparency.start(log.iss);
  if (o.policy && JSON.stringify(o.policy) !== JSON.stringify(log.policy.policy)) await log.setPolicy(o.policy);
  logLine({
    level: 'info',
    msg: 'transparency service started',
    url,
    kid: Buffer.from(serviceKey.kid).toString('hex'),
    keyCreated,
    treeSize: log.size(),
    policy: describePolicy(log.policy.policy),
    policyEntry: log.policy.leafIndex ?? 'default',
    rateLimit: rate > 0 ? { perSecond: rate, burst } : 'off',
    threads: { verify: log.threads.verify, commit: log.threads.commit },
    noteKey: transparency.publisher.verifierKey,
  });
  return {
    url,
    log,
    noteKey: transparency.publisher.verifierKey,
    async close() {
      // Stop taking requests and let those in flight finish, then commit everything acknowledged
      // (a 303 answered before its batch committed) before the database closes.
      await app.close();
      await log.drain();
      await transparency.close();
      log.close();
    },
  };
}
