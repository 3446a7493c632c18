/**
 * The service's keys over HTTP: /.well-known/scitt-keys (a COSE_KeySet of every key that signed the
 * log, all valid for its receipts), /.well-known/scitt-keys/{kid} (one COSE_Key; kid in base64url,
 * draft-ietf-scitt-scrapi-11 §2.1.1; hex is accepted too), and POST /admin/rotate-key (admin token).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { encodeCoseKey, encodeKeySet, publicKey } from '@scitt-actions/core/cose';
import { createRotationKey } from './key-rotation.ts';
import type { LogService } from './store.ts';
import { HttpProblem } from './problem.ts';

export interface KeyRoutesOptions {
  log: LogService;
  dataDir?: string;
  authorized: (req: FastifyRequest) => boolean;
  logLine: (fields: Record<string, unknown>) => void;
}

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export function registerKeyRoutes(app: FastifyInstance, o: KeyRoutesOptions): void {
  const { log } = o;
  app.get('/.well-known/scitt-keys', (_req, reply) =>
    reply
      .type('application/cbor')
      .header('Cache-Control', 'no-cache')
      .send(Buffer.from(encodeKeySet(log.keys.map((k) => ({ ...publicKey(k.key), kid: k.kid }))))),
  );
  app.get<{ Params: { kid: string } }>('/.well-known/scitt-keys/:kid', (req, reply) => {
    const want = req.params.kid;
    const key = log.keys.find((k) => b64u(k.kid) === want || hex(k.kid) === want.toLowerCase());
    if (!key) throw new HttpProblem(404, 'No such key', `this service has no key with kid ${want} (kids are base64url, as receipts' protected kid (4) bytes); GET /.well-known/scitt-keys lists every key`);
    return reply.type('application/cbor').send(Buffer.from(encodeCoseKey({ ...publicKey(key.key), kid: key.kid })));
  });
  app.post('/admin/rotate-key', async (req, reply) => {
    // answered with WWW-Authenticate: Bearer, as every 401 (server.ts problemAnswer)
    if (!o.authorized(req)) throw new HttpProblem(401, 'Unauthorized', 'rotating the service key needs the admin bearer token (scitt serve --admin-token)');
    if (!o.dataDir) throw new HttpProblem(501, 'Not Implemented', 'this server was built without its data directory: it cannot store a new key');
    const previous = log.serviceKey.kid;
    const target = createRotationKey(o.dataDir);
    const r = await log.rotateKey(target);
    const body = { kid: b64u(target.key.kid), previousKid: b64u(previous), announcement: { entryId: r.entryId, leafIndex: r.leafIndex } };
    o.logLine({ level: 'info', msg: 'service key rotated', kid: hex(target.key.kid), previousKid: hex(previous), leafIndex: r.leafIndex });
    return reply.code(201).header('Location', `/.well-known/scitt-keys/${body.kid}`).type('application/json').send(body);
  });
}
