/**
 * Wires the C2SP publication into the service: the checkpoint publisher and its routes, the tiles
 * directory, and the collection of witness cosignatures. Follows the log's committed size by
 * polling its own read connection (a cheap indexed MAX), so the log's commit path is untouched.
 */
import type { FastifyInstance } from 'fastify';
import { CheckpointPublisher, type CommittedTree } from './checkpoints.ts';
import { loadOrCreateNoteKeySeed, originFromIss } from './note-key.ts';
import { registerTilesRoutes } from './tiles-routes.ts';
import { type WitnessConfig, WitnessCollector } from './witness-client.ts';

export interface TransparencyOptions {
  dataDir: string;
  /** checkpoint origin; default: the issuer without its scheme */
  origin?: string;
  tilesDir?: string;
  /** what to publish (default: the SQLite log in dataDir) and the note key seed (default: note-key.ed25519 there) */
  tree?: CommittedTree;
  noteSeed?: Uint8Array;
  witnesses?: readonly WitnessConfig[];
  /** how often the committed size is polled (ms) */
  pollMs?: number;
  logLine: (fields: Record<string, unknown>) => void;
}

export interface Transparency {
  publisher: CheckpointPublisher;
  /** sets the origin (from the issuer unless given), starts following the log */
  start(iss: string): void;
  /** one round now: tiles directory and witnesses (also what the timer runs) */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export function attachTransparency(app: FastifyInstance, o: TransparencyOptions): Transparency {
  const publisher = new CheckpointPublisher({ dataDir: o.dataDir, noteSeed: o.noteSeed ?? loadOrCreateNoteKeySeed(o.dataDir), ...(o.tree ? { tree: o.tree } : {}), ...(o.tilesDir ? { tilesDir: o.tilesDir } : {}) });
  registerTilesRoutes(app, publisher);
  const collector = o.witnesses && o.witnesses.length > 0 ? new WitnessCollector(publisher, o.witnesses, o.logLine) : undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let lastSize = -1;

  const round = async () => {
    const size = publisher.size();
    if (size === lastSize) return;
    // Without witnesses the served checkpoint is always the committed size; with them, the collector sets it.
    if (collector) await collector.collect(size);
    await publisher.writeTilesDir();
    lastSize = size;
  };
  const sync = (): Promise<void> => {
    running ??= round()
      .catch((e: unknown) => o.logLine({ level: 'error', msg: 'checkpoint publication failed; retrying', error: (e as Error).message }))
      .finally(() => (running = undefined));
    return running;
  };

  return {
    publisher,
    start(iss) {
      publisher.origin = o.origin ?? originFromIss(iss);
      // the cosigned checkpoint kept before a restart is served until the witnesses answer again
      const cosigned = publisher.restoreCosigned();
      if (collector) publisher.publishedSize = cosigned ?? 0;
      timer = setInterval(() => void sync(), o.pollMs ?? 200);
      timer.unref();
      void sync();
    },
    sync,
    async close() {
      if (timer) clearInterval(timer);
      await running;
      await sync();
      publisher.close();
    },
  };
}
