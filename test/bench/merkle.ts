/**
 * RFC 9162 Merkle tree at 1M leaves on a MemoryNodeStore: build time, inclusion proofs per second
 * (median of 5 runs) and stored nodes read per proof (median and max; goal ≤ 2·log2 n), plus
 * consistency proofs and inclusion verification for scale.
 */
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  CountingNodeStore,
  MemoryNodeStore,
  MerkleTree,
  leafHash,
  verifyInclusion,
} from '../../packages/core/src/merkle/index.ts';
import { fmt, median, opsPerSecond, row, title } from './stats.ts';

const N = 1_000_000;
const BATCH = 4096;

export async function bench(): Promise<void> {
  title(`RFC 9162 Merkle tree, ${fmt(N, '')} leaves, MemoryNodeStore (one core; medians of 5 runs)`);
  const entry = new Uint8Array(256);
  let t0 = process.hrtime.bigint();
  const leaves: Uint8Array[] = new Array(N);
  for (let i = 0; i < N; i++) {
    entry[0] = i % 256;
    entry[1] = Math.floor(i / 256) % 256;
    entry[2] = Math.floor(i / 65536) % 256;
    leaves[i] = leafHash(entry);
  }
  const hashSeconds = Number(process.hrtime.bigint() - t0) / 1e9;

  const store = new CountingNodeStore(new MemoryNodeStore());
  const tree = new MerkleTree(store);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i += BATCH) tree.appendLeaves(leaves.slice(i, i + BATCH));
  const buildSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const root = tree.root();

  // Node reads per proof over random leaves.
  const reads: number[] = [];
  for (let k = 0; k < 10_000; k++) {
    store.reads = 0;
    tree.inclusionProof(randomInt(N));
    reads.push(store.reads);
  }
  const consistencyReads: number[] = [];
  for (let k = 0; k < 10_000; k++) {
    store.reads = 0;
    tree.consistencyProof(1 + randomInt(N - 1), N);
    consistencyReads.push(store.reads);
  }
  const bound = 2 * Math.log2(N);

  const inclusionRate = await opsPerSecond(() => tree.inclusionProof(randomInt(N)), { n: 50_000 });
  // A registration batch: receipts for the last 4096 leaves at the new size, in one call.
  const batchIndices = Array.from({ length: BATCH }, (_, k) => N - BATCH + k);
  const batchRate = BATCH * (await opsPerSecond(() => tree.inclusionProofs(batchIndices), { n: 20 }));
  const consistencyRate = await opsPerSecond(() => tree.consistencyProof(1 + randomInt(N - 1)), { n: 50_000 });
  const i = randomInt(N);
  const proof = tree.inclusionProof(i);
  const verifyRate = await opsPerSecond(() => verifyInclusion(leaves[i]!, proof, root), { n: 50_000 });

  row('leaf hashing (256-byte entries)', `${hashSeconds.toFixed(2)} s`, `${fmt(N / hashSeconds)}`);
  row(`tree build: appendLeaves in batches of ${BATCH}`, `${buildSeconds.toFixed(2)} s`, `${fmt(N / buildSeconds)} leaves`);
  row('inclusion proof: nodes read (median / max)', `${median(reads)} / ${Math.max(...reads)}`, `goal ≤ 2·log2 n = ${bound.toFixed(0)}`);
  row('consistency proof: nodes read (median / max)', `${median(consistencyReads)} / ${Math.max(...consistencyReads)}`, `goal ≤ ${bound.toFixed(0)}`);
  row('inclusion proof generation (random leaf)', fmt(inclusionRate));
  row(`inclusion proofs for a batch (${BATCH} newest leaves, one call)`, fmt(batchRate));
  row('consistency proof generation (random size1 → n)', fmt(consistencyRate));
  row(`inclusion proof verification (${proof.path.length} hashes)`, fmt(verifyRate));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
