/**
 * CBOR, configured once (RFC 8949).
 *
 * Encoding is deterministic (§4.2.1: shortest heads, definite lengths, map keys sorted bytewise by
 * their encodings). cbor-x does the byte work; `canonical()` prepares values so that it can: maps
 * are re-ordered and integers beyond 32 bits become BigInt (cbor-x would otherwise emit float64).
 *
 * Decoding untrusted bytes first runs `scanWellFormed`, which walks item heads only: it bounds size,
 * depth, container lengths, string lengths and total item count, rejects indefinite lengths,
 * duplicate map keys, unexpected tags and invalid UTF-8, and reports the byte offset. Only then does
 * cbor-x build values, so no input can make it allocate more than the limits allow.
 */
// cbor-x/decode is cbor-x without the optional native string extractor (cbor-extract): loading that addon costs more start-up than it saves on statement-sized input
import { Decoder, Encoder, Tag } from 'cbor-x/decode';
import { CborError } from './errors.ts';

export { Tag };

export interface DecodeLimits {
  /** total input size in bytes */
  maxBytes: number;
  /** nesting depth of arrays, maps and tags */
  maxDepth: number;
  /** elements of one array, or pairs of one map */
  maxContainerLength: number;
  /** bytes of one byte or text string */
  maxStringLength: number;
  /** data items in the whole input */
  maxItems: number;
  /** tag numbers that may appear; any other tag is refused */
  allowedTags: readonly number[];
}

export const DEFAULT_LIMITS: DecodeLimits = Object.freeze({
  maxBytes: 16 * 1024 * 1024,
  maxDepth: 16,
  maxContainerLength: 4096,
  maxStringLength: 16 * 1024 * 1024,
  maxItems: 65536,
  allowedTags: Object.freeze([18]) as readonly number[],
});

const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: false,
  tagUint8Array: false,
  pack: false,
  structuredClone: false,
});
const decoder = new Decoder({ useRecords: false, mapsAsObjects: false, structuredClone: false, int64AsType: 'bigint' } as ConstructorParameters<typeof Decoder>[0]);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Deterministically encoded CBOR of `value` (RFC 8949 §4.2.1). */
export function encode(value: unknown): Uint8Array {
  return encoder.encode(canonical(value));
}

/** Decode untrusted CBOR: well-formedness and limits first, then values. */
export function decode(bytes: Uint8Array, limits: Partial<DecodeLimits> = {}): unknown {
  scanWellFormed(bytes, limits);
  try {
    return normalise(decoder.decode(bytes));
  } catch (e) {
    // The scan accepted it, so this is cbor-x refusing something the scan allows; keep it typed.
    throw new CborError('ERR_CBOR_UNSUPPORTED', `CBOR could not be decoded: ${(e as Error).message}`, { cause: e });
  }
}

/** cbor-x returns Buffer for byte strings; hand out plain Uint8Array views so equality is predictable. */
function normalise(v: unknown): unknown {
  if (v instanceof Uint8Array) return v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map(normalise);
  if (v instanceof Map) {
    const m = new Map();
    for (const [k, val] of v) m.set(k, normalise(val));
    return m;
  }
  if (v instanceof Tag) return new Tag(normalise(v.value), v.tag);
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  return v;
}

function canonical(v: unknown): unknown {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new CborError('ERR_CBOR_UNSUPPORTED', `cannot encode ${v}: this project emits integers only`);
    return Math.abs(v) > 0xffffffff ? BigInt(v) : v;
  }
  if (v instanceof Uint8Array || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(canonical);
  if (v instanceof Tag) return new Tag(canonical(v.value), v.tag);
  if (v instanceof Map) {
    const entries = [...v].map(([k, val]) => [canonical(k), canonical(val), encoder.encode(canonical(k))] as const);
    entries.sort((a, b) => compareBytes(a[2], b[2]));
    for (let i = 1; i < entries.length; i++) {
      if (compareBytes(entries[i - 1]![2], entries[i]![2]) === 0) {
        throw new CborError('ERR_CBOR_DUPLICATE_KEY', `map has the key ${String(entries[i]![0])} twice`);
      }
    }
    return new Map(entries.map(([k, val]) => [k, val]));
  }
  throw new CborError('ERR_CBOR_UNSUPPORTED', `cannot encode a value of type ${Object.prototype.toString.call(v)}`);
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * For structures written out by hand at their exact size (the log entry, Sig_structure): the
 * generic encoder grows its buffer by doubling, so a 12 MiB payload took a 48 MiB buffer.
 * Length of the shortest head (RFC 8949 §4.2.1) of a byte or text string of `n` bytes.
 */
export function bstrHeadLength(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x100000000 ? 5 : 9;
}

/** Major type 2 head with the shortest argument (RFC 8949 §3, §4.2.1), then the bytes; returns the next offset. */
export function writeBstr(out: Uint8Array, at: number, b: Uint8Array): number {
  const next = writeBstrHead(out, at, b.length);
  out.set(b, next);
  return next + b.length;
}

/** Only the head of a byte string of `n` bytes (for bytes hashed in parts rather than copied); returns the next offset. */
export function writeBstrHead(out: Uint8Array, at: number, n: number): number {
  const extra = bstrHeadLength(n) - 1;
  out[at] = extra === 0 ? 0x40 + n : 0x40 + [0, 24, 25, 0, 26, 0, 0, 0, 27][extra]!;
  for (let i = extra, v = n; i >= 1; i--, v = Math.floor(v / 256)) out[at + i] = v % 256;
  return at + 1 + extra;
}

/**
 * Walks the item heads of `bytes` and throws a CborError at the first problem. Exactly one top-level
 * item must fill the input.
 */
export function scanWellFormed(bytes: Uint8Array, partial: Partial<DecodeLimits> = {}): void {
  const limits = { ...DEFAULT_LIMITS, ...partial };
  if (bytes.length === 0) throw new CborError('ERR_CBOR_TRUNCATED', 'input is empty: expected one CBOR data item');
  if (bytes.length > limits.maxBytes) {
    throw new CborError('ERR_CBOR_LIMIT', `input is ${bytes.length} bytes, more than the limit of ${limits.maxBytes}`);
  }
  const state = { pos: 0, items: 0 };
  scanItem(bytes, state, limits, 0);
  if (state.pos !== bytes.length) {
    throw new CborError('ERR_CBOR_TRAILING', `${bytes.length - state.pos} unexpected bytes after the CBOR data item`, { offset: state.pos });
  }
}

interface ScanState {
  pos: number;
  items: number;
}

/** Reads a head; returns [major type, argument, offset of the head]. Arguments above 2^53 are refused as lengths later. */
function readHead(b: Uint8Array, s: ScanState): [number, number, number, number] {
  const start = s.pos;
  if (start >= b.length) throw new CborError('ERR_CBOR_TRUNCATED', 'input ends where a data item was expected', { offset: start });
  const ib = b[s.pos++]!;
  const major = ib >> 5;
  const ai = ib & 0x1f;
  if (ai < 24) return [major, ai, start, ai];
  if (ai === 31) {
    throw new CborError(
      'ERR_CBOR_INDEFINITE',
      major === 7 ? 'unexpected "break" byte' : 'indefinite-length item: COSE and SCITT require definite lengths (RFC 8949 §4.2.1)',
      { offset: start },
    );
  }
  if (ai > 27) throw new CborError('ERR_CBOR_MALFORMED', `reserved additional information value ${ai}`, { offset: start });
  const n = 1 << (ai - 24);
  if (s.pos + n > b.length) throw new CborError('ERR_CBOR_TRUNCATED', `input ends inside a ${n}-byte argument`, { offset: start });
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + b[s.pos++]!;
  return [major, v, start, ai];
}

function scanItem(b: Uint8Array, s: ScanState, lim: DecodeLimits, depth: number): void {
  if (++s.items > lim.maxItems) throw new CborError('ERR_CBOR_LIMIT', `more than ${lim.maxItems} data items`, { offset: s.pos });
  const [major, arg, start, ai] = readHead(b, s);
  switch (major) {
    case 0:
    case 1:
      return;
    case 2:
    case 3: {
      if (arg > lim.maxStringLength) {
        throw new CborError('ERR_CBOR_LIMIT', `string of ${arg} bytes is longer than the limit of ${lim.maxStringLength}`, { offset: start });
      }
      if (s.pos + arg > b.length) {
        throw new CborError('ERR_CBOR_TRUNCATED', `string declares ${arg} bytes but only ${b.length - s.pos} remain`, { offset: start });
      }
      if (major === 3) {
        try {
          utf8.decode(b.subarray(s.pos, s.pos + arg));
        } catch {
          throw new CborError('ERR_CBOR_MALFORMED', 'text string is not valid UTF-8', { offset: start });
        }
      }
      s.pos += arg;
      return;
    }
    case 4:
    case 5: {
      const what = major === 4 ? 'array' : 'map';
      if (depth + 1 > lim.maxDepth) throw new CborError('ERR_CBOR_LIMIT', `nesting deeper than ${lim.maxDepth}`, { offset: start });
      if (arg > lim.maxContainerLength) {
        throw new CborError('ERR_CBOR_LIMIT', `${what} of ${arg} entries is longer than the limit of ${lim.maxContainerLength}`, { offset: start });
      }
      // Every item takes at least one byte: a declared length the input cannot hold is truncation.
      if (arg * (major === 5 ? 2 : 1) > b.length - s.pos) {
        throw new CborError('ERR_CBOR_TRUNCATED', `${what} declares ${arg} entries but only ${b.length - s.pos} bytes remain`, { offset: start });
      }
      if (major === 4) {
        for (let i = 0; i < arg; i++) scanItem(b, s, lim, depth + 1);
        return;
      }
      const seen = new Set<string>();
      for (let i = 0; i < arg; i++) {
        const keyAt = s.pos;
        const key = mapKey(b, s, lim);
        if (seen.has(key)) throw new CborError('ERR_CBOR_DUPLICATE_KEY', `map has the key ${key} twice (RFC 8949 §5.6)`, { offset: keyAt });
        seen.add(key);
        scanItem(b, s, lim, depth + 1);
      }
      return;
    }
    case 6: {
      if (!lim.allowedTags.includes(arg)) {
        throw new CborError('ERR_CBOR_UNEXPECTED_TAG', `unexpected tag ${arg}; allowed here: ${lim.allowedTags.join(', ') || 'none'}`, { offset: start });
      }
      if (depth + 1 > lim.maxDepth) throw new CborError('ERR_CBOR_LIMIT', `nesting deeper than ${lim.maxDepth}`, { offset: start });
      scanItem(b, s, lim, depth + 1);
      return;
    }
    default: {
      // major 7: false, true, null, undefined and floats; other simple values have no meaning here.
      if (ai >= 20 && ai <= 27 && ai !== 24) return;
      throw new CborError('ERR_CBOR_UNSUPPORTED', `simple value ${arg} is not used by COSE or SCITT`, { offset: start });
    }
  }
}

/**
 * Keys of a top-level map whose values are encoded as floats (major type 7, 16/32/64-bit). cbor-x
 * decodes -7.0 and -7 alike, but COSE integer-valued headers (alg, vds, payload-hash-alg) must not
 * be floats (RFC 9052 §3.1: alg is int / tstr). Keys are given as scanWellFormed names them
 * ("1", "-7", or a JSON string). `bytes` must already have passed scanWellFormed with `limits`.
 */
export function floatValuedKeys(bytes: Uint8Array, limits: Partial<DecodeLimits> = {}): Set<string> {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  const s: ScanState = { pos: 0, items: 0 };
  const out = new Set<string>();
  const [major, length] = readHead(bytes, s);
  if (major !== 5) return out;
  for (let i = 0; i < length; i++) {
    const key = mapKey(bytes, s, lim);
    const ib = bytes[s.pos]!;
    if (ib >> 5 === 7 && (ib & 0x1f) >= 25 && (ib & 0x1f) <= 27) out.add(key);
    scanItem(bytes, s, lim, 1);
  }
  return out;
}

/** Map keys are int or tstr in every structure this project reads (COSE labels, CWT claims, COSE_Key). */
function mapKey(b: Uint8Array, s: ScanState, lim: DecodeLimits): string {
  const at = s.pos;
  if (++s.items > lim.maxItems) throw new CborError('ERR_CBOR_LIMIT', `more than ${lim.maxItems} data items`, { offset: at });
  const [major, arg, start] = readHead(b, s);
  if (major === 0) return String(arg);
  if (major === 1) return String(-1 - arg);
  if (major === 3) {
    if (arg > lim.maxStringLength || s.pos + arg > b.length) {
      throw new CborError('ERR_CBOR_TRUNCATED', `map key declares ${arg} bytes but only ${b.length - s.pos} remain`, { offset: start });
    }
    let text: string;
    try {
      text = utf8.decode(b.subarray(s.pos, s.pos + arg));
    } catch {
      throw new CborError('ERR_CBOR_MALFORMED', 'map key is not valid UTF-8', { offset: start });
    }
    s.pos += arg;
    return JSON.stringify(text);
  }
  throw new CborError('ERR_CBOR_UNSUPPORTED', 'map key is neither an integer nor a text string', { offset: at });
}
