/**
 * Builders for hostile inputs, shared by the catalogue, the fuzz properties and the coverage-guided
 * harnesses. Everything here builds bytes on purpose wrong in one precise way; nothing is mocked:
 * signatures are real, so a case fails for its own reason and not for a bad signature.
 */
import { createHash, sign as nodeSign } from 'node:crypto';
import { Tag, encode } from '../../packages/core/src/cbor.ts';
import { Header } from '../../packages/core/src/cose/headers.ts';
import { type CoseKey, fromJwk, generateKey, privateKeyObject, publicKey, thumbprint } from '../../packages/core/src/cose/key.ts';
import { type Signer, keySigner, sigStructure } from '../../packages/core/src/cose/sign1.ts';
import { MerkleTree, leafHash } from '../../packages/core/src/merkle/index.ts';
import { TrustedKeys, issueReceipt, statementEntry, trustedKey } from '../../packages/core/src/receipt/index.ts';

export const text = (s: string) => new TextEncoder().encode(s);
export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
export const cat = (...parts: (Uint8Array | number[])[]) => new Uint8Array(parts.flatMap((p) => [...p]));
export const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

/**
 * Raw CBOR (RFC 8949 §3), item by item, so tests can write what a conforming encoder never emits:
 * non-minimal heads, unsorted or duplicate map keys, any tag, lengths that lie.
 */
export const cb = {
  /** a head: major type, argument, and optionally the argument width in bytes (0 = in the initial byte) */
  head(major: number, arg: number | bigint, width?: 0 | 1 | 2 | 4 | 8): Uint8Array {
    const n = BigInt(arg);
    const w = width ?? (n < 24n ? 0 : n < 0x100n ? 1 : n < 0x10000n ? 2 : n < 0x100000000n ? 4 : 8);
    if (w === 0) return new Uint8Array([(major << 5) | Number(n)]);
    const ai = { 1: 24, 2: 25, 4: 26, 8: 27 }[w];
    const out = new Uint8Array(1 + w);
    out[0] = (major << 5) | ai;
    for (let i = 0; i < w; i++) out[w - i] = Number((n >> BigInt(8 * i)) & 0xffn);
    return out;
  },
  uint: (n: number | bigint, width?: 0 | 1 | 2 | 4 | 8) => cb.head(0, n, width),
  nint: (n: number, width?: 0 | 1 | 2 | 4 | 8) => cb.head(1, -1 - n, width),
  int: (n: number, width?: 0 | 1 | 2 | 4 | 8) => (n >= 0 ? cb.uint(n, width) : cb.nint(n, width)),
  bytes: (b: Uint8Array) => cat(cb.head(2, b.length), b),
  text: (s: string) => cb.bytes(text(s)).map((x, i) => (i === 0 ? x + 0x20 : x)) as Uint8Array,
  array: (items: Uint8Array[]) => cat(cb.head(4, items.length), ...items),
  /** pairs are written in the order given, duplicates included */
  map: (pairs: [Uint8Array, Uint8Array][]) => cat(cb.head(5, pairs.length), ...pairs.flatMap(([k, v]) => [k, v])),
  tag: (n: number, item: Uint8Array) => cat(cb.head(6, n), item),
  null: () => new Uint8Array([0xf6]),
  /** any value through the project's deterministic encoder */
  value: (v: unknown) => encode(v),
};

export function nested(kind: 'array' | 'map', depth: number): Uint8Array {
  let inner = new Uint8Array([0x00]);
  for (let i = 0; i < depth; i++) inner = kind === 'array' ? cat([0x81], inner) : cat([0xa1, 0x00], inner);
  return inner;
}

// ---------------------------------------------------------------------------------------------
// keys

export interface Party {
  key: CoseKey;
  pub: CoseKey;
  kid: Uint8Array;
  signer: Signer;
}

export function party(crv: Parameters<typeof generateKey>[0] = 'P-256', key: CoseKey = generateKey(crv)): Party {
  return { key, pub: publicKey(key), kid: thumbprint(key), signer: keySigner(key) };
}

/**
 * Fixed test keys (never used outside tests), so that statements and receipts saved in the corpus
 * keep their meaning from one run to the next: a corpus statement signed by `issuer` still verifies.
 */
const ISSUER_JWK = { kty: 'EC', crv: 'P-256', x: 'ScZm36LhPyfDjaxV_gdaiPrWW4Wq-MYx7FKuDu22V4Y', y: 'Lqi07xSi4se_in1-kzvhrK40nnj4Ef5_Fz2M2LgEHuA', d: 'wgIAa0kih2UMITVbszHlioQZ9Klk6emtY8HQgD2Bj9Y' };
const SERVICE_JWK = { kty: 'EC', crv: 'P-256', x: '4ZggQ2JGHSFK6UPu396WzG6OMMTthBOK8PmsLrSQD88', y: 'G9ZO_We91u1aQWipF9qvXFwJsCrYOxGUE8FTnIt9JX0', d: 'zyu2ysZpflauJyWVi_qbqJ4o-V4mn6FZh5-X0GmLrp4' };

/** The issuer every "trusted" statement is signed by (the test Transparency Service trusts it). */
export const issuer = party('P-256', fromJwk(ISSUER_JWK));
export const issuer384 = party('P-384');
export const issuerEd = party('Ed25519');
/** A Transparency Service key (receipts) and a second, independent trusted service. */
export const service = party('P-256', fromJwk(SERVICE_JWK));
export const service2 = party('P-256');
export const trustedServices = () => new TrustedKeys([trustedKey(service.pub), trustedKey(service2.pub)]);

export const SBOM = text('{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}');
export const ISS = 'https://issuer.example';

/** CWT claims map as raw CBOR: iss, sub, iat. */
export function claimsCbor(o: { iss?: string; sub?: string; iat?: number } = {}): Uint8Array {
  return cb.map([
    [cb.uint(1), cb.text(o.iss ?? ISS)],
    [cb.uint(2), cb.text(o.sub ?? 'pkg:generic/app@1.0.0')],
    [cb.uint(6), cb.uint(o.iat ?? 1_700_000_000)],
  ]);
}

/** A protected header map as raw CBOR pairs, in the order given. */
export function protectedOf(pairs: [Uint8Array, Uint8Array][]): Uint8Array {
  return cb.map(pairs);
}

/** The usual protected header of a kid-identified statement, as raw pairs (alg, kid, claims). */
export function statementPairs(o: { alg?: number; kid?: Uint8Array; claims?: Uint8Array } = {}): [Uint8Array, Uint8Array][] {
  return [
    [cb.uint(1), cb.int(o.alg ?? -7)],
    [cb.uint(4), cb.bytes(o.kid ?? issuer.kid)],
    [cb.uint(15), o.claims ?? claimsCbor()],
  ];
}

export interface RawSign1 {
  protectedBytes: Uint8Array;
  /** raw CBOR of the unprotected map; defaults to {} */
  unprotected?: Uint8Array;
  /** null = detached; the signature then covers `signedPayload` */
  payload?: Uint8Array | null;
  signedPayload?: Uint8Array;
  signer?: Signer;
  /** replaces the signature after signing */
  signature?: (good: Uint8Array, tbs: Uint8Array) => Uint8Array;
  tag?: number | null;
}

/** A COSE_Sign1 with exactly these protected bytes, signed for real over its Sig_structure. */
export async function rawSign1(o: RawSign1): Promise<Uint8Array> {
  const payload = o.payload === undefined ? SBOM : o.payload;
  const tbs = sigStructure(o.protectedBytes, payload ?? o.signedPayload ?? SBOM);
  const good = await (o.signer ?? issuer.signer).sign(tbs);
  const signature = o.signature ? o.signature(good, tbs) : good;
  const arr = cb.array([cb.bytes(o.protectedBytes), o.unprotected ?? cb.map([]), payload === null ? cb.null() : cb.bytes(payload), cb.bytes(signature)]);
  return o.tag === null ? arr : cb.tag(o.tag ?? 18, arr);
}

/** A well-formed statement by `issuer` (kid), optionally with extra protected pairs appended. */
export function goodStatement(extra: [Uint8Array, Uint8Array][] = [], o: Partial<RawSign1> = {}): Promise<Uint8Array> {
  return rawSign1({ protectedBytes: protectedOf([...statementPairs(), ...extra]), ...o });
}

/** DER ECDSA signature of the Sig_structure (what node:crypto, KMS and HSMs give by default). */
export function derSignature(key: CoseKey, tbs: Uint8Array, hash: 'sha256' | 'sha384' | 'sha512'): Uint8Array {
  return new Uint8Array(nodeSign(hash, tbs, { key: privateKeyObject(key), dsaEncoding: 'der' }));
}

// ---------------------------------------------------------------------------------------------
// receipts

export function treeOf(entries: Uint8Array[]): MerkleTree {
  const tree = new MerkleTree();
  tree.appendLeaves(entries.map(leafHash));
  return tree;
}

export const entriesOf = (n: number, tag = 'entry'): Uint8Array[] => Array.from({ length: n }, (_, i) => text(`${tag} ${i}`));

/** A receipt signed by `by` with arbitrary raw protected pairs and unprotected map, over `root`. */
export async function rawReceipt(o: { protectedPairs: [Uint8Array, Uint8Array][]; unprotected: Uint8Array; root: Uint8Array; by?: Party }): Promise<Uint8Array> {
  return rawSign1({ protectedBytes: protectedOf(o.protectedPairs), unprotected: o.unprotected, payload: null, signedPayload: o.root, signer: (o.by ?? service).signer });
}

export function receiptPairs(o: { alg?: number; kid?: Uint8Array; vds?: Uint8Array } = {}): [Uint8Array, Uint8Array][] {
  return [
    [cb.uint(1), cb.int(o.alg ?? -7)],
    [cb.uint(4), cb.bytes(o.kid ?? service.kid)],
    [cb.uint(15), cb.map([[cb.uint(1), cb.text('https://ts.example')], [cb.uint(6), cb.uint(1_700_000_000)]])],
    [cb.uint(395), o.vds ?? cb.uint(1)],
  ];
}

/** unprotected {396: {-1: [proof bstr]}} */
export const vdpInclusion = (proof: Uint8Array) => cb.map([[cb.uint(396), cb.map([[cb.nint(-1), cb.array([cb.bytes(proof)])]])]]);

/** A Transparent Statement: `statement` with the given receipts under unprotected 394. */
export async function transparent(statement: Uint8Array, receipts: Uint8Array[]): Promise<Uint8Array> {
  const { decode } = await import('../../packages/core/src/cbor.ts');
  const t = decode(statement) as Tag;
  const arr = [...(t.value as unknown[])];
  arr[1] = new Map([[Header.receipts, receipts]]);
  return encode(new Tag(arr, 18));
}

/** Registers `statement` in a fresh in-memory tree of `n` leaves (at `index`) and issues its receipt. */
export async function receiptFor(statement: Uint8Array, o: { n?: number; index?: number; by?: Party } = {}): Promise<{ receipt: Uint8Array; entry: Uint8Array; tree: MerkleTree }> {
  const n = o.n ?? 5;
  const index = o.index ?? 2;
  const entry = statementEntry(statement);
  const entries = entriesOf(n);
  entries[index] = entry;
  const tree = treeOf(entries);
  const by = o.by ?? service;
  const receipt = await issueReceipt({ signer: by.signer, kid: by.kid, iss: 'https://ts.example', iat: 1_700_000_100, proof: tree.inclusionProof(index), root: tree.root() });
  return { receipt, entry, tree };
}
