/**
 * Readable views of this project's COSE/CBOR objects: CBOR diagnostic notation (RFC 8949 §8) with
 * header labels, claims and algorithm values named in EDN comments, and an equivalent JSON view.
 * Nested encodings (protected headers, receipts under 394, proofs under 396) are decoded in place.
 */
import { Tag, decode } from './cbor.ts';
import { claimName, headerName } from './cose/headers.ts';
import { decodeProtected } from './cose/sign1.ts';

const ALG_NAMES = new Map<number, string>([[-7, 'ES256'], [-35, 'ES384'], [-36, 'ES512'], [-8, 'EdDSA'], [-16, 'SHA-256'], [-43, 'SHA-384'], [-44, 'SHA-512']]);
const VDS_NAMES = new Map<number, string>([[1, 'RFC9162_SHA256'], [2, 'CCF_LEDGER_SHA256']]);
const VDP_NAMES = new Map<number, string>([[-1, 'inclusion proofs'], [-2, 'consistency proofs']]);
const KEY_NAMES = new Map<number, string>([[1, 'kty'], [2, 'kid'], [3, 'alg'], [-1, 'crv'], [-2, 'x'], [-3, 'y'], [-4, 'd']]);
const BYTES_SHOWN = 96;

type Ctx = 'top' | 'protected' | 'unprotected' | 'claims' | 'vdp' | 'key' | 'plain';

export interface Diagnostic {
  /** what the object looks like: Signed Statement, Transparent Statement, Receipt, COSE_Key, … */
  kind: string;
  text: string;
  json: unknown;
}

export function diagnose(bytes: Uint8Array): Diagnostic {
  const value = decode(bytes, { allowedTags: [18] });
  return { kind: kindOf(value), text: edn(value, 'top', 0), json: toJson(value, 'top') };
}

/** Hostile input may put anything in the four slots: only this shape is shown as a COSE_Sign1. */
function isSign1(v: unknown): v is [Uint8Array, Map<unknown, unknown>, Uint8Array | null, Uint8Array] {
  return Array.isArray(v) && v.length === 4 && v[0] instanceof Uint8Array && v[1] instanceof Map && (v[2] === null || v[2] instanceof Uint8Array) && v[3] instanceof Uint8Array;
}

function kindOf(v: unknown): string {
  if (v instanceof Tag && isSign1(v.value)) {
    const [p, u] = v.value;
    const ph: unknown = decodeProtected(p);
    if (!(ph instanceof Map)) return 'CBOR';
    if (ph.has(395)) return 'Receipt (COSE_Sign1)';
    if (u.has(394)) return 'Transparent Statement (COSE_Sign1 with receipts)';
    if (ph.has(258)) return 'Signed Statement (COSE_Sign1, Hash Envelope)';
    return 'Signed Statement (COSE_Sign1)';
  }
  if (v instanceof Map && v.has(1) && (v.has(-2) || v.has(-1))) return 'COSE_Key';
  if (Array.isArray(v) && v.length > 0 && v.every((k) => k instanceof Map && k.has(1))) return 'COSE_KeySet';
  return 'CBOR';
}

const hexOf = (b: Uint8Array, all = false) => Buffer.from(all ? b : b.subarray(0, BYTES_SHOWN)).toString('hex');

function labelName(ctx: Ctx, k: unknown): string | undefined {
  if (ctx === 'protected' || ctx === 'unprotected') return headerName(k as number);
  if (ctx === 'claims') return claimName(k as number);
  if (ctx === 'vdp') return VDP_NAMES.get(k as number);
  if (ctx === 'key') return KEY_NAMES.get(k as number);
  return undefined;
}

function valueNote(ctx: Ctx, k: unknown, v: unknown): string | undefined {
  if ((ctx === 'protected' || ctx === 'key') && (k === 1 || k === 3 || k === 258) && typeof v === 'number') return ALG_NAMES.get(v);
  if (ctx === 'protected' && k === 395 && typeof v === 'number') return VDS_NAMES.get(v);
  // NumericDates outside what Date can show (±8.64e12 s) get no note rather than a RangeError
  if (ctx === 'claims' && (k === 4 || k === 5 || k === 6) && typeof v === 'number' && Math.abs(v) <= 8.64e12) return new Date(v * 1000).toISOString();
  return undefined;
}

function childCtx(ctx: Ctx, k: unknown): Ctx {
  if ((ctx === 'protected' || ctx === 'unprotected') && k === 15) return 'claims';
  if (ctx === 'unprotected' && k === 396) return 'vdp';
  return 'plain';
}

/** Byte strings that hold CBOR we know: receipts (394) and proofs (396). */
function nested(ctx: Ctx, k: unknown, v: unknown): unknown[] | undefined {
  const wraps = (ctx === 'unprotected' && k === 394) || ctx === 'vdp';
  if (!wraps || !Array.isArray(v)) return undefined;
  return v.map((item) => {
    if (!(item instanceof Uint8Array)) return item;
    try {
      return { nested: decode(item, { allowedTags: [18] }) };
    } catch {
      return item;
    }
  });
}

function edn(v: unknown, ctx: Ctx, depth: number): string {
  const pad = '  '.repeat(depth + 1);
  const end = '  '.repeat(depth);
  if (v instanceof Tag) return `${v.tag}(${edn(v.value, v.tag === 18 ? 'top' : 'plain', depth)})`;
  if (v instanceof Date) return `1(${v.getTime() / 1000}) / ${Number.isNaN(v.getTime()) ? 'invalid date' : v.toISOString()} /`;
  if (ctx === 'top' && isSign1(v)) {
    const [p, u, payload, sig] = v;
    const ph = p.length ? edn(decodeProtected(p), 'protected', depth + 1) : "h''";
    return [
      '[',
      `${pad}/ protected / ${p.length ? `<< ${ph} >>` : ph},`,
      `${pad}/ unprotected / ${edn(u, 'unprotected', depth + 1)},`,
      `${pad}/ payload / ${payload === null ? 'nil / detached /' : edn(payload, 'plain', depth + 1)},`,
      `${pad}/ signature / ${edn(sig, 'plain', depth + 1)}`,
      `${end}]`,
    ].join('\n');
  }
  if (v instanceof Map) {
    if (v.size === 0) return '{}';
    const inner = ctx === 'top' ? 'key' : ctx;
    const lines = [...v].map(([k, val]) => {
      const name = labelName(inner, k);
      const note = valueNote(inner, k, val);
      const wrapped = nested(inner, k, val);
      const body = wrapped
        ? `[\n${wrapped.map((w) => `${pad}  ${w && typeof w === 'object' && 'nested' in w ? `<< ${edn(w.nested, 'plain', depth + 2)} >>` : edn(w, 'plain', depth + 2)}`).join(',\n')}\n${pad}]`
        : edn(val, childCtx(inner, k), depth + 1);
      return `${pad}${name ? `/ ${name} / ` : ''}${edn(k, 'plain', 0)}: ${body}${note ? ` / ${note} /` : ''}`;
    });
    return `{\n${lines.join(',\n')}\n${end}}`;
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    const simple = v.every((x) => typeof x !== 'object' || x === null);
    if (simple) return `[${v.map((x) => edn(x, 'plain', 0)).join(', ')}]`;
    return `[\n${v.map((x) => `${pad}${edn(x, ctx === 'top' ? 'key' : ctx, depth + 1)}`).join(',\n')}\n${end}]`;
  }
  if (v instanceof Uint8Array) {
    const more = v.length > BYTES_SHOWN ? ` / … ${v.length} bytes in all /` : '';
    return `h'${hexOf(v)}'${more}`;
  }
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  return String(v);
}

function toJson(v: unknown, ctx: Ctx): unknown {
  if (v instanceof Tag) {
    if (v.tag === 18 && isSign1(v.value)) {
      const [p, u, payload, sig] = v.value;
      return {
        tag: 18,
        protected: p.length ? toJson(decodeProtected(p), 'protected') : {},
        unprotected: toJson(u, 'unprotected'),
        payload: payload === null ? null : hexOf(payload, true),
        signature: hexOf(sig, true),
      };
    }
    return { tag: v.tag, value: toJson(v.value, 'plain') };
  }
  if (v instanceof Map) {
    const inner = ctx === 'top' ? 'key' : ctx;
    const out: Record<string, unknown> = {};
    for (const [k, val] of v) {
      const name = labelName(inner, k) ?? String(k);
      const wrapped = nested(inner, k, val);
      const note = valueNote(inner, k, val);
      out[name] = wrapped
        ? wrapped.map((w) => (w && typeof w === 'object' && 'nested' in w ? toJson(w.nested, 'plain') : toJson(w, 'plain')))
        : note
          ? { value: toJson(val, 'plain'), name: note }
          : toJson(val, childCtx(inner, k));
    }
    return out;
  }
  if (Array.isArray(v)) return v.map((x) => toJson(x, ctx === 'top' ? 'key' : ctx));
  if (v instanceof Uint8Array) return hexOf(v, true);
  if (v instanceof Date) return { tag: 1, value: v.getTime() / 1000 };
  if (typeof v === 'bigint') return v.toString();
  return v;
}
