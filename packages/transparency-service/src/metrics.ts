/**
 * Prometheus metrics at GET /metrics (text exposition format, via prom-client): registrations by
 * HTTP status, batch sizes, commit latency, queue depth and tree size. One registry per server, so
 * several services in one process (tests) do not share counters.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LogService } from './store.ts';

/** The registry, and the count of one POST /entries answer (for the fast path beside Fastify, server.ts). */
export function registerMetrics(app: FastifyInstance, log: LogService): { registry: Registry; countRegistration: (status: number) => void } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'scitt_ts_process_' });
  const registrations = new Counter({
    name: 'scitt_ts_registrations_total',
    help: 'POST /entries answers by HTTP status (201 registered, 303 accepted and pending, 4xx refused, 429 rate-limited, 503 overloaded)',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: 'scitt_ts_batch_size',
    help: 'registrations per committed batch (one SQLite transaction, one fsync)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096],
    registers: [registry],
  });
  const commitSeconds = new Histogram({
    name: 'scitt_ts_commit_duration_seconds',
    help: 'time from the start of a batch to its durable COMMIT (policy re-check, Merkle append, signatures, fsync)',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  new Gauge({ name: 'scitt_ts_queue_depth', help: 'registrations waiting for a batch', registers: [registry], collect() { this.set(log.queueLength); } });
  new Gauge({ name: 'scitt_ts_tree_size', help: 'leaves on the log (committed)', registers: [registry], collect() { this.set(log.size()); } });
  new Gauge({ name: 'scitt_ts_service_keys', help: 'keys that signed this log (1 + rotations)', registers: [registry], collect() { this.set(log.keys.length); } });

  const previous = log.onBatch;
  log.onBatch = (size, seconds) => {
    previous?.(size, seconds);
    batchSize.observe(size);
    commitSeconds.observe(seconds);
  };
  app.addHook('onResponse', (req, reply, done) => {
    if (req.method === 'POST' && req.routeOptions.url === '/entries') registrations.inc({ status: String(reply.statusCode) });
    done();
  });
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  return { registry, countRegistration: (status) => registrations.inc({ status: String(status) }) };
}
