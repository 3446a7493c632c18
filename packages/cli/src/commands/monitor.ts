/**
 * `scitt monitor`: follows a service's checkpoints and tiles (c2sp.org/tlog-checkpoint, tlog-tiles)
 * and verifies append-only growth by itself: it keeps the compact range of the tree it verified,
 * reads every new entry from the entry bundles, and recomputes each new checkpoint's root. A
 * checkpoint it cannot reach that way from the remembered tree is a fork: reported on stdout, to the
 * webhook, and by exit code 1. New entries by a watched issuer or subject digest are reported too.
 *
 * State file (JSON): { "version": 1, "origin", "size", "root" (base64), "range": { "size", "hashes" },
 * "checkpoint" (the last verified note) }.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import { ScittError } from '@scitt-actions/core';
import { MAX_NOTE_BYTES, type OpenedCheckpoint, openCheckpoint, parseVerifierKey } from '@scitt-actions/core/checkpoint';
import { digestsEqual, rootFromConsistencyProof } from '@scitt-actions/core/merkle';
import { parseStatementParts } from '@scitt-actions/core/receipt';
import { CompactRange, TileReader, httpTileFetch, readBounded } from '@scitt-actions/core/tiles';
import { intOption } from '../numbers.ts';
import { EXIT, UsageError, action } from '../run.ts';
import { writeEnvelope } from '../output.ts';

interface MonitorFlags {
  url: string;
  logKey: string;
  state: string;
  once?: boolean;
  interval: string;
  webhook?: string;
  issuer?: string[];
  subjectDigest?: string[];
  json?: boolean;
}

interface MonitorState {
  version: 1;
  origin: string;
  size: number;
  root: string;
  range: { size: number; hashes: string[] };
  checkpoint: string;
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

function loadState(path: string): MonitorState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ScittError('ERR_IO', `cannot read monitor state ${path}: ${(e as Error).message}`);
  }
  try {
    const s = JSON.parse(text) as MonitorState;
    if (s.version !== 1 || !Number.isSafeInteger(s.size)) throw new Error('not a version 1 monitor state');
    CompactRange.fromJSON(s.range);
    return s;
  } catch (e) {
    throw new ScittError('ERR_TRUST_STATE', `monitor state ${path} is unreadable (${(e as Error).message})`);
  }
}

function saveState(path: string, s: MonitorState): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, `${JSON.stringify(s, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Each event is one line on stdout: the bare event, or under --json the envelope around it (a fork: ok false, ERR_EQUIVOCATION). */
async function notify(webhook: string | undefined, event: Record<string, unknown>, json = false): Promise<void> {
  if (!json) process.stdout.write(`${JSON.stringify(event)}\n`);
  else if (event.event === 'fork') writeEnvelope({ ok: false, result: event, error: { code: 'ERR_EQUIVOCATION', message: 'the log forked: see result' } }, { oneLine: true });
  else writeEnvelope({ ok: true, result: event }, { oneLine: true });
  if (!webhook) return;
  try {
    const r = await fetch(webhook, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(event), redirect: 'error', signal: AbortSignal.timeout(10_000) });
    if (!r.ok) process.stderr.write(`scitt: webhook ${webhook} answered ${r.status}\n`);
  } catch (e) {
    process.stderr.write(`scitt: webhook ${webhook} failed: ${(e as Error).message}\n`);
  }
}

/** iss and sub from the CWT claims (15) of an entry, and its payload (a hash envelope's payload is the digest). */
function describeEntry(entry: Uint8Array): { iss?: string; sub?: string; payloadHex?: string } {
  try {
    const p = parseStatementParts(entry);
    const cwt = p.protectedHeader.get(15);
    const get = (k: number) => (cwt instanceof Map && typeof cwt.get(k) === 'string' ? (cwt.get(k) as string) : undefined);
    const iss = get(1);
    const sub = get(2);
    return { ...(iss ? { iss } : {}), ...(sub ? { sub } : {}), ...(p.payload && p.payload.length <= 64 ? { payloadHex: Buffer.from(p.payload).toString('hex') } : {}) };
  } catch {
    return {};
  }
}

/** One round; returns 'fork' when the service's checkpoint cannot extend the verified tree. */
async function round(o: MonitorFlags, reader: TileReader): Promise<'ok' | 'fork'> {
  const logKey = parseVerifierKey(o.logKey);
  const base = o.url.endsWith('/') ? o.url : `${o.url}/`;
  const res = await fetch(new URL('checkpoint', base), { redirect: 'error', signal: AbortSignal.timeout(15_000) });
  if (res.status !== 200) throw new ScittError('ERR_SCRAPI_UNAVAILABLE', `GET ${base}checkpoint answered ${res.status}`);
  const note = Buffer.from(await readBounded(res, MAX_NOTE_BYTES, `GET ${base}checkpoint`)).toString('utf8');
  const cp: OpenedCheckpoint = openCheckpoint(note, logKey);
  const state = loadState(o.state);
  const range = state ? CompactRange.fromJSON(state.range) : new CompactRange();
  const fork = async (why: string) => {
    await notify(o.webhook, {
      event: 'fork',
      origin: cp.origin,
      why,
      remembered: { size: state!.size, root: state!.root, checkpoint: state!.checkpoint },
      presented: { size: cp.size, root: b64(cp.root), checkpoint: note },
    }, o.json);
    return 'fork' as const;
  };
  if (state && cp.size < state.size) {
    // An older checkpoint is fine if the tree we verified extends it.
    let ok = false;
    try {
      const proof = await reader.consistencyProof(cp.size, state.size);
      ok = cp.size > 0 && digestsEqual(rootFromConsistencyProof(proof, cp.root), Buffer.from(state.root, 'base64'));
    } catch {
      ok = false;
    }
    return ok ? 'ok' : fork(`the checkpoint at size ${cp.size} is not a prefix of the verified tree of size ${state.size}`);
  }
  if (state && cp.size === state.size) return digestsEqual(cp.root, Buffer.from(state.root, 'base64')) ? 'ok' : fork('same size, different roots');
  const watchedIss = new Set(o.issuer ?? []);
  const watchedDigests = new Set((o.subjectDigest ?? []).map((d) => d.toLowerCase().replace(/^sha256:/, '')));
  for (let bundle = Math.floor(range.size / 256); bundle * 256 < cp.size; bundle++) {
    const entries = await reader.entries(bundle, cp.size);
    for (let k = 0; k < entries.length; k++) {
      const index = bundle * 256 + k;
      if (index < range.size) continue;
      range.appendEntry(entries[k]!);
      if (watchedIss.size || watchedDigests.size) {
        const d = describeEntry(entries[k]!);
        const digestHit = [...watchedDigests].some((h) => d.payloadHex === h || (d.sub ?? '').toLowerCase().includes(h));
        if ((d.iss && watchedIss.has(d.iss)) || digestHit) await notify(o.webhook, { event: 'entry', origin: cp.origin, leafIndex: index, ...d }, o.json);
      }
    }
  }
  if (!digestsEqual(range.root(), cp.root)) {
    if (!state) throw new ScittError('ERR_TILES', `the entries served do not hash to the checkpoint's root at size ${cp.size}: the log's tiles and checkpoint disagree`);
    return fork(`the entries from ${state.size} to ${cp.size} do not extend the verified tree to the signed root`);
  }
  saveState(o.state, { version: 1, origin: cp.origin, size: cp.size, root: b64(cp.root), range: range.toJSON(), checkpoint: note });
  if (!state || cp.size > state.size) process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: 'verified append-only growth', origin: cp.origin, from: state?.size ?? 0, to: cp.size })}\n`);
  return 'ok';
}

export function registerMonitor(program: Command): void {
  program
    .command('monitor')
    .description("follow a service's checkpoints and tiles, verify append-only growth, report forks and watched entries")
    .requiredOption('--url <PREFIX>', 'the log prefix serving /checkpoint and /tile/ (the service URL, or a static tiles host)')
    .requiredOption('--log-key <VKEY>', "the log's checkpoint note verifier key (the service's /checkpoint/key, pinned)")
    .requiredOption('--state <FILE>', 'where the verified tree (compact range) is kept between runs')
    .option('--once', 'check once and exit (0: consistent, 1: fork)')
    .option('--interval <SECONDS>', 'seconds between checks', '30')
    .option('--webhook <URL>', 'POST each event (fork, watched entry) here as JSON')
    .option('--issuer <ISS>', 'report new entries by this issuer (CWT iss) (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
    .option('--subject-digest <HEX>', 'report new entries about this SHA-256 digest (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
    .option('--json', 'each event as the JSON envelope, one line each (a fork: ok false, ERR_EQUIVOCATION)')
    .action(
      action('verify', async (o: MonitorFlags) => {
        const interval = intOption('--interval', o.interval, { min: 1, unit: 'seconds' });
        if (!/^https?:\/\//.test(o.url)) throw new UsageError(`--url must be an http(s) URL, got ${o.url}`);
        for (;;) {
          const reader = new TileReader(httpTileFetch(o.url));
          if ((await round(o, reader)) === 'fork') {
            process.stderr.write(`scitt: fork detected on ${o.url}: see the event on stdout [ERR_EQUIVOCATION]\n`);
            process.exitCode = EXIT.failed;
            return;
          }
          if (o.once) return;
          await new Promise((r) => setTimeout(r, interval * 1000));
        }
      }),
    );
}
