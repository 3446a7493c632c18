/**
 * C2SP signed-note (c2sp.org/signed-note): a text ending in a newline, a blank line, then signature
 * lines `— <key name> base64(key ID ‖ signature)`. Keys are written as golang.org/x/mod/sumdb/note
 * writes them: verifier keys `<name>+<hex key ID>+base64(type ‖ public key)`, signer keys
 * `PRIVATE+KEY+<name>+<hex key ID>+base64(type ‖ seed)`. Ed25519 is node:crypto's.
 *
 * Key IDs are SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]; type 0x01 is an Ed25519 note signature,
 * 0x04 a timestamped Ed25519 witness cosignature (c2sp.org/tlog-cosignature, see cosignature.ts).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { ScittError } from '../errors.ts';

export const SIG_ED25519 = 0x01;
export const SIG_COSIGNATURE_V1 = 0x04;

/** Verifiers must accept at least 16 signatures (signed-note §Format); a note with more than this is refused unread. */
export const MAX_NOTE_SIGNATURES = 100;
/** A checkpoint with many cosignatures is a few KiB; this bounds what a parser reads. */
export const MAX_NOTE_BYTES = 64 * 1024;

const EM_DASH = '\u2014';
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A signed note could not be read, or no trusted key signed it. */
export class NoteError extends ScittError {}

export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  /** the bytes after the key ID */
  readonly signature: Uint8Array;
  /** the whole line, newline included, for passing on as received */
  readonly line: string;
}

export interface Note {
  /** the note text, final newline included */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  readonly type: number;
  readonly publicKey: Uint8Array;
  /** true when `signature` is this key's over `text` (for cosignatures: over the cosigned message) */
  verify(text: string, signature: Uint8Array): boolean;
}

export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  sign(text: string): Uint8Array;
}

/** Key names are non-empty, without Unicode spaces or `+` (signed-note §Format). */
export function checkKeyName(name: string): void {
  if (name.length === 0 || /[\s+\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u.test(name)) {
    throw new NoteError('ERR_NOTE_KEY', `note key name ${JSON.stringify(name)} must be non-empty, without spaces or "+" (c2sp.org/signed-note)`);
  }
}

export function keyId(name: string, type: number, publicKey: Uint8Array): number {
  const h = createHash('sha256').update(name, 'utf8').update(Uint8Array.of(0x0a, type)).update(publicKey).digest();
  return h.readUInt32BE(0);
}

const hex8 = (n: number) => n.toString(16).padStart(8, '0');

// DER wrappers around raw Ed25519 keys (RFC 8410), for node:crypto.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function ed25519PublicKeyObject(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new NoteError('ERR_NOTE_KEY', `an Ed25519 public key is 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function ed25519PrivateKeyObject(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new NoteError('ERR_NOTE_KEY', `an Ed25519 seed is 32 bytes, got ${seed.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function ed25519PublicFromSeed(seed: Uint8Array): Uint8Array {
  const spki = createPublicKey(ed25519PrivateKeyObject(seed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(SPKI_PREFIX.length));
}

export function generateEd25519Seed(): Uint8Array {
  const { privateKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  return new Uint8Array(der.subarray(PKCS8_PREFIX.length));
}

export const ed25519Sign = (key: KeyObject, message: Uint8Array): Uint8Array => new Uint8Array(edSign(null, message, key));

export function ed25519Verify(key: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  try {
    return edVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

function decodeB64(s: string, what: string): Uint8Array {
  if (!B64.test(s) || s.length % 4 !== 0) throw new NoteError('ERR_NOTE_KEY', `${what} is not standard base64`);
  return new Uint8Array(Buffer.from(s, 'base64'));
}

/** A verifier for an Ed25519 note key (type 0x01) or an Ed25519 cosigner key (type 0x04). */
export function ed25519Verifier(name: string, publicKey: Uint8Array, type: number = SIG_ED25519): NoteVerifier {
  checkKeyName(name);
  const key = ed25519PublicKeyObject(publicKey);
  const id = keyId(name, type, publicKey);
  if (type === SIG_ED25519) {
    return { name, keyId: id, type, publicKey, verify: (text, sig) => ed25519Verify(key, Buffer.from(text, 'utf8'), sig) };
  }
  if (type === SIG_COSIGNATURE_V1) {
    return {
      name,
      keyId: id,
      type,
      publicKey,
      verify: (text, sig) => {
        if (sig.length !== 72) return false;
        const ts = Buffer.from(sig.subarray(0, 8)).readBigUInt64BE(0);
        if (ts > 2n ** 63n - 1n) return false;
        return ed25519Verify(key, Buffer.from(cosignedMessage(text, ts), 'utf8'), sig.subarray(8));
      },
    };
  }
  throw new NoteError('ERR_NOTE_KEY', `note signature type 0x${type.toString(16).padStart(2, '0')} is not supported here (0x01 Ed25519, 0x04 Ed25519 cosignature)`);
}

/** The tlog-cosignature v1 signed message: `cosignature/v1`, `time <T>`, then the checkpoint body. */
export function cosignedMessage(body: string, timestamp: bigint | number): string {
  return `cosignature/v1\ntime ${BigInt(timestamp).toString()}\n${body}`;
}

/** `<name>+<key id>+<base64>`: names hold no `+`, the base64 may. */
function splitKey(k: string): [string, string, string] | undefined {
  const a = k.indexOf('+');
  const b = a < 0 ? -1 : k.indexOf('+', a + 1);
  if (a <= 0 || b < 0) return undefined;
  return [k.slice(0, a), k.slice(a + 1, b), k.slice(b + 1)];
}

/** Parses `<name>+<hex key ID>+base64(type ‖ public key)` and checks the key ID against the key. */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const parts = splitKey(vkey.trim());
  if (!parts) throw new NoteError('ERR_NOTE_KEY', `verifier key must be <name>+<key id>+<base64 key>, got ${JSON.stringify(vkey.slice(0, 80))}`);
  const [name, idHex, b64] = parts;
  checkKeyName(name);
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw new NoteError('ERR_NOTE_KEY', `verifier key ID must be 8 lowercase hex digits, got ${JSON.stringify(idHex)}`);
  const raw = decodeB64(b64, 'verifier key');
  if (raw.length !== 33) throw new NoteError('ERR_NOTE_KEY', `verifier key must be a type byte and a 32-byte Ed25519 key; got ${raw.length} bytes`);
  const v = ed25519Verifier(name, raw.subarray(1), raw[0]!);
  if (hex8(v.keyId) !== idHex) throw new NoteError('ERR_NOTE_KEY', `verifier key ID ${idHex} does not match its key (computed ${hex8(v.keyId)})`);
  return v;
}

export function formatVerifierKey(name: string, type: number, publicKey: Uint8Array): string {
  checkKeyName(name);
  return `${name}+${hex8(keyId(name, type, publicKey))}+${Buffer.concat([Uint8Array.of(type), publicKey]).toString('base64')}`;
}

/** An Ed25519 note signer (type 0x01). */
export function ed25519Signer(name: string, seed: Uint8Array): NoteSigner & { publicKey: Uint8Array; verifierKey: string } {
  checkKeyName(name);
  const key = ed25519PrivateKeyObject(seed);
  const publicKey = ed25519PublicFromSeed(seed);
  return {
    name,
    keyId: keyId(name, SIG_ED25519, publicKey),
    publicKey,
    verifierKey: formatVerifierKey(name, SIG_ED25519, publicKey),
    sign: (text) => ed25519Sign(key, Buffer.from(text, 'utf8')),
  };
}

/** Parses `PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 ‖ seed)`. */
export function parseSignerKey(skey: string): NoteSigner & { publicKey: Uint8Array; verifierKey: string } {
  const t = skey.trim();
  const parts = t.startsWith('PRIVATE+KEY+') ? splitKey(t.slice('PRIVATE+KEY+'.length)) : undefined;
  if (!parts) throw new NoteError('ERR_NOTE_KEY', 'signer key must be PRIVATE+KEY+<name>+<key id>+<base64 key>');
  const [name, idHex, b64] = parts;
  const raw = decodeB64(b64, 'signer key');
  if (raw.length !== 33 || raw[0] !== SIG_ED25519) throw new NoteError('ERR_NOTE_KEY', 'signer key must be type 0x01 and a 32-byte Ed25519 seed');
  const s = ed25519Signer(name, raw.subarray(1));
  if (hex8(s.keyId) !== idHex) throw new NoteError('ERR_NOTE_KEY', `signer key ID ${idHex} does not match its key (computed ${hex8(s.keyId)})`);
  return s;
}

export function formatSignerKey(name: string, seed: Uint8Array): string {
  const s = ed25519Signer(name, seed);
  return `PRIVATE+KEY+${name}+${hex8(s.keyId)}+${Buffer.concat([Uint8Array.of(SIG_ED25519), seed]).toString('base64')}`;
}

/** One signature line for `signer` over `text` (with the leading em dash and the final newline). */
export function signatureLine(name: string, id: number, signature: Uint8Array): string {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(id >>> 0, 0);
  return `${EM_DASH} ${name} ${Buffer.concat([head, signature]).toString('base64')}\n`;
}

function checkText(text: string, what: string): void {
  if (!text.endsWith('\n')) throw new NoteError('ERR_NOTE_MALFORMED', `${what} must end with a newline (c2sp.org/signed-note)`);
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) throw new NoteError('ERR_NOTE_MALFORMED', `${what} contains an ASCII control character other than newline (c2sp.org/signed-note)`);
}

/** Signs a note text with every signer, in order. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  checkText(text, 'note text');
  if (text.includes('\n\n') || text.startsWith('\n')) {
    // The last blank line separates text from signatures; an inner blank line is allowed by the spec but never produced here.
    throw new NoteError('ERR_NOTE_MALFORMED', 'note text must not contain empty lines here');
  }
  return `${text}\n${signers.map((s) => signatureLine(s.name, s.keyId, s.sign(text))).join('')}`;
}

/** Strictly splits a signed note into its text and signature lines; does not verify anything. */
export function parseNote(input: string | Uint8Array): Note {
  let s: string;
  if (typeof input === 'string') s = input;
  else {
    if (input.length > MAX_NOTE_BYTES) throw new NoteError('ERR_NOTE_MALFORMED', `signed note is ${input.length} bytes; at most ${MAX_NOTE_BYTES} are read`);
    try {
      s = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      throw new NoteError('ERR_NOTE_MALFORMED', 'signed note is not valid UTF-8 (c2sp.org/signed-note)');
    }
  }
  if (s.length > MAX_NOTE_BYTES) throw new NoteError('ERR_NOTE_MALFORMED', `signed note is over ${MAX_NOTE_BYTES} bytes`);
  checkText(s, 'signed note');
  const split = s.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('ERR_NOTE_MALFORMED', 'signed note has no blank line between its text and its signatures');
  const text = s.slice(0, split + 1);
  const sigLines = s.slice(split + 2).split('\n');
  sigLines.pop(); // after the final newline
  if (sigLines.length === 0) throw new NoteError('ERR_NOTE_MALFORMED', 'signed note has no signature lines');
  if (sigLines.length > MAX_NOTE_SIGNATURES) throw new NoteError('ERR_NOTE_MALFORMED', `signed note has ${sigLines.length} signatures; at most ${MAX_NOTE_SIGNATURES} are read`);
  const signatures = sigLines.map((line) => {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!m) throw new NoteError('ERR_NOTE_MALFORMED', `not a note signature line: ${JSON.stringify(line.slice(0, 80))} (want "— <name> <base64>")`);
    const [, name, b64] = m as unknown as [string, string, string];
    if (name.includes('+')) throw new NoteError('ERR_NOTE_MALFORMED', `signature key name ${JSON.stringify(name)} contains "+"`);
    if (!B64.test(b64) || b64.length % 4 !== 0) throw new NoteError('ERR_NOTE_MALFORMED', `signature of ${name} is not standard base64`);
    const raw = Buffer.from(b64, 'base64');
    if (raw.length < 5) throw new NoteError('ERR_NOTE_MALFORMED', `signature of ${name} is too short for a key ID and a signature`);
    return { name, keyId: raw.readUInt32BE(0), signature: new Uint8Array(raw.subarray(4)), line: `${line}\n` };
  });
  return { text, signatures };
}

export interface VerifiedNote extends Note {
  /** signatures by known keys, all verified */
  readonly verified: readonly (NoteSignature & { verifier: NoteVerifier })[];
}

/**
 * Opens a signed note: signatures from unknown keys (name and key ID not both known) are ignored;
 * a known key's signature that fails refuses the whole note; at least one known signature must verify.
 */
export function openNote(input: string | Uint8Array, verifiers: readonly NoteVerifier[]): VerifiedNote {
  const note = parseNote(input);
  const verified: (NoteSignature & { verifier: NoteVerifier })[] = [];
  for (const sig of note.signatures) {
    const v = verifiers.find((k) => k.name === sig.name && k.keyId === sig.keyId);
    if (!v) continue;
    if (!v.verify(note.text, sig.signature)) {
      throw new NoteError('ERR_NOTE_SIGNATURE', `signature by ${sig.name}+${hex8(sig.keyId)} does not verify over this note`);
    }
    if (!verified.some((x) => x.verifier === v)) verified.push({ ...sig, verifier: v });
  }
  if (verified.length === 0) {
    const names = note.signatures.map((s) => `${s.name}+${hex8(s.keyId)}`).join(', ');
    throw new NoteError('ERR_NOTE_UNVERIFIED', `no signature on this note is by a trusted key (signed by ${names}; trusted: ${verifiers.map((k) => `${k.name}+${hex8(k.keyId)}`).join(', ') || 'none'})`);
  }
  return { ...note, verified };
}
