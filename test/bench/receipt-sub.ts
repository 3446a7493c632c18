/**
 * What receipts with sub (RFC 9943 §6) cost the service: a batch's receipts share one signature when
 * they share a protected header, so a sub per statement means one ES256 signature per distinct sub
 * (packages/transparency-service/src/receipts.ts, signEntries). Measured in CPU time of this process
 * (steady on a shared machine) for a batch of 8 — the median batch of the registration benchmark —
 * with 8 distinct subs, all 8 alike, and the old batch-only signing; per registration.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { generateKey } from '../../packages/core/src/cose/key.ts';
import { keySigner, thumbprint } from '../../packages/core/src/cose/index.ts';
import { signBatch, signEntries } from '../../packages/transparency-service/src/receipts.ts';
import { fmt, median, row, title } from './stats.ts';

const BATCH = 8;
const ROUNDS = 400;

async function cpuPerRegistration(fn: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let run = 0; run < 5; run++) {
    const start = process.cpuUsage();
    for (let i = 0; i < ROUNDS; i++) await fn();
    const used = process.cpuUsage(start);
    samples.push((used.user + used.system) / (ROUNDS * BATCH)); // µs of CPU per registration
  }
  return median(samples);
}

export async function bench(): Promise<void> {
  title(`Receipts with sub: signing cost per registration (ES256, batches of ${BATCH}, CPU time; medians of 5 runs)`);
  const key = generateKey('P-256');
  const base = { signer: keySigner(key), kid: thumbprint(key), iss: 'https://ts.example', iat: 1700000000, treeSize: 1000, root: new Uint8Array(randomBytes(32)) };
  const distinct = Array.from({ length: BATCH }, (_, i) => `pkg:generic/app@1.0.${i}?checksum=sha256:${'0'.repeat(64)}`);
  const alike = Array.from({ length: BATCH }, () => distinct[0]!);
  const batchOnly = await cpuPerRegistration(() => signBatch(base));
  const withSubs = await cpuPerRegistration(async () => (await signBatch(base), await signEntries({ ...base, subs: distinct })));
  const sameSub = await cpuPerRegistration(async () => (await signBatch(base), await signEntries({ ...base, subs: alike })));
  const us = (x: number) => `${x.toFixed(1)} µs`;
  row('batch signature + tree head only (before: receipts without sub)', us(batchOnly), `${fmt(1e6 / batchOnly)} registrations per CPU-second`);
  row(`+ one receipt signature per distinct sub (${BATCH} subs)`, us(withSubs), `${fmt(1e6 / withSubs)} per CPU-second; +${us(withSubs - batchOnly)} per registration`);
  row(`+ receipts of one sub (${BATCH} statements, 1 signature)`, us(sameSub), `${fmt(1e6 / sameSub)} per CPU-second`);
  // 8 subs add 8 signatures per batch of 8: the difference per registration is one signature
  row('one receipt signature (the difference)', us(withSubs - batchOnly), `${fmt(1e6 / (withSubs - batchOnly))} signatures per CPU-second`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
