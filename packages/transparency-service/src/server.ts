/**
 * SCRAPI over HTTP (draft-ietf-scitt-scrapi; wire-format.md §7), plus the read endpoints auditors and
 * consumers need: the registered statement, the signed tree head and consistency proofs.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { registerKeyRoutes } from './key-routes.ts';
import { registerMetrics } from './metrics.ts';
import { registerWebView } from './web/routes.ts';
import type { LogService } from './store.ts';
import { HttpProblem, PROBLEM_MEDIA_TYPE, encodeProblem } from './problem.ts';
import { RateLimiter } from './rate-limit.ts';
import { parsePolicy } from './registration-policy.ts';

const COSE_MEDIA_TYPE = 'application/cose';
const STATEMENT_TYPES = ['application/cose', 'application/scitt-statement+cose'];

export interface ServerOptions {
  /** the SQLite log or the PostgreSQL one (store.ts): every read is awaited */
  log: LogService;
  /** bearer tokens allowed to register; empty means registration is open (and rate-limited) */
  tokens: readonly string[];
  /** bearer token for POST /policy; without one, the policy can only be set at start-up */
  adminToken?: string;
  /** where rotated keys are kept; without it, POST /admin/rotate-key is refused */
  dataDir?: string;
  /** largest request body in bytes */
  bodyLimit: number;
  /** registrations per second per client, and burst */
  rate: number;
  burst: number;
  /** how long POST /entries waits for its batch before answering 303 (ms) */
  syncWaitMs: number;
  /** emit a structured line on stderr */
  logLine: (fields: Record<string, unknown>) => void;
}

function tokenMatches(header: string | undefined, tokens: readonly string[]): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  let ok = false;
  // Compare against every token in constant time per token, without stopping early.
  for (const t of tokens) {
    const want = Buffer.from(t);
    if (want.length === given.length && timingSafeEqual(want, given)) ok = true;
  }
  return ok;
}

const sendProblem = (reply: FastifyReply, p: HttpProblem) => {
  if (p.retryAfter !== undefined) reply.header('Retry-After', String(p.retryAfter));
  return reply.code(p.status).type(PROBLEM_MEDIA_TYPE).send(Buffer.from(encodeProblem({ status: p.status, title: p.title, detail: p.message })));
};

export function buildServer(o: ServerOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: o.bodyLimit,
    // Slow-loris: a request must arrive whole within 10 s, checked every second (Node checks these
    // only every connectionsCheckingInterval, 30 s by default, which Fastify does not expose).
    serverFactory: (handler) => {
      const server = createServer({ requestTimeout: 10_000, headersTimeout: 10_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1_000 }, handler);
      server.setTimeout(30_000); // idle sockets
      return server;
    },
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200 },
    // Refusals made by the router itself (bad percent-encoding, a path parameter over
    // maxParamLength) are problem details too, not Fastify's default JSON (SCRAPI §2.1, RFC 9290).
    frameworkErrors: (err, _req, reply) => {
      const status = err.statusCode ?? 400;
      return sendProblem(reply, new HttpProblem(status, status === 414 ? 'URI Too Long' : 'Bad Request', err.message));
    },
  });
  const { log } = o;
  const limiter = new RateLimiter(o.rate, o.burst);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(STATEMENT_TYPES, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof HttpProblem) return sendProblem(reply, err);
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendProblem(reply, new HttpProblem(413, 'Payload Too Large', `request body exceeds ${o.bodyLimit} bytes`));
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || err.statusCode === 415) {
      return sendProblem(reply, new HttpProblem(415, 'Unsupported Media Type', `send the Signed Statement as ${STATEMENT_TYPES.join(' or ')}`));
    }
    if (err.statusCode && err.statusCode < 500) return sendProblem(reply, new HttpProblem(err.statusCode, 'Bad Request', err.message));
    o.logLine({ level: 'error', msg: 'internal error', error: err.message });
    return sendProblem(reply, new HttpProblem(500, 'Internal Server Error', 'the service failed to handle this request; nothing was registered'));
  });
  app.setNotFoundHandler((req, reply) => sendProblem(reply, new HttpProblem(404, 'Not Found', `no resource at ${req.method} ${req.url.split('?')[0]}`)));

  // /.well-known/scitt-keys[/{kid}] and POST /admin/rotate-key (key-routes.ts)
  registerKeyRoutes(app, { log, ...(o.dataDir ? { dataDir: o.dataDir } : {}), authorized: (req) => o.adminToken !== undefined && tokenMatches(req.headers.authorization, [o.adminToken]), logLine: o.logLine });
  // GET /metrics (metrics.ts)
  registerMetrics(app, log);
  // the read-only web view under /log (web/routes.ts), for the SQLite log in dataDir
  if (o.dataDir) registerWebView(app, { log, dataDir: o.dataDir });

  app.post('/entries', async (req: FastifyRequest, reply) => {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (!STATEMENT_TYPES.includes(type)) throw new HttpProblem(415, 'Unsupported Media Type', `send the Signed Statement as ${STATEMENT_TYPES.join(' or ')}, not ${type || 'no content type'}`);
    if (o.tokens.length > 0 && !tokenMatches(req.headers.authorization, o.tokens)) {
      reply.header('WWW-Authenticate', 'Bearer');
      throw new HttpProblem(401, 'Unauthorized', 'this service requires a bearer token to register (Authorization: Bearer …)');
    }
    const wait = limiter.take(req.ip);
    if (wait > 0) throw new HttpProblem(429, 'Too Many Requests', `rate limit reached for ${req.ip}; retry after ${wait} s`, wait);
    const body = req.body;
    if (!Buffer.isBuffer(body) || body.length === 0) throw new HttpProblem(400, 'Payload Missing', 'request body must be a Signed Statement (COSE_Sign1)');
    const { entryId, committed } = await log.register(new Uint8Array(body.buffer, body.byteOffset, body.length));
    if (o.syncWaitMs <= 0) {
      committed.catch(() => undefined); // the client polls; a failed batch shows there as 404
      return reply.code(303).header('Location', `/entries/${entryId}`).header('Retry-After', '1').send();
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((res) => (timer = setTimeout(res, o.syncWaitMs, 'timeout')));
    const result = await Promise.race([committed, timeout]).finally(() => clearTimeout(timer));
    if (result === 'timeout') {
      committed.catch(() => undefined); // the client polls; a failed batch shows there as 404
      return reply.code(303).header('Location', `/entries/${entryId}`).header('Retry-After', '1').send();
    }
    return reply.code(201).header('Location', `/entries/${result.entryId}`).type(COSE_MEDIA_TYPE).send(Buffer.from(result.receipt));
  });

  app.get<{ Params: { id: string } }>('/entries/:id', async (req, reply) => {
    const id = req.params.id.toLowerCase();
    const receipt = await log.receipt(id);
    if (receipt) return reply.code(200).header('Location', `/entries/${id}`).type(COSE_MEDIA_TYPE).send(Buffer.from(receipt));
    if (await log.isPending(id)) return reply.code(302).header('Location', `/entries/${id}`).header('Retry-After', '1').send();
    // acknowledged (303) but not committed: refused by a newer policy at commit, or its batch failed
    const refused = await log.refusal(id);
    if (refused) throw refused;
    throw new HttpProblem(404, 'Not Found', `no entry ${req.params.id} on this log (entry ids are the hex SHA-256 of the registered statement with an empty unprotected header)`);
  });

  app.get<{ Params: { id: string } }>('/entries/:id/statement', async (req, reply) => {
    const statement = await log.statement(req.params.id.toLowerCase());
    if (!statement) throw new HttpProblem(404, 'Not Found', `no entry ${req.params.id} on this log`);
    return reply.type(COSE_MEDIA_TYPE).send(Buffer.from(statement));
  });

  app.get('/tree-head', async (_req, reply) => {
    const head = await log.treeHead();
    if (!head) throw new HttpProblem(404, 'Not Found', 'the log is empty: no tree head has been signed yet');
    return reply.type(COSE_MEDIA_TYPE).send(Buffer.from(head));
  });

  app.get<{ Querystring: { from?: string; to?: string } }>('/consistency', async (req, reply) => {
    const from = Number(req.query.from);
    const to = req.query.to === undefined ? log.size() : Number(req.query.to);
    return reply.type(COSE_MEDIA_TYPE).send(Buffer.from(await log.consistency(from, to)));
  });

  app.get('/policy', (_req, reply) => {
    const { policy, leafIndex } = log.policy;
    return reply.type('application/json').send({ policy, leafIndex: leafIndex ?? null, default: leafIndex === undefined });
  });

  app.post('/policy', async (req, reply) => {
    if (!o.adminToken || !tokenMatches(req.headers.authorization, [o.adminToken])) {
      reply.header('WWW-Authenticate', 'Bearer');
      throw new HttpProblem(401, 'Unauthorized', o.adminToken ? 'setting the registration policy needs the admin bearer token' : 'this service was started without an admin token; set the policy with scitt serve --policy FILE');
    }
    if (typeof req.body !== 'string') throw new HttpProblem(415, 'Unsupported Media Type', 'send the policy as application/json');
    let policy;
    try {
      policy = parsePolicy(req.body);
    } catch (e) {
      throw new HttpProblem(400, 'Bad Request', (e as Error).message);
    }
    const r = await log.setPolicy(policy);
    o.logLine({ level: 'info', msg: 'registration policy set', leafIndex: r.leafIndex, entryId: r.entryId });
    return reply.code(201).header('Location', `/entries/${r.entryId}`).type('application/json').send({ entryId: r.entryId, leafIndex: r.leafIndex, policy });
  });

  app.get('/health', (_req, reply) => reply.send({ ok: true, treeSize: log.size(), queue: log.queueLength }));
  return app;
}
