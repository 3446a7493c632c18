/**
 * HTTP for the C2SP-published log: `GET /checkpoint` (text/plain; charset=utf-8, not cached beyond a
 * few seconds), `GET /tile/<L>/<N>[.p/<W>]` and `GET /tile/entries/<N>[.p/<W>]`
 * (application/octet-stream, immutable), and `GET /checkpoint/key`, the note verifier key, for
 * convenience only: a relying party pins the key it got out of band.
 */
import type { FastifyInstance } from 'fastify';
import { parseTilePath } from '@scitt-actions/core/tiles';
import type { CheckpointPublisher } from './checkpoints.ts';
import { HttpProblem } from './problem.ts';

const IMMUTABLE = 'public, max-age=31536000, immutable';

export function registerTilesRoutes(app: FastifyInstance, publisher: CheckpointPublisher): void {
  app.get('/checkpoint', (_req, reply) =>
    reply.header('Cache-Control', 'no-cache, max-age=0').type('text/plain; charset=utf-8').send(publisher.checkpoint()),
  );
  app.get('/checkpoint/key', (_req, reply) => reply.header('Cache-Control', 'no-cache').type('text/plain; charset=utf-8').send(`${publisher.verifierKey}\n`));
  app.get<{ Params: { '*': string } }>('/tile/*', async (req, reply) => {
    const path = `tile/${req.params['*']}`;
    const ref = parseTilePath(path);
    if (!ref) throw new HttpProblem(404, 'Not Found', `${path} is not a tile path (tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>], c2sp.org/tlog-tiles)`);
    const bytes = ref.kind === 'entries' ? await publisher.entryBundle(ref.index, ref.width) : publisher.hashTile(ref.level, ref.index, ref.width);
    if (!bytes) throw new HttpProblem(404, 'Not Found', `${path} is beyond the log's committed tree (size ${publisher.size()})`);
    return reply.header('Cache-Control', IMMUTABLE).type('application/octet-stream').send(Buffer.from(bytes));
  });
}
