/**
 * C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): a signed note whose text is the origin line, the
 * tree size in decimal without leading zeroes, the base64 RFC 6962 root hash, then optional
 * non-empty extension lines. Witness cosignatures (c2sp.org/tlog-cosignature, type 0x04) are
 * further signature lines on the same note.
 */
import { ScittError } from '../errors.ts';
import { type NoteSigner, type NoteVerifier, NoteError, SIG_COSIGNATURE_V1, SIG_ED25519, cosignedMessage, ed25519PrivateKeyObject, ed25519PublicFromSeed, ed25519Sign, formatVerifierKey, keyId, openNote, signNote, signatureLine } from './note.ts';

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Uint8Array;
  readonly extensions: readonly string[];
}

export class CheckpointError extends ScittError {}

/** The note text of a checkpoint (final newline included). */
export function checkpointBody(c: { origin: string; size: number; root: Uint8Array; extensions?: readonly string[] }): string {
  if (c.origin.length === 0 || c.origin.includes('\n')) throw new CheckpointError('ERR_CHECKPOINT_MALFORMED', 'checkpoint origin must be one non-empty line');
  if (!Number.isSafeInteger(c.size) || c.size < 0) throw new CheckpointError('ERR_CHECKPOINT_MALFORMED', `checkpoint tree size must be a non-negative integer, got ${c.size}`);
  if (c.root.length !== 32) throw new CheckpointError('ERR_CHECKPOINT_MALFORMED', `checkpoint root hash is 32 bytes, got ${c.root.length}`);
  const ext = c.extensions ?? [];
  for (const e of ext) if (e.length === 0 || e.includes('\n')) throw new CheckpointError('ERR_CHECKPOINT_MALFORMED', 'checkpoint extension lines must be non-empty single lines');
  return [c.origin, String(c.size), Buffer.from(c.root).toString('base64'), ...ext].map((l) => `${l}\n`).join('');
}

/** Reads a checkpoint body strictly: origin, size with no leading zeroes, 32-byte base64 root. */
export function parseCheckpointBody(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw new CheckpointError('ERR_CHECKPOINT_MALFORMED', 'checkpoint text must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new CheckpointError('ERR_CHECKPOINT_MALFORMED', `a checkpoint has at least 3 lines (origin, size, root hash); got ${lines.length}`);
  const [origin, sizeLine, rootLine, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw new CheckpointError('ERR_CHECKPOINT_MALFORMED', 'checkpoint origin line is empty');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine)) throw new CheckpointError('ERR_CHECKPOINT_MALFORMED', `checkpoint tree size ${JSON.stringify(sizeLine.slice(0, 40))} is not a decimal without leading zeroes`);
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw new CheckpointError('ERR_CHECKPOINT_MALFORMED', `checkpoint tree size ${sizeLine} is beyond 2^53 - 1`);
  if (!/^[A-Za-z0-9+/]{43}=$/.test(rootLine)) throw new CheckpointError('ERR_CHECKPOINT_MALFORMED', 'checkpoint root hash must be the standard base64 of 32 bytes');
  for (const e of extensions) if (e.length === 0) throw new CheckpointError('ERR_CHECKPOINT_MALFORMED', 'checkpoint extension lines must be non-empty');
  return { origin, size, root: new Uint8Array(Buffer.from(rootLine, 'base64')), extensions };
}

export function signCheckpoint(c: { origin: string; size: number; root: Uint8Array }, signer: NoteSigner): string {
  return signNote(checkpointBody(c), [signer]);
}

export interface OpenedCheckpoint extends Checkpoint {
  /** the signed note as received */
  readonly note: string;
  readonly text: string;
  /** names of the witnesses whose cosignatures verified, with their timestamps */
  readonly cosigners: readonly { name: string; timestamp: number }[];
}

/**
 * Verifies a checkpoint signed by the log key `logKey` (its name must be the origin, as logs in the
 * witness network do) and reads whichever of `witnesses` cosigned it.
 */
export function openCheckpoint(note: string | Uint8Array, logKey: NoteVerifier, witnesses: readonly NoteVerifier[] = [], expectedOrigin?: string): OpenedCheckpoint {
  const opened = openNote(note, [logKey, ...witnesses]);
  if (!opened.verified.some((s) => s.verifier === logKey)) {
    throw new NoteError('ERR_NOTE_UNVERIFIED', `checkpoint is not signed by the log key ${logKey.name}`);
  }
  const c = parseCheckpointBody(opened.text);
  const origin = expectedOrigin ?? logKey.name;
  if (c.origin !== origin) throw new CheckpointError('ERR_CHECKPOINT_ORIGIN', `checkpoint origin is ${JSON.stringify(c.origin)}, expected ${JSON.stringify(origin)}`);
  const cosigners = opened.verified
    .filter((s) => s.verifier.type === SIG_COSIGNATURE_V1)
    .map((s) => ({ name: s.name, timestamp: Number(Buffer.from(s.signature.subarray(0, 8)).readBigUInt64BE(0)) }));
  return { ...c, note: typeof note === 'string' ? note : Buffer.from(note).toString('utf8'), text: opened.text, cosigners };
}

/** A witness's Ed25519 cosigning key (tlog-cosignature v1, type 0x04). */
export interface Cosigner {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Uint8Array;
  readonly verifierKey: string;
  /** one signature line cosigning the checkpoint body at `timestamp` (POSIX seconds) */
  cosign(body: string, timestamp: number): string;
}

export function ed25519Cosigner(name: string, seed: Uint8Array): Cosigner {
  const key = ed25519PrivateKeyObject(seed);
  const publicKey = ed25519PublicFromSeed(seed);
  const id = keyId(name, SIG_COSIGNATURE_V1, publicKey);
  return {
    name,
    keyId: id,
    publicKey,
    verifierKey: formatVerifierKey(name, SIG_COSIGNATURE_V1, publicKey),
    cosign(body, timestamp) {
      if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new CheckpointError('ERR_CHECKPOINT_MALFORMED', `cosignature timestamp must be a non-negative integer, got ${timestamp}`);
      const ts = Buffer.alloc(8);
      ts.writeBigUInt64BE(BigInt(timestamp), 0);
      const sig = ed25519Sign(key, Buffer.from(cosignedMessage(body, timestamp), 'utf8'));
      return signatureLine(name, id, Buffer.concat([ts, sig]));
    },
  };
}

/** The note verifier key of a log: Ed25519, named after its origin. */
export const logVerifierKey = (origin: string, publicKey: Uint8Array): string => formatVerifierKey(origin, SIG_ED25519, publicKey);
