/**
 * Structure-aware mutation of CBOR and JSON inputs, shared by the fast-check properties
 * (fuzz.test.ts), the HTTP fuzzer and the coverage-guided engines (jazzer/). Deterministic for a
 * given seed, so every generated input can be reproduced from (seed input, PRNG seed).
 *
 * CBOR inputs are parsed leniently into a tree that keeps what the project's strict decoder would
 * refuse (duplicate keys, unsorted maps, any tag), byte strings that themselves hold CBOR (protected
 * headers, receipts under 394, proofs under 396) are parsed recursively, and the tree is mutated
 * where COSE and SCITT give meaning: labels, algorithm ids, hash lengths, tree sizes, tags. Re-encoding
 * occasionally uses non-minimal heads. Byte-level mutations (flips, splices, lying lengths) cover
 * what the tree cannot express.
 */

export interface Rng {
  /** [0, 1) */
  next(): number;
  /** 0 … n−1 */
  int(n: number): number;
  pick<T>(a: readonly T[]): T;
  chance(p: number): boolean;
}

/** mulberry32: small, fast, good enough to drive mutations. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r: Rng = {
    next,
    int: (n) => Math.floor(next() * Math.max(1, n)),
    pick: (xs) => xs[r.int(xs.length)]!,
    chance: (p) => next() < p,
  };
  return r;
}

// ---------------------------------------------------------------------------------------------
// a lenient CBOR tree

export type Node =
  | { t: 'uint'; v: bigint }
  /** -1 - v */
  | { t: 'nint'; v: bigint }
  | { t: 'bytes'; v: Uint8Array; inner?: Node }
  | { t: 'text'; v: Uint8Array }
  | { t: 'array'; v: Node[] }
  | { t: 'map'; v: [Node, Node][] }
  | { t: 'tag'; n: bigint; v: Node }
  | { t: 'simple'; v: number }
  | { t: 'float'; v: number }
  /** bytes written as they are: garbage or indefinite-length items */
  | { t: 'raw'; v: Uint8Array };

const MAX_PARSE_DEPTH = 32;

/** Parses one CBOR item filling `b` exactly, or undefined. Indefinite lengths are not parsed (kept as bytes by the caller). */
export function parse(b: Uint8Array): Node | undefined {
  const s = { pos: 0 };
  try {
    const n = item(b, s, 0);
    return s.pos === b.length ? n : undefined;
  } catch {
    return undefined;
  }
}

function arg(b: Uint8Array, s: { pos: number }, ai: number): bigint {
  if (ai < 24) return BigInt(ai);
  if (ai > 27) throw new Error('reserved');
  const n = 1 << (ai - 24);
  if (s.pos + n > b.length) throw new Error('truncated');
  let v = 0n;
  for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(b[s.pos++]!);
  return v;
}

function item(b: Uint8Array, s: { pos: number }, depth: number): Node {
  if (depth > MAX_PARSE_DEPTH || s.pos >= b.length) throw new Error('stop');
  const ib = b[s.pos++]!;
  const major = ib >> 5;
  const ai = ib & 31;
  if (ai === 31) throw new Error('indefinite');
  if (major === 7) {
    if (ai === 25 || ai === 26 || ai === 27) {
      const n = 1 << (ai - 24);
      if (s.pos + n > b.length) throw new Error('truncated');
      const dv = new DataView(b.buffer, b.byteOffset + s.pos, n);
      s.pos += n;
      return { t: 'float', v: n === 2 ? halfToFloat(dv.getUint16(0)) : n === 4 ? dv.getFloat32(0) : dv.getFloat64(0) };
    }
    return { t: 'simple', v: Number(arg(b, s, ai)) };
  }
  const v = arg(b, s, ai);
  switch (major) {
    case 0:
      return { t: 'uint', v };
    case 1:
      return { t: 'nint', v };
    case 2:
    case 3: {
      const n = Number(v);
      if (s.pos + n > b.length) throw new Error('truncated');
      const bytes = b.slice(s.pos, s.pos + n);
      s.pos += n;
      if (major === 3) return { t: 'text', v: bytes };
      const inner = bytes.length > 1 && depth < MAX_PARSE_DEPTH - 1 ? parse(bytes) : undefined;
      return inner && (inner.t === 'map' || inner.t === 'array' || inner.t === 'tag') ? { t: 'bytes', v: bytes, inner } : { t: 'bytes', v: bytes };
    }
    case 4: {
      if (v > BigInt(b.length - s.pos)) throw new Error('too long');
      const items: Node[] = [];
      for (let i = 0; i < Number(v); i++) items.push(item(b, s, depth + 1));
      return { t: 'array', v: items };
    }
    case 5: {
      if (v * 2n > BigInt(b.length - s.pos)) throw new Error('too long');
      const pairs: [Node, Node][] = [];
      for (let i = 0; i < Number(v); i++) pairs.push([item(b, s, depth + 1), item(b, s, depth + 1)]);
      return { t: 'map', v: pairs };
    }
    default:
      return { t: 'tag', n: v, v: item(b, s, depth + 1) };
  }
}

function halfToFloat(h: number): number {
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (e === 0) return sign * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : sign * Infinity;
  return sign * 2 ** (e - 15) * (1 + f / 1024);
}

function head(major: number, v: bigint, out: number[], r?: Rng): void {
  let w = v < 24n ? 0 : v < 0x100n ? 1 : v < 0x10000n ? 2 : v < 0x100000000n ? 4 : 8;
  // now and then a non-minimal head (RFC 8949 §4.2.1 forbids it in deterministic encoding)
  if (r?.chance(0.02)) w = r.pick([1, 2, 4, 8].filter((x) => x >= w));
  if (w === 0) return void out.push((major << 5) | Number(v));
  out.push((major << 5) | ({ 1: 24, 2: 25, 4: 26, 8: 27 } as Record<number, number>)[w]!);
  for (let i = w - 1; i >= 0; i--) out.push(Number((v >> BigInt(8 * i)) & 0xffn));
}

/** Encodes a tree; with `r`, sometimes non-minimally. Inner trees of byte strings are re-encoded into them. */
function encodeNode(n: Node, r?: Rng): Uint8Array {
  const out: number[] = [];
  write(n, out, r);
  return new Uint8Array(out);
}

function write(n: Node, out: number[], r?: Rng): void {
  switch (n.t) {
    case 'uint':
      return head(0, n.v, out, r);
    case 'nint':
      return head(1, n.v, out, r);
    case 'bytes': {
      const b = n.inner ? encodeNode(n.inner, r) : n.v;
      head(2, BigInt(b.length), out, r);
      for (const x of b) out.push(x);
      return;
    }
    case 'text':
      head(3, BigInt(n.v.length), out, r);
      for (const x of n.v) out.push(x);
      return;
    case 'array':
      head(4, BigInt(n.v.length), out, r);
      for (const x of n.v) write(x, out, r);
      return;
    case 'map':
      head(5, BigInt(n.v.length), out, r);
      for (const [k, v] of n.v) {
        write(k, out, r);
        write(v, out, r);
      }
      return;
    case 'tag':
      head(6, n.n, out, r);
      return write(n.v, out, r);
    case 'simple':
      if (n.v < 24) out.push(0xe0 | n.v);
      else out.push(0xf8, n.v & 0xff);
      return;
    case 'float': {
      const dv = new DataView(new ArrayBuffer(8));
      dv.setFloat64(0, n.v);
      out.push(0xfb, ...new Uint8Array(dv.buffer));
      return;
    }
    case 'raw':
      for (const x of n.v) out.push(x);
  }
}

// ---------------------------------------------------------------------------------------------
// values that mean something in COSE / SCITT

const te = new TextEncoder();
const INTS = [0n, 1n, 2n, 3n, 4n, 15n, 16n, 18n, 23n, 24n, 32n, 33n, 34n, 255n, 256n, 258n, 259n, 260n, 394n, 395n, 396n, 65535n, 65536n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];
/** as -1 - v: -1, -2, -3, -4, -7, -8, -16, -35, -36, -43, -44, -111, -222, -2^63 … */
const NINTS = [0n, 1n, 2n, 3n, 6n, 7n, 15n, 34n, 35n, 42n, 43n, 110n, 221n, 6799n, 2n ** 31n, 2n ** 53n, 2n ** 63n - 1n, 2n ** 64n - 1n];
const TEXTS = ['', 'none', 'ES256', 'https://issuer.example', 'did:x509:0:sha256:WE4P5dd8DnLHSkyHaIjhp4udlkF9LqoKwCvu9gl38jk::san:uri:https%3A%2F%2Fx', 'pkg:generic/app@1.0?checksum=sha256:' + 'a'.repeat(64), 'tree_alg', 'CCF', 'ce:2.1:00', '../../../../etc/passwd', 'http://169.254.169.254/latest', 'a\r\nX-Injected: 1', '\u001b[2J', '\u0000', 'é', 'x'.repeat(300)];
const HASH_LENGTHS = [0, 1, 20, 31, 32, 33, 48, 63, 64, 65, 96, 132];
const LABELS: Node[] = [...[1n, 2n, 3n, 4n, 5n, 6n, 15n, 16n, 32n, 33n, 34n, 258n, 259n, 260n, 394n, 395n, 396n].map((v): Node => ({ t: 'uint', v })), ...[0n, 1n, 2n, 3n, 110n, 221n].map((v): Node => ({ t: 'nint', v })), { t: 'text', v: te.encode('tree_alg') }, { t: 'text', v: te.encode('ccf.v1') }];

function randomNode(r: Rng, depth = 0): Node {
  const k = r.int(depth > 2 ? 9 : 13);
  switch (k) {
    case 0:
      return { t: 'uint', v: r.pick(INTS) };
    case 1:
      return { t: 'nint', v: r.pick(NINTS) };
    case 2:
      return { t: 'uint', v: BigInt(r.int(1000)) };
    case 3:
      return { t: 'text', v: te.encode(r.pick(TEXTS)) };
    case 4:
    case 5: {
      const len = r.chance(0.7) ? r.pick(HASH_LENGTHS) : r.int(300);
      const b = new Uint8Array(len);
      for (let i = 0; i < len; i++) b[i] = r.chance(0.5) ? 0 : r.int(256);
      return { t: 'bytes', v: b };
    }
    case 6:
      return { t: 'simple', v: r.pick([20, 21, 22, 23, 0, 19, 32, 255]) };
    case 7:
      return { t: 'float', v: r.pick([-7, 0.5, -0, NaN, Infinity, 1e300, 1700000000.5]) };
    case 8:
      return { t: 'raw', v: new Uint8Array([r.pick([0xff, 0x1c, 0x5f, 0x9f, 0xbf, 0x7f, 0x1b, 0xf8])]) };
    case 9:
      return { t: 'array', v: Array.from({ length: r.int(4) }, () => randomNode(r, depth + 1)) };
    case 10:
      return { t: 'map', v: Array.from({ length: r.int(4) }, (): [Node, Node] => [r.chance(0.7) ? r.pick(LABELS) : randomNode(r, depth + 1), randomNode(r, depth + 1)]) };
    case 11:
      return { t: 'tag', n: r.pick([18n, 18n, 0n, 1n, 2n, 16n, 17n, 24n, 98n, 55799n]), v: randomNode(r, depth + 1) };
    default: {
      const inner = randomNode(r, depth + 1);
      return { t: 'bytes', v: encodeNode(inner), inner };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// tree mutations

interface Site {
  node: Node;
}

function sites(n: Node, acc: Site[] = [], depth = 0): Site[] {
  if (depth > MAX_PARSE_DEPTH) return acc;
  acc.push({ node: n });
  if (n.t === 'array') n.v.forEach((x) => sites(x, acc, depth + 1));
  else if (n.t === 'map') n.v.forEach(([k, v]) => (sites(k, acc, depth + 1), sites(v, acc, depth + 1)));
  else if (n.t === 'tag') sites(n.v, acc, depth + 1);
  else if (n.t === 'bytes' && n.inner) sites(n.inner, acc, depth + 1);
  return acc;
}

function replace(target: Node, by: Node): void {
  for (const k of Object.keys(target)) delete (target as Record<string, unknown>)[k];
  Object.assign(target, structuredClone(by));
}

function mutateNode(n: Node, r: Rng): void {
  const generic = r.int(10);
  if (generic === 0) return replace(n, randomNode(r));
  if (generic === 1) return replace(n, { t: 'tag', n: r.pick([18n, 1n, 24n, 98n]), v: structuredClone(n) });
  switch (n.t) {
    case 'uint':
    case 'nint':
      if (r.chance(0.5)) n.v = r.pick(n.t === 'uint' ? INTS : NINTS);
      else if (r.chance(0.5)) replace(n, { t: n.t === 'uint' ? 'nint' : 'uint', v: n.v });
      else n.v = n.v + BigInt(r.pick([1, -1, 2])) < 0n ? 0n : n.v + BigInt(r.pick([1, -1, 2]));
      return;
    case 'bytes': {
      const op = r.int(6);
      const b = n.inner ? encodeNode(n.inner) : n.v;
      delete n.inner;
      if (op === 0) n.v = b.subarray(0, r.int(b.length + 1));
      else if (op === 1) n.v = new Uint8Array([...b, ...new Uint8Array(r.int(40)).map(() => r.int(256))]);
      else if (op === 2) n.v = new Uint8Array(r.pick(HASH_LENGTHS));
      else if (op === 3 && b.length) {
        const c = b.slice();
        c[r.int(c.length)]! ^= 1 << r.int(8);
        n.v = c;
      } else if (op === 4) {
        const inner = randomNode(r);
        n.v = encodeNode(inner);
        n.inner = inner;
      } else n.v = new Uint8Array(0);
      return;
    }
    case 'text':
      n.v = r.chance(0.7) ? te.encode(r.pick(TEXTS)) : new Uint8Array([...n.v, r.pick([0xc3, 0xff, 0x0a, 0x00, 0x41])]);
      return;
    case 'array': {
      const op = r.int(5);
      if (op === 0 && n.v.length) n.v.splice(r.int(n.v.length), 1);
      else if (op === 1 && n.v.length) n.v.splice(r.int(n.v.length), 0, structuredClone(r.pick(n.v)));
      else if (op === 2) n.v.splice(r.int(n.v.length + 1), 0, randomNode(r));
      else if (op === 3) n.v = n.v.slice(0, r.int(n.v.length + 1));
      else n.v.reverse();
      return;
    }
    case 'map': {
      const op = r.int(6);
      if (op === 0 && n.v.length) n.v.splice(r.int(n.v.length), 1);
      else if (op === 1 && n.v.length) n.v.push(structuredClone(r.pick(n.v))); // duplicate key
      else if (op === 2) n.v.push([structuredClone(r.pick(LABELS)), randomNode(r)]);
      else if (op === 3 && n.v.length) n.v[r.int(n.v.length)]![0] = structuredClone(r.pick(LABELS));
      else if (op === 4) n.v.reverse();
      else if (n.v.length) n.v[r.int(n.v.length)]![1] = randomNode(r);
      return;
    }
    case 'tag':
      if (r.chance(0.5)) n.n = r.pick([18n, 16n, 17n, 98n, 0n, 1n, 2n, 24n]);
      else replace(n, n.v);
      return;
    default:
      replace(n, randomNode(r));
  }
}

// ---------------------------------------------------------------------------------------------
// byte mutations

const BYTES = [0x00, 0x01, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f, 0x40, 0x5f, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc2, 0xd2, 0xd8, 0xf4, 0xf6, 0xf7, 0xf9, 0xfb, 0xff];

function mutateBytes(b: Uint8Array, r: Rng, pool: readonly Uint8Array[]): Uint8Array {
  const a = [...b];
  const op = r.int(9);
  const at = r.int(a.length + 1);
  switch (op) {
    case 0:
      if (a.length) a[r.int(a.length)]! ^= 1 << r.int(8);
      break;
    case 1:
      if (a.length) a[r.int(a.length)] = r.pick(BYTES);
      break;
    case 2:
      a.splice(at, 0, ...Array.from({ length: 1 + r.int(16) }, () => r.int(256)));
      break;
    case 3:
      a.splice(at, 1 + r.int(Math.max(1, a.length - at)));
      break;
    case 4: {
      const from = r.int(a.length);
      a.splice(at, 0, ...a.slice(from, from + 1 + r.int(64)));
      break;
    }
    case 5: {
      const other = pool.length ? r.pick(pool) : b;
      const from = r.int(other.length);
      a.splice(at, r.int(32), ...other.subarray(from, from + 1 + r.int(128)));
      break;
    }
    case 6:
      a.length = r.int(a.length + 1);
      break;
    case 7: {
      // make a length lie: bump the argument of a head
      if (a.length) {
        const i = r.int(a.length);
        a[i] = (a[i]! & 0xe0) | r.pick([0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1f]);
      }
      break;
    }
    default:
      a.push(...Array.from({ length: 1 + r.int(8) }, () => r.pick(BYTES)));
  }
  return new Uint8Array(a);
}

// ---------------------------------------------------------------------------------------------
// JSON and text mutations (registration policies, did:x509, trusted roots, PEM/JWK keys)

const JSON_VALUES: unknown[] = [null, true, 0, -1, 1e308, 0.5, 2 ** 53, '', 'x'.repeat(1000), [], {}, [[[[[[[[[[[]]]]]]]]]]], 'AA', 'P-256', 'EC', 'OKP', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'];

function mutateJson(v: unknown, r: Rng, depth = 0): unknown {
  if (depth > 8 || r.chance(0.25)) return r.chance(0.5) ? structuredClone(r.pick(JSON_VALUES)) : v;
  if (Array.isArray(v)) {
    const c = [...v];
    if (c.length && r.chance(0.6)) {
      const i = r.int(c.length);
      c[i] = mutateJson(c[i], r, depth + 1);
    } else if (r.chance(0.5)) c.push(structuredClone(r.pick(JSON_VALUES)));
    else c.splice(r.int(c.length), 1);
    return c;
  }
  if (v && typeof v === 'object') {
    const o = { ...(v as Record<string, unknown>) };
    const keys = Object.keys(o);
    if (keys.length && r.chance(0.6)) {
      const k = r.pick(keys);
      o[k] = mutateJson(o[k], r, depth + 1);
    } else if (keys.length && r.chance(0.5)) delete o[r.pick(keys)];
    else {
      const key = r.pick(['issuers', 'x509', 'roots', 'identity', 'key', 'kty', 'crv', 'x', 'y', 'kid', 'alg', 'maxStatementBytes', 'certificateAuthorities', 'mediaType', 'rawBytes', 'validFor', '__proto__', 'constructor']);
      // an own property even for "__proto__", as JSON.parse makes it
      Object.defineProperty(o, key, { value: structuredClone(r.pick(JSON_VALUES)), enumerable: true, writable: true, configurable: true });
    }
    return o;
  }
  return structuredClone(r.pick(JSON_VALUES));
}

const td = new TextDecoder();

function mutateText(b: Uint8Array, r: Rng, pool: readonly Uint8Array[]): Uint8Array {
  const s = td.decode(b);
  if (r.chance(0.6)) {
    try {
      return te.encode(JSON.stringify(mutateJson(JSON.parse(s), r)));
    } catch {
      // not JSON: fall through to text edits
    }
  }
  const parts = [':', '::', '%', '%2', '%ZZ', '%00', '\n', '-----END CERTIFICATE-----', 'A'.repeat(r.int(200)), '==', '\u0000', 'é'];
  const at = r.int(s.length + 1);
  const edit = r.int(4);
  const out = edit === 0 ? s.slice(0, at) + r.pick(parts) + s.slice(at) : edit === 1 ? s.slice(0, at) + s.slice(at + 1 + r.int(20)) : edit === 2 ? s.slice(0, at) : s + s.slice(at);
  return r.chance(0.2) ? mutateBytes(te.encode(out), r, pool) : te.encode(out);
}

// ---------------------------------------------------------------------------------------------

export type InputKind = 'cbor' | 'text';

/** One to three stacked mutations of `input`; `pool` provides splice material. */
export function mutate(input: Uint8Array, r: Rng, pool: readonly Uint8Array[] = [], kind: InputKind = 'cbor'): Uint8Array {
  let out = input;
  const rounds = 1 + r.int(3);
  for (let i = 0; i < rounds; i++) {
    if (kind === 'text') {
      out = mutateText(out, r, pool);
      continue;
    }
    const tree = r.chance(0.6) ? parse(out) : undefined;
    if (tree) {
      const all = sites(tree);
      mutateNode(r.pick(all).node, r);
      out = encodeNode(tree, r);
    } else {
      out = mutateBytes(out, r, pool);
    }
  }
  return out;
}

/** A random CBOR item, biased towards COSE/SCITT shapes (a COSE_Sign1 one time in three). */
export function randomCbor(r: Rng): Uint8Array {
  if (r.chance(0.33)) {
    const protectedMap: Node = { t: 'map', v: Array.from({ length: r.int(5) }, (): [Node, Node] => [structuredClone(r.pick(LABELS)), randomNode(r, 1)]) };
    return encodeNode({ t: 'tag', n: 18n, v: { t: 'array', v: [{ t: 'bytes', v: encodeNode(protectedMap), inner: protectedMap }, randomNode(r, 1), randomNode(r, 2), randomNode(r, 2)] } }, r);
  }
  return encodeNode(randomNode(r), r);
}
