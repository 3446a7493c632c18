/**
 * Signed Statement create and verify on one core, against bare primitives measured in the same run:
 * parse + ES256 verify through the project's path vs a bare node:crypto verify of the same signature
 * (goal ≥ 70% of bare), and @noble/curves for the same check, which is why node:crypto is the choice.
 */
import { createPublicKey, verify } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { p256 } from '@noble/curves/nist.js';
import { generateKey, publicKey } from '@scitt-actions/core';
import { bodyProtected, keySigner, sigStructure, thumbprint, toJwk } from '@scitt-actions/core/cose';
import { createSignedStatement, parseSignedStatement, verifySignedStatement } from '@scitt-actions/core/statement';
import { fmt, opsPerSecond, pct, row, title } from './stats.ts';

export async function bench(): Promise<void> {
  title('Signed Statements (ES256, one core; medians of 5 runs)');
  const key = generateKey('P-256');
  const pub = publicKey(key);
  const signer = keySigner(key);
  const kid = thumbprint(key);
  const payload = new Uint8Array(2048).fill(0x61);
  const opts = { payload, signer, iss: 'https://example.com/releases', sub: 'pkg:generic/app@1.0.0?checksum=sha256:' + '0'.repeat(64), kid, contentType: 'application/vnd.cyclonedx+json' };
  const statement = await createSignedStatement(opts);

  const parsed = parseSignedStatement(statement);
  const tbs = sigStructure(bodyProtected(parsed.sign1), payload);
  const sig = parsed.sign1.signature;
  const keyObject = createPublicKey({ key: toJwk(pub), format: 'jwk' });
  const rawPub = new Uint8Array(Buffer.concat([Buffer.from([4]), pub.x, pub.y!]));

  // Every baseline must accept the signature it is timed on: @noble/curves' lowS default rejects
  // the half of node:crypto's signatures whose s is high, and would time a rejection.
  const nobleVerify = () => p256.verify(sig, tbs, rawPub, { lowS: false });
  const bareVerify = () => verify('sha256', tbs, { key: keyObject, dsaEncoding: 'ieee-p1363' }, sig);
  if (!bareVerify() || !nobleVerify()) throw new Error('benchmark setup: a baseline rejects the signature it would time');
  const highS = p256.verify(sig, tbs, rawPub) ? 'low-S' : 'high-S (lowS default would reject it)';
  const bare = await opsPerSecond(bareVerify, { n: 4000 });
  const ours = await opsPerSecond(() => verifySignedStatement(statement, pub), { n: 4000 });
  const noble = await opsPerSecond(nobleVerify, { n: 400 });
  const create = await opsPerSecond(() => createSignedStatement(opts), { n: 2000 });

  row('bare node:crypto ES256 verify (baseline)', fmt(bare));
  row('statement parse + verify (project path)', fmt(ours), `${pct(ours / bare)} of bare (goal ≥ 70%)`);
  row('@noble/curves p256.verify of the same signature', fmt(noble), `${pct(noble / bare)} of bare (lowS: false, checked to accept; this signature is ${highS})`);
  row('statement create (ES256, 2 KiB payload)', fmt(create));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
