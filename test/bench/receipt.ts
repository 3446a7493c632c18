/**
 * Transparent Statement receipt verification on one core: one RFC9162_SHA256 receipt (ES256) with an
 * inclusion path of 20 hashes (tree size 2^20), through verifyTransparentStatement — parse, entry,
 * receipt decode, proof, signature, policy. Against a bare node:crypto ES256 verify of the same
 * receipt signature measured in the same run, and against another JavaScript receipt verifier,
 * @transmute/cose (see other-verifiers.ts), on the very same bytes. The proof is synthetic: a random
 * leaf position over random sibling hashes, and the receipt signs the root they lead to.
 *
 * Before timing, both verifiers must accept the input and reject copies with one bit flipped in
 * each part that matters (statement payload, protected header and signature; receipt protected
 * header, kid, an inclusion-path hash and the receipt signature). BENCH_BITFLIP_SWEEP=1 flips every
 * bit of the Transparent Statement instead (about 25,000 copies; slow, since the other is).
 * Keys: @transmute/cose imports the JWK its resolver returns on every verification; the ratio and
 * the goal compare it with ours importing the key per call too (the cached row is shown apart).
 * All cases of a comparison run in alternating batches, so load from other jobs hits them alike;
 * rates are per wall-clock second (one verification in flight at a time) and per CPU-second of the
 * whole process, all threads (WebCrypto, which @transmute/cose uses, verifies on a libuv worker
 * thread). The goal (≥ 4,000/s per core and ≥ 3x the other) is judged on both; on a loaded machine
 * the CPU-second figures are the steadier ones.
 */
import { createPublicKey, randomBytes, randomInt, verify } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Claim, Header } from '../../packages/core/src/cose/headers.ts';
import { generateKey, publicKey, thumbprint, toJwk } from '../../packages/core/src/cose/key.ts';
import { decodeSign1, keySigner, sigStructure, signSign1 } from '../../packages/core/src/cose/sign1.ts';
import { leafHash, rootFromInclusionProof } from '../../packages/core/src/merkle/index.ts';
import { TrustedKeys, attachReceipts, issueReceipt, statementEntry, verifyReceipt, verifyTransparentStatement } from '../../packages/core/src/receipt/index.ts';
import { verifyTransparent } from '../../packages/core/src/verify/index.ts';
import { transmuteVerifier, transmuteVersion } from './other-verifiers.ts';
import { fmt, median, pct, row, title } from './stats.ts';

const RUNS = 5;
const GOAL = { opsPerSecond: 4000, ratio: 3 };

export async function bench(): Promise<void> {
  title(`Transparent Statement receipt verification (ES256, tree size 2^20, one core; medians of ${RUNS} runs)`);
  const issuer = generateKey('P-256');
  const payload = new Uint8Array(2048).fill(0x61);
  const statement = await signSign1({
    protectedHeader: new Map<number, unknown>([
      [Header.contentType, 'application/vnd.cyclonedx+json'],
      [Header.kid, thumbprint(issuer)],
      [Header.cwtClaims, new Map<number, unknown>([[Claim.iss, 'https://example.com/releases'], [Claim.sub, 'pkg:generic/app@1.0.0']])],
    ]),
    payload,
    signer: keySigner(issuer),
  });

  const service = generateKey('P-256');
  const treeSize = 2 ** 20;
  const proof = { treeSize, leafIndex: randomInt(treeSize), path: Array.from({ length: 20 }, () => new Uint8Array(randomBytes(32))) };
  const root = rootFromInclusionProof(leafHash(statementEntry(statement)), proof);
  const receipt = await issueReceipt({ signer: keySigner(service), kid: thumbprint(service), iss: 'https://ts.example', iat: 1700000000, proof, root });
  const transparent = attachReceipts(statement, [receipt]);
  const trustedKeys = new TrustedKeys([publicKey(service)]);
  const check = verifyTransparentStatement(transparent, { trustedKeys });
  if (!check.ok || check.receipts[0]!.treeSize !== treeSize) throw new Error('benchmark setup: the receipt does not verify');

  const r = decodeSign1(receipt);
  const tbs = sigStructure(r.protectedBytes, root);
  const keyObject = createPublicKey({ key: toJwk(publicKey(service)), format: 'jwk' });
  const entry = statementEntry(statement);

  // The other verifier, given the same keys (selected by protected kid, as ours are) and the same bytes.
  const theirs = transmuteVerifier([
    { kid: thumbprint(service), jwk: toJwk(publicKey(service)) },
    { kid: thumbprint(issuer), jwk: toJwk(publicKey(issuer)) },
  ]);
  const fullOptions = { trustedServiceKeys: trustedKeys, issuer: { keys: [publicKey(issuer)] } };
  const verifiers = {
    ours: (b: Uint8Array) => verifyTransparentStatement(b, { trustedKeys }).ok,
    // Key import as @transmute/cose does it: from the JWK on every call (its resolver hands it a JWK
    // and it imports it into WebCrypto per verification). A fresh CoseKey misses core's KeyObject cache.
    oursPerCall: (b: Uint8Array) => verifyTransparentStatement(b, { trustedKeys: new TrustedKeys([publicKey(service)]) }).ok,
    theirs: (b: Uint8Array) => theirs.verifyReceipts(b).then(() => true),
    oursFull: async (b: Uint8Array) => (await verifyTransparent(b, fullOptions)).ok,
    theirsFull: (b: Uint8Array) => theirs.verifyStatementAndReceipts(b, payload).then(() => true),
  };
  for (const [name, v] of Object.entries(verifiers)) {
    if (!(await accepts(v, transparent))) throw new Error(`benchmark setup: ${name} does not accept the Transparent Statement`);
  }
  const flips = process.env.BENCH_BITFLIP_SWEEP === '1' ? everyBit(transparent) : targetedFlips(transparent, { payload, receipt, r, path: proof.path, kid: thumbprint(service) });
  for (const [name, v] of Object.entries(verifiers)) {
    for (const f of flips) {
      if (await accepts(v, f.bytes)) throw new Error(`benchmark setup: ${name} accepts a copy with one bit flipped in ${f.where}`);
    }
  }

  const [bare, ours, receiptOnly, other, oursPerCall] = await interleaved([
    { fn: () => verify('sha256', tbs, { key: keyObject, dsaEncoding: 'ieee-p1363' }, r.signature), n: 4000 },
    { fn: () => verifiers.ours(transparent), n: 4000 },
    { fn: () => verifyReceipt(receipt, entry, trustedKeys), n: 4000 },
    { fn: () => verifiers.theirs(transparent), n: 400 },
    { fn: () => verifiers.oursPerCall(transparent), n: 2000 },
  ]);
  const [oursFull, otherFull] = await interleaved([
    { fn: () => verifiers.oursFull(transparent), n: 2000 },
    { fn: () => verifiers.theirsFull(transparent), n: 200 },
  ]);

  const them = `@transmute/cose ${transmuteVersion}`;
  const cpu = (x: Rate, note = '') => `${fmt(x.cpu, '/CPU-s').padStart(14)}  ${note}`;
  const ratio = (a: Rate, b: Rate) => [`${(a.wall / b.wall).toFixed(1)}x`, `${(a.cpu / b.cpu).toFixed(1)}x`.padStart(14)] as const;
  row('', 'wall-clock', 'per CPU-second');
  row('bare node:crypto ES256 verify (baseline)', fmt(bare!.wall), cpu(bare!));
  row('transparent statement: parse + entry + receipt + policy', fmt(ours!.wall), cpu(ours!, `${pct(ours!.wall / bare!.wall)} of bare`));
  row('one receipt against a known entry (verifyReceipt)', fmt(receiptOnly!.wall), cpu(receiptOnly!, `${pct(receiptOnly!.wall / bare!.wall)} of bare`));
  row(`other: ${them}, same steps (receipt.*)`, fmt(other!.wall), cpu(other!, `${pct(other!.wall / bare!.wall)} of bare`));
  row('ours, key imported per call (as the other does)', fmt(oursPerCall!.wall), cpu(oursPerCall!, `${pct(oursPerCall!.wall / bare!.wall)} of bare`));
  row('ours / other, both import the key per call', ...ratio(oursPerCall!, other!));
  row('ours (key cached) / other (per call): not like for like', ...ratio(ours!, other!));
  const met = (k: 'wall' | 'cpu') => (oursPerCall![k] >= GOAL.opsPerSecond && oursPerCall![k] >= GOAL.ratio * other![k] ? 'met' : 'NOT met');
  row(`goal: ≥ ${fmt(GOAL.opsPerSecond)} and ≥ ${GOAL.ratio}x the other`, met('wall'), met('cpu').padStart(14));
  row('+ statement signature: ours (verifyTransparent)', fmt(oursFull!.wall), cpu(oursFull!));
  row('+ statement signature: other (receipt.verifier)', fmt(otherFull!.wall), cpu(otherFull!));
  row('+ statement signature: ours (keys cached) / other (per call)', ...ratio(oursFull!, otherFull!));
  row(`1-bit-flipped copies both reject (${process.env.BENCH_BITFLIP_SWEEP === '1' ? 'every bit' : 'one per part'})`, `${flips.length}`);
}

async function accepts(v: (b: Uint8Array) => boolean | Promise<boolean>, bytes: Uint8Array): Promise<boolean> {
  try {
    return await v(bytes);
  } catch {
    return false;
  }
}

interface Flip {
  where: string;
  bytes: Uint8Array;
}

function flipAt(bytes: Uint8Array, at: number, where: string): Flip {
  if (at < 0) throw new Error(`benchmark setup: ${where} not found in the Transparent Statement`);
  const copy = new Uint8Array(bytes);
  copy[at]! ^= 0x01;
  return { where, bytes: copy };
}

/** One bit flipped in each part either verifier must check, located by its bytes in the statement. */
function targetedFlips(ts: Uint8Array, p: { payload: Uint8Array; receipt: Uint8Array; r: { protectedBytes: Uint8Array; signature: Uint8Array }; path: Uint8Array[]; kid: Uint8Array }): Flip[] {
  const b = Buffer.from(ts.buffer, ts.byteOffset, ts.byteLength);
  const find = (needle: Uint8Array | string, from = 0) => b.indexOf(typeof needle === 'string' ? Buffer.from(needle) : Buffer.from(needle), from);
  const receiptAt = find(p.receipt);
  return [
    flipAt(ts, find(p.payload) + 1000, 'the statement payload'),
    flipAt(ts, find('cyclonedx'), 'the statement protected header'),
    flipAt(ts, ts.length - 7, 'the statement signature'),
    flipAt(ts, find(p.r.protectedBytes, receiptAt) + p.r.protectedBytes.indexOf(0x74 /* 't' of ts.example */), 'the receipt protected header'),
    flipAt(ts, find(p.kid, receiptAt) + 5, 'the receipt kid'),
    flipAt(ts, find(p.path[7]!, receiptAt) + 13, 'an inclusion-path hash'),
    flipAt(ts, find(p.r.signature, receiptAt) + 40, 'the receipt signature'),
  ];
}

function everyBit(ts: Uint8Array): Flip[] {
  const out: Flip[] = [];
  for (let at = 0; at < ts.length; at++) {
    for (let bit = 0; bit < 8; bit++) {
      const copy = new Uint8Array(ts);
      copy[at]! ^= 1 << bit;
      out.push({ where: `byte ${at} bit ${bit}`, bytes: copy });
    }
  }
  return out;
}

/**
 * Median rates of each function over RUNS rounds; in every round each runs one batch of its n
 * calls, one after another, so a burst of outside load lands on both. Wall-clock and process CPU time.
 */
interface Rate {
  wall: number;
  cpu: number;
}

async function interleaved(cases: { fn: () => unknown; n: number }[]): Promise<Rate[]> {
  for (const c of cases) for (let i = 0; i < Math.min(c.n, 200); i++) await c.fn(); // warm up
  const rates = cases.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
  for (let run = 0; run < RUNS; run++) {
    for (const [k, c] of cases.entries()) {
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < c.n; i++) await c.fn();
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      rates[k]!.wall.push(c.n / wall);
      rates[k]!.cpu.push(c.n / ((cpu.user + cpu.system) / 1e6));
    }
  }
  return rates.map((x) => ({ wall: median(x.wall), cpu: median(x.cpu) }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
