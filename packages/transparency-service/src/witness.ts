/**
 * A witness per C2SP tlog-witness: `POST <prefix>/add-checkpoint` with `old <size>`, the consistency
 * proof lines, a blank line and a checkpoint. It keeps, per log origin, the latest checkpoint it
 * cosigned, in SQLite (WAL, synchronous=FULL). The check of the old size and the update of the
 * stored checkpoint run in one IMMEDIATE transaction, and the cosignature is computed only after
 * that transaction committed: a SIGKILL at any point leaves either the old record (nothing was
 * cosigned) or the new one (which the proof showed consistent with the old). So however often it
 * is killed, every checkpoint it ever cosigned for a log lies on one append-only history.
 *
 * Answers as the spec says: 404 unknown origin, 403 no trusted log signature, 400 malformed or
 * old > size, 409 (text/x.tlog.size: the size it holds) old size mismatch or same size with another
 * root, 422 proof does not verify, 200 cosignature lines (tlog-cosignature v1, Ed25519).
 */
import { DatabaseSync } from 'node:sqlite';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { type Cosigner, type NoteVerifier, ed25519Cosigner, openNote, parseCheckpointBody, parseNote, parseVerifierKey } from '@scitt-actions/core/checkpoint';
import { EMPTY_ROOT, digestsEqual, rootFromConsistencyProof } from '@scitt-actions/core/merkle';
import { loadOrCreateNoteKeySeed } from './note-key.ts';

const WITNESS_KEY_FILE = 'witness-key.ed25519';
const WITNESS_DB_FILE = 'witness.sqlite';
const MAX_BODY = 128 * 1024;
const MAX_PROOF_LINES = 63;

export interface WitnessOptions {
  dataDir: string;
  /** the witness's key name, e.g. witness.example/w1 */
  name: string;
  /** note verifier keys of the logs it follows; each key's name is the log's origin */
  logs: readonly string[];
  host?: string;
  port?: number;
  /** submission prefix path, e.g. "/witness" (default: none) */
  prefix?: string;
  logLine?: (fields: Record<string, unknown>) => void;
  /** for tests: the time cosignatures carry */
  now?: () => number;
}

export interface RunningWitness {
  url: string;
  verifierKey: string;
  server: Server;
  close(): Promise<void>;
}

/** The witness's cosigning key (created in dataDir at first use). */
export function witnessCosigner(dataDir: string, name: string): Cosigner {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return ed25519Cosigner(name, loadOrCreateNoteKeySeed(dataDir, WITNESS_KEY_FILE));
}

class Answer extends Error {
  readonly status: number;
  readonly body: string;
  readonly type: string;
  constructor(status: number, body: string, type = 'text/plain; charset=utf-8') {
    super(body);
    this.status = status;
    this.body = body;
    this.type = type;
  }
}

class WitnessState {
  readonly db: DatabaseSync;

  constructor(dataDir: string) {
    this.db = new DatabaseSync(join(dataDir, WITNESS_DB_FILE));
    this.db.exec('PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
    this.db.exec('CREATE TABLE IF NOT EXISTS checkpoints (origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL, note TEXT NOT NULL, updated INTEGER NOT NULL)');
  }

  latest(origin: string): { size: number; root: Uint8Array; note: string } | undefined {
    const r = this.db.prepare('SELECT size, root, note FROM checkpoints WHERE origin = ?').get(origin) as { size: number; root: Uint8Array; note: string } | undefined;
    return r ? { size: Number(r.size), root: new Uint8Array(r.root), note: r.note } : undefined;
  }

  close(): void {
    this.db.close();
  }
}

/** Handles one add-checkpoint body; returns the cosignature lines or throws an Answer. */
function addCheckpoint(state: WitnessState, logs: ReadonlyMap<string, NoteVerifier[]>, cosigner: Cosigner, body: string, now: number): string {
  const blank = body.indexOf('\n\n');
  if (blank < 0) throw new Answer(400, 'request must be "old <size>", proof lines, an empty line, then the checkpoint\n');
  const head = body.slice(0, blank).split('\n');
  const note = body.slice(blank + 2);
  const m = /^old (0|[1-9][0-9]*)$/.exec(head[0]!);
  if (!m) throw new Answer(400, 'first line must be "old <size>" (decimal, no leading zeroes)\n');
  const old = Number(m[1]);
  const proofLines = head.slice(1);
  if (proofLines.length > MAX_PROOF_LINES) throw new Answer(400, `at most ${MAX_PROOF_LINES} consistency proof lines\n`);
  const proof = proofLines.map((l) => {
    if (!/^[A-Za-z0-9+/]{43}=$/.test(l)) throw new Answer(400, 'each proof line must be one base64 SHA-256 hash\n');
    return new Uint8Array(Buffer.from(l, 'base64'));
  });
  let parsed;
  try {
    parsed = parseNote(note);
  } catch (e) {
    throw new Answer(400, `checkpoint is not a signed note: ${(e as Error).message}\n`);
  }
  const origin = parsed.text.slice(0, parsed.text.indexOf('\n'));
  const verifiers = logs.get(origin);
  if (!verifiers) throw new Answer(404, `unknown log origin ${JSON.stringify(origin)}\n`);
  try {
    openNote(note, verifiers);
  } catch (e) {
    throw new Answer(403, `checkpoint is not signed by a trusted key of ${origin}: ${(e as Error).message}\n`);
  }
  let cp;
  try {
    cp = parseCheckpointBody(parsed.text);
  } catch (e) {
    throw new Answer(400, `${(e as Error).message}\n`);
  }
  if (old > cp.size) throw new Answer(400, `old size ${old} is larger than the checkpoint's size ${cp.size}\n`);
  if (old === 0 && proof.length > 0) throw new Answer(400, 'the consistency proof must be empty when the old size is 0\n');

  // Check against the stored checkpoint and record the new one atomically; sign only after COMMIT.
  const db = state.db;
  db.exec('BEGIN IMMEDIATE');
  try {
    const stored = state.latest(origin);
    const storedSize = stored?.size ?? 0;
    if (old !== storedSize) throw new Answer(409, `${storedSize}\n`, 'text/x.tlog.size');
    const storedRoot = stored?.root ?? EMPTY_ROOT;
    if (old === cp.size) {
      if (stored && !digestsEqual(storedRoot, cp.root)) throw new Answer(409, `${storedSize}\n`, 'text/x.tlog.size');
      if (proof.length > 0) throw new Answer(422, 'trees of equal size need an empty consistency proof\n');
    } else if (old > 0) {
      let ok = false;
      try {
        ok = digestsEqual(rootFromConsistencyProof({ treeSize1: old, treeSize2: cp.size, path: proof }, storedRoot), cp.root);
      } catch {
        ok = false;
      }
      if (!ok) throw new Answer(422, `the consistency proof from size ${old} to ${cp.size} does not verify against the checkpoint this witness holds\n`);
    }
    db.prepare('INSERT INTO checkpoints (origin, size, root, note, updated) VALUES (?, ?, ?, ?, ?) ON CONFLICT(origin) DO UPDATE SET size = excluded.size, root = excluded.root, note = excluded.note, updated = excluded.updated').run(
      origin,
      cp.size,
      cp.root,
      note,
      now,
    );
    db.exec('COMMIT');
  } catch (e) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw e;
  }
  return cosigner.cosign(parsed.text, now);
}

export async function startWitness(o: WitnessOptions): Promise<RunningWitness> {
  const logLine = o.logLine ?? (() => undefined);
  const cosigner = witnessCosigner(o.dataDir, o.name);
  const logs = new Map<string, NoteVerifier[]>();
  for (const k of o.logs) {
    const v = parseVerifierKey(k);
    logs.set(v.name, [...(logs.get(v.name) ?? []), v]);
  }
  const state = new WitnessState(o.dataDir);
  const prefix = (o.prefix ?? '').replace(/\/+$/, '');
  const now = o.now ?? (() => Math.floor(Date.now() / 1000));

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' }).end(body);
    };
    const path = (req.url ?? '').split('?')[0];
    if (path !== `${prefix}/add-checkpoint`) return send(404, `no resource at ${path}; POST ${prefix}/add-checkpoint\n`);
    if (req.method !== 'POST') return send(405, 'add-checkpoint takes POST\n');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > MAX_BODY) return send(413, `request body over ${MAX_BODY} bytes\n`);
      chunks.push(c);
    }
    let body: string;
    try {
      body = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
    } catch {
      return send(400, 'request body is not UTF-8\n');
    }
    try {
      const line = addCheckpoint(state, logs, cosigner, body, now());
      logLine({ level: 'info', msg: 'cosigned', checkpoint: body.slice(body.indexOf('\n\n') + 2).split('\n').slice(0, 2).join(' ') });
      send(200, line);
    } catch (e) {
      if (e instanceof Answer) {
        logLine({ level: e.status >= 409 ? 'warn' : 'info', msg: 'refused', status: e.status, detail: e.body.trim() });
        return send(e.status, e.body, e.type);
      }
      logLine({ level: 'error', msg: 'internal error', error: (e as Error).message });
      send(500, 'the witness failed to handle this request; nothing was cosigned\n');
    }
  };
  const server = createServer({ requestTimeout: 10_000, headersTimeout: 10_000 }, (req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const a = server.address() as AddressInfo;
  const url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}${prefix}`;
  return {
    url,
    verifierKey: cosigner.verifierKey,
    server,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      state.close();
    },
  };
}
