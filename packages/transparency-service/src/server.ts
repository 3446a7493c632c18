/**
 * SCRAPI over HTTP (draft-ietf-scitt-scrapi; wire-format.md §7), plus the read endpoints auditors and
 * consumers need: the registered statement, the signed tree head and consistency proofs.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
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

/** An answer, written by Fastify or by the POST /entries fast path alike. */
interface Answer {
  status: number;
  headers: Record<string, string>;
  body?: Uint8Array;
}

/** A problem details answer (RFC 9290); a 401 names its scheme (RFC 6750 §3). */
const problemAnswer = (p: HttpProblem): Answer => ({
  status: p.status,
  headers: {
    ...(p.status === 401 ? { 'www-authenticate': 'Bearer' } : {}),
    'content-type': PROBLEM_MEDIA_TYPE,
    ...(p.retryAfter !== undefined ? { 'retry-after': String(p.retryAfter) } : {}),
  },
  body: encodeProblem({ status: p.status, title: p.title, detail: p.message }),
});

const sendAnswer = (reply: FastifyReply, a: Answer) => {
  reply.code(a.status).headers(a.headers);
  return a.body ? reply.send(Buffer.from(a.body)) : reply.send();
};
const sendProblem = (reply: FastifyReply, p: HttpProblem) => sendAnswer(reply, problemAnswer(p));

const unsupportedType = (type: string) => new HttpProblem(415, 'Unsupported Media Type', `send the Signed Statement as ${STATEMENT_TYPES.join(' or ')}, not ${type || 'no content type'}`);
const mediaType = (header: string | undefined) => (header ?? '').split(';')[0]!.trim().toLowerCase();

export function buildServer(o: ServerOptions): FastifyInstance {
  // POST /entries, the one hot route, is answered by plain node:http (fastEntries below) with the same
  // checks, order and answers as the Fastify route, which still serves /entries?query: Fastify's
  // routing, hooks and reply object cost more CPU per registration than verifying its signature.
  const app = Fastify({
    logger: false,
    bodyLimit: o.bodyLimit,
    // Slow-loris: a request must arrive whole within 10 s, checked every second (Node checks these
    // only every connectionsCheckingInterval, 30 s by default, which Fastify does not expose).
    serverFactory: (handler) => {
      const server = createServer({ requestTimeout: 10_000, headersTimeout: 10_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1_000 }, (req, res) => {
        if (req.method === 'POST' && req.url === '/entries') fastEntries(req, res);
        else handler(req, res);
      });
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

  const tooLarge = () => new HttpProblem(413, 'Payload Too Large', `request body exceeds ${o.bodyLimit} bytes`);
  /** The answer to an error: a problem as it is; anything else is logged and answered 500. */
  const failure = (e: unknown): Answer => {
    if (e instanceof HttpProblem) return problemAnswer(e);
    o.logLine({ level: 'error', msg: 'internal error', error: (e as Error).message });
    return problemAnswer(new HttpProblem(500, 'Internal Server Error', 'the service failed to handle this request; nothing was registered'));
  };
  /** Fastify's own refusals as problems; undefined for anything else. */
  const fastifyProblem = (err: Error & { statusCode?: number; code?: string }): HttpProblem | undefined => {
    if (err instanceof HttpProblem) return err;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return tooLarge();
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || err.statusCode === 415) return new HttpProblem(415, 'Unsupported Media Type', `send the Signed Statement as ${STATEMENT_TYPES.join(' or ')}`);
    if (err.statusCode && err.statusCode < 500) return new HttpProblem(err.statusCode, 'Bad Request', err.message);
    return undefined;
  };
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => sendAnswer(reply, failure(fastifyProblem(err) ?? err)));
  app.setNotFoundHandler((req, reply) => sendProblem(reply, new HttpProblem(404, 'Not Found', `no resource at ${req.method} ${req.url.split('?')[0]}`)));

  // /.well-known/scitt-keys[/{kid}] and POST /admin/rotate-key (key-routes.ts)
  registerKeyRoutes(app, { log, ...(o.dataDir ? { dataDir: o.dataDir } : {}), authorized: (req) => o.adminToken !== undefined && tokenMatches(req.headers.authorization, [o.adminToken]), logLine: o.logLine });
  // GET /metrics (metrics.ts)
  const { countRegistration } = registerMetrics(app, log);
  // the read-only web view under /log (web/routes.ts), for the SQLite log in dataDir
  if (o.dataDir) registerWebView(app, { log, dataDir: o.dataDir });

  /** After the body is read: the route's checks in Fastify's order (type, token, rate), then the log. */
  const registration = async (headers: IncomingMessage['headers'], ip: string, body: unknown): Promise<Answer> => {
    const type = mediaType(headers['content-type']);
    if (!STATEMENT_TYPES.includes(type)) throw unsupportedType(type);
    if (o.tokens.length > 0 && !tokenMatches(headers.authorization, o.tokens)) {
      throw new HttpProblem(401, 'Unauthorized', 'this service requires a bearer token to register (Authorization: Bearer …)');
    }
    const wait = limiter.take(ip);
    if (wait > 0) throw new HttpProblem(429, 'Too Many Requests', `rate limit reached for ${ip}; retry after ${wait} s`, wait);
    if (!Buffer.isBuffer(body) || body.length === 0) throw new HttpProblem(400, 'Payload Missing', 'request body must be a Signed Statement (COSE_Sign1)');
    const { entryId, committed } = await log.register(new Uint8Array(body.buffer, body.byteOffset, body.length));
    const pending: Answer = { status: 303, headers: { location: `/entries/${entryId}`, 'retry-after': '1' } };
    if (o.syncWaitMs <= 0) {
      committed.catch(() => undefined); // the client polls; a failed batch shows there as 404
      return pending;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((res) => (timer = setTimeout(res, o.syncWaitMs, 'timeout')));
    const result = await Promise.race([committed, timeout]).finally(() => clearTimeout(timer));
    if (result === 'timeout') {
      committed.catch(() => undefined); // the client polls; a failed batch shows there as 404
      return pending;
    }
    return { status: 201, headers: { location: `/entries/${result.entryId}`, 'content-type': COSE_MEDIA_TYPE }, body: result.receipt };
  };
  app.post('/entries', async (req: FastifyRequest, reply) => sendAnswer(reply, await registration(req.headers, req.ip, req.body).catch(failure)));

  // The fast path: Fastify's body limit (413 on a declared or streamed excess), content-type check
  // before reading (415), 503 once closing (return503OnClosing), metrics; then registration() as above.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  const write = (req: IncomingMessage, res: ServerResponse, a: Answer, close = false) => {
    countRegistration(a.status);
    const body = a.body ? Buffer.from(a.body.buffer, a.body.byteOffset, a.body.length) : undefined;
    res.writeHead(a.status, { ...a.headers, 'content-length': String(body?.length ?? 0), ...(close ? { connection: 'close' } : {}) });
    res.end(body);
    // a body left unread (refused before or while reading it) cannot stay on a kept-alive connection
    if (close) res.once('finish', () => req.destroy());
  };
  const fastEntries = (req: IncomingMessage, res: ServerResponse) => {
    if (closing) return write(req, res, problemAnswer(new HttpProblem(503, 'Service Unavailable', 'the service is shutting down; retry shortly', 5)), true);
    const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
    if (declared !== undefined && declared > o.bodyLimit) return write(req, res, problemAnswer(tooLarge()), true);
    // A body of another type is read (within the limit) and dropped, so the client sees the 415, not a reset.
    const type = mediaType(req.headers['content-type']);
    const wanted = STATEMENT_TYPES.includes(type);
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (c: Buffer) => {
      if (refused) return;
      size += c.length;
      if (size > o.bodyLimit) {
        refused = true;
        chunks.length = 0;
        return write(req, res, problemAnswer(tooLarge()), true);
      }
      if (wanted) chunks.push(c);
    });
    req.on('error', () => req.destroy());
    req.on('end', () => {
      if (refused) return;
      if (!wanted) return write(req, res, problemAnswer(unsupportedType(type)));
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      registration(req.headers, req.socket.remoteAddress ?? '', size > 0 ? body : undefined).then(
        (a) => write(req, res, a),
        (e: unknown) => write(req, res, failure(e)),
      );
    });
  };


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
