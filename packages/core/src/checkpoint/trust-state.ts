/**
 * The relying party as a witness: a trust state remembers, for each trusted service, the largest
 * tree it has verified (size and root, and the checkpoint when one was seen). A receipt then counts
 * only if its tree is consistent with the remembered one — proven with an RFC 9162 consistency
 * proof obtained from the service (GET /consistency) or computed from its tiles — and the state
 * advances to the larger tree. Two signed roots that no valid proof connects are a fork: the service
 * showed different logs to different parties (equivocation, RFC 9943 §9). A proof that cannot be
 * obtained is a failure, never a skip.
 *
 * File format (JSON, version 1), one entry per service, keyed by the receipts' issuer (CWT iss):
 *   { "version": 1, "services": { "<iss>": { "treeSize": n, "root": "<base64>", "updated": "<ISO time>",
 *     "checkpoint": "<signed note, when a checkpoint was verified>" } } }
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { ScittError } from '../errors.ts';
import { digestsEqual } from '../merkle/hash.ts';
import { rootFromConsistencyProof } from '../merkle/verify.ts';
import { decodeConsistencyProof } from '../receipt/proofs.ts';
import { readReceiptHeaders } from '../receipt/verify.ts';
import { TileReader, httpTileFetch, readBounded } from '../tiles/reader.ts';
import { type OpenedCheckpoint, openCheckpoint } from './checkpoint.ts';
import { MAX_NOTE_BYTES, type NoteVerifier, parseNote, parseVerifierKey } from './note.ts';

export interface ServiceState {
  treeSize: number;
  /** base64 */
  root: string;
  updated: string;
  checkpoint?: string;
}

export interface TrustState {
  version: 1;
  services: Record<string, ServiceState>;
}

/** Two signed trees of one service that cannot both be true: both roots are named. */
export class EquivocationError extends ScittError {
  readonly service: string;
  readonly remembered: { treeSize: number; root: string };
  readonly presented: { treeSize: number; root: string };

  constructor(service: string, remembered: { treeSize: number; root: string }, presented: { treeSize: number; root: string }, why: string) {
    super(
      'ERR_EQUIVOCATION',
      `equivocation detected: ${service} signed a tree of ${presented.treeSize} leaves with root ${presented.root}, inconsistent with the tree of ${remembered.treeSize} leaves with root ${remembered.root} remembered in the trust state (${why}); the service shows different logs to different parties — do not release, keep both as evidence`,
    );
    this.service = service;
    this.remembered = remembered;
    this.presented = presented;
  }
}

export const emptyTrustState = (): TrustState => ({ version: 1, services: {} });

/** Reads a trust state file; a missing file is an empty state (the first use trusts what it sees). */
export function loadTrustState(path: string): TrustState {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyTrustState();
    throw new ScittError('ERR_TRUST_STATE', `cannot read trust state ${path}: ${(e as Error).message}`);
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new ScittError('ERR_TRUST_STATE', `trust state ${path} is not JSON (${(e as Error).message}); restore it from the workflow's cache or history`);
  }
  const s = j as TrustState;
  if (!s || s.version !== 1 || typeof s.services !== 'object' || s.services === null) throw new ScittError('ERR_TRUST_STATE', `trust state ${path} is not a version 1 trust state`);
  for (const [k, v] of Object.entries(s.services)) {
    if (!Number.isSafeInteger(v.treeSize) || v.treeSize < 1 || typeof v.root !== 'string' || Buffer.from(v.root, 'base64').length !== 32) {
      throw new ScittError('ERR_TRUST_STATE', `trust state ${path}: the entry for ${k} needs a treeSize ≥ 1 and a base64 32-byte root`);
    }
  }
  return s;
}

/** Writes the state whole (temporary file, fsync, rename): a crash leaves the old state or the new. */
export function saveTrustState(path: string, state: TrustState): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, `${JSON.stringify(state, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Gives the consistency proof path between two tree sizes of a service (unverified: it is checked here). */
export type ConsistencySource = (from: number, to: number) => Promise<readonly Uint8Array[]>;

/** Proofs from the service's own GET /consistency (a COSE consistency receipt; its path is what is used). */
export function serviceConsistencySource(serviceUrl: string): ConsistencySource {
  return async (from, to) => {
    const url = new URL(`consistency?from=${from}&to=${to}`, serviceUrl.endsWith('/') ? serviceUrl : `${serviceUrl}/`);
    const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(15_000) });
    if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}`);
    // a consistency receipt holds a few dozen hashes: 64 KiB is ample
    const h = readReceiptHeaders(await readBounded(res, 64 * 1024, `GET ${url}`));
    const proofs = h.vdp.get(-2) as unknown;
    if (!Array.isArray(proofs) || proofs.length !== 1 || !(proofs[0] instanceof Uint8Array)) throw new Error('the consistency receipt carries no single consistency proof');
    const p = decodeConsistencyProof(proofs[0]);
    if (p.treeSize1 !== from || p.treeSize2 !== to) throw new Error(`the service proved ${p.treeSize1} → ${p.treeSize2}, not ${from} → ${to}`);
    return p.path;
  };
}

/** Proofs computed from the log's tiles (c2sp.org/tlog-tiles) below `prefix`. */
export function tilesConsistencySource(prefix: string): ConsistencySource {
  const reader = new TileReader(httpTileFetch(prefix));
  return async (from, to) => (await reader.consistencyProof(from, to)).path;
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/**
 * Checks a tree (size, root) a service signed against the state and advances the state to the
 * larger tree. Throws EquivocationError on a fork, ERR_CONSISTENCY_UNAVAILABLE when no proof can be had.
 */
export async function checkTreeAgainstState(state: TrustState, service: string, tree: { treeSize: number; root: Uint8Array; checkpoint?: string }, source: ConsistencySource, now = new Date()): Promise<'new' | 'same' | 'advanced' | 'older'> {
  const known = state.services[service];
  const presented = { treeSize: tree.treeSize, root: b64(tree.root) };
  const record = () => {
    state.services[service] = { treeSize: tree.treeSize, root: presented.root, updated: now.toISOString(), ...(tree.checkpoint ? { checkpoint: tree.checkpoint } : {}) };
  };
  if (!known) {
    record();
    return 'new';
  }
  const knownRoot = new Uint8Array(Buffer.from(known.root, 'base64'));
  const remembered = { treeSize: known.treeSize, root: known.root };
  if (known.treeSize === tree.treeSize) {
    if (!digestsEqual(knownRoot, tree.root)) throw new EquivocationError(service, remembered, presented, 'same size, different roots');
    if (tree.checkpoint && !known.checkpoint) record();
    return 'same';
  }
  const [older, newer] = known.treeSize < tree.treeSize ? [{ size: known.treeSize, root: knownRoot }, { size: tree.treeSize, root: tree.root }] : [{ size: tree.treeSize, root: tree.root }, { size: known.treeSize, root: knownRoot }];
  let path: readonly Uint8Array[];
  try {
    path = await source(older.size, newer.size);
  } catch (e) {
    throw new ScittError('ERR_CONSISTENCY_UNAVAILABLE', `cannot obtain a consistency proof for ${service} between tree sizes ${older.size} and ${newer.size} (${(e as Error).message}); without it the receipt cannot be checked against the trust state, so it does not count`);
  }
  let ok = false;
  try {
    ok = digestsEqual(rootFromConsistencyProof({ treeSize1: older.size, treeSize2: newer.size, path }, older.root), newer.root);
  } catch {
    ok = false;
  }
  if (!ok) throw new EquivocationError(service, remembered, presented, `no valid consistency proof from size ${older.size} to ${newer.size}`);
  if (known.treeSize < tree.treeSize) {
    record();
    return 'advanced';
  }
  return 'older';
}

export interface TrustStateCheck {
  service: string;
  treeSize: number;
  outcome: 'new' | 'same' | 'advanced' | 'older';
}

/** Where a service's cosigned checkpoint is fetched, and how long a checkpoint behind the receipts is waited for. */
export interface WitnessPolicy {
  /** the services' checkpoint note keys; the one named after a checkpoint's origin verifies it */
  readonly logKeys: readonly NoteVerifier[];
  /** the witnesses whose cosignatures count */
  readonly witnesses: readonly NoteVerifier[];
  readonly k: number;
  /** the URL of the service's checkpoint (its tlog-tiles prefix + `checkpoint`) */
  readonly checkpointUrlFor: (service: string) => string;
  /** how long to wait for the witnessed checkpoint to reach the receipts' tree (default 10 s) */
  readonly waitMs?: number;
}

const keyName = (v: NoteVerifier) => `${v.name}+${v.keyId.toString(16).padStart(8, '0')}`;

async function fetchCheckpoint(url: string): Promise<string> {
  try {
    const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(15_000) });
    if (res.status !== 200) throw new Error(`answered ${res.status}`);
    return Buffer.from(await readBounded(res, MAX_NOTE_BYTES, `the checkpoint ${url}`)).toString('utf8');
  } catch (e) {
    throw new ScittError('ERR_CONSISTENCY_UNAVAILABLE', `cannot fetch the checkpoint ${url} (${(e as Error).message}); the witness policy cannot be checked`);
  }
}

/**
 * The k-of-n witness policy for one service: its current checkpoint must verify with its note key
 * and carry cosignatures by at least k of the named witnesses, and cover the largest receipt tree
 * (`minSize`): a receipt tree the witnesses have not seen yet is not witnessed. The checkpoint then
 * enters the state like any signed tree, so every receipt checked next must be consistent with it.
 */
export async function checkWitnessedCheckpoint(state: TrustState, service: string, p: WitnessPolicy, minSize: number, source: ConsistencySource): Promise<OpenedCheckpoint> {
  const url = p.checkpointUrlFor(service);
  const deadline = Date.now() + (p.waitMs ?? 10_000);
  for (;;) {
    const note = await fetchCheckpoint(url);
    const origin = note.slice(0, Math.max(0, note.indexOf('\n')));
    const logKey = p.logKeys.find((k) => k.name === origin);
    if (!logKey) throw new ScittError('ERR_CHECKPOINT_ORIGIN', `the checkpoint at ${url} is for origin ${JSON.stringify(origin.slice(0, 100))}; no log key given names it (given: ${p.logKeys.map(keyName).join(', ')})`);
    const cp = openCheckpoint(note, logKey, p.witnesses);
    // The collector publishes a size once its witnesses answered: a checkpoint behind the receipts may catch up.
    if (cp.size < minSize && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    const names = new Set(cp.cosigners.map((c) => c.name));
    if (names.size < p.k) {
      const others = parseNote(note).signatures.filter((s) => s.name !== logKey.name && !p.witnesses.some((w) => w.name === s.name && w.keyId === s.keyId)).map((s) => `${s.name}+${s.keyId.toString(16).padStart(8, '0')}`);
      throw new ScittError(
        'ERR_WITNESS_QUORUM',
        `the checkpoint of ${service} at size ${cp.size} has ${names.size} valid cosignature(s) from the named witnesses (${[...names].join(', ') || 'none'}); the policy needs ${p.k}${others.length ? `; also signed by ${others.join(', ')}, not named witnesses` : ''}`,
      );
    }
    if (cp.size < minSize) {
      throw new ScittError('ERR_WITNESS_QUORUM', `the receipts of ${service} are on a tree of ${minSize} leaves, but its latest cosigned checkpoint is at size ${cp.size}: the witnesses have not seen that tree; retry once the service has collected their cosignatures`);
    }
    if (cp.size > 0) await checkTreeAgainstState(state, service, { treeSize: cp.size, root: cp.root, checkpoint: note }, source);
    return cp;
  }
}

/** What a gate report says of one verified receipt (ReceiptReport's fields). */
export interface VerifiedTree {
  readonly ok: boolean;
  readonly serviceIss?: string;
  readonly kid?: string;
  readonly treeSize?: number;
  readonly root?: string;
}

/**
 * The gate's variant: every verified RFC 9162 receipt of every verified statement in a report,
 * checked against the state in turn (each advancing it). Throws on the first fork or missing proof.
 */
export async function checkVerifiedTreesAgainstState(trees: readonly VerifiedTree[], state: TrustState, sourceFor: (iss: string) => ConsistencySource): Promise<TrustStateCheck[]> {
  const out: TrustStateCheck[] = [];
  // Smallest first: each check then extends the state once, instead of proving back from the largest.
  const usable = trees.filter((t) => t.ok && t.treeSize !== undefined && t.root !== undefined).sort((x, y) => x.treeSize! - y.treeSize!);
  for (const t of usable) {
    const service = t.serviceIss ?? t.kid ?? 'unknown';
    const root = new Uint8Array(Buffer.from(t.root!, 'base64'));
    out.push({ service, treeSize: t.treeSize!, outcome: await checkTreeAgainstState(state, service, { treeSize: t.treeSize!, root }, sourceFor(service)) });
  }
  if (out.length === 0) throw new ScittError('ERR_TRUST_STATE', 'no verified RFC 9162 receipt to check against the trust state');
  return out;
}

/** The receipts of every verified statement of a gate report (see checkVerifiedTreesAgainstState). */
export function verifiedTreesOf(report: { artifacts: readonly { statements: readonly { result: { ok: boolean; receipts?: { receipts: readonly VerifiedTree[] } } }[] }[] }): VerifiedTree[] {
  return report.artifacts.flatMap((a) => a.statements.filter((s) => s.result.ok).flatMap((s) => s.result.receipts?.receipts ?? []));
}

export interface TrustPolicyOptions {
  /** the state file, read and written back advanced; without it an empty state is used and not kept */
  statePath?: string | undefined;
  /** where consistency proofs and checkpoints come from: the service URL (default: the receipts' issuer) */
  logUrl?: string | undefined;
  /** or the service's tlog-tiles prefix */
  tiles?: string | undefined;
  /** with minWitnesses: the services' checkpoint note keys and the witnesses' cosigner keys (vkeys) */
  logKeys?: readonly string[];
  witnessKeys?: readonly string[];
  minWitnesses?: number;
}

/**
 * The trust checks of a gate after its receipts verified: every verified tree (smallest first)
 * against the trust state, and with `minWitnesses` K, for each service, a checkpoint cosigned by K
 * of the named witnesses that covers its receipts' trees and that they are consistent with.
 */
export async function checkTreesWithTrustPolicy(trees: readonly VerifiedTree[], o: TrustPolicyOptions): Promise<TrustStateCheck[]> {
  const k = o.minWitnesses ?? 0;
  if (!Number.isSafeInteger(k) || k < 0) throw new ScittError('ERR_USAGE', `the minimum number of witnesses must be a non-negative integer, got ${k}`);
  if (k > 0 && (!o.logKeys?.length || !o.witnessKeys?.length)) throw new ScittError('ERR_USAGE', "a witness quorum needs the service's log key (its checkpoint note key) and the witnesses' keys");
  if (k > (o.witnessKeys?.length ?? 0)) throw new ScittError('ERR_USAGE', `a quorum of ${k} witnesses cannot be met by the ${o.witnessKeys?.length ?? 0} named`);
  const base = (iss: string): string => {
    const b = o.tiles ?? o.logUrl ?? iss;
    if (!/^https?:\/\//.test(b)) throw new ScittError('ERR_USAGE', `the receipt's issuer ${JSON.stringify(iss)} is not a URL: name where its consistency proofs come from (log-url or tiles)`);
    return b.endsWith('/') ? b : `${b}/`;
  };
  const sourceFor = (iss: string): ConsistencySource => (o.tiles ? tilesConsistencySource(o.tiles) : serviceConsistencySource(base(iss)));
  const state = o.statePath ? loadTrustState(o.statePath) : emptyTrustState();
  if (k > 0) {
    const policy: WitnessPolicy = {
      logKeys: o.logKeys!.map(parseVerifierKey),
      witnesses: o.witnessKeys!.map(parseVerifierKey),
      k,
      checkpointUrlFor: (service) => new URL('checkpoint', base(service)).toString(),
    };
    const largest = new Map<string, number>();
    for (const t of trees) {
      if (!t.ok || t.treeSize === undefined || t.root === undefined) continue;
      const service = t.serviceIss ?? t.kid ?? 'unknown';
      largest.set(service, Math.max(largest.get(service) ?? 0, t.treeSize));
    }
    for (const [service, size] of largest) await checkWitnessedCheckpoint(state, service, policy, size, sourceFor(service));
  }
  const checks = await checkVerifiedTreesAgainstState(trees, state, sourceFor);
  if (o.statePath) saveTrustState(o.statePath, state);
  return checks;
}
