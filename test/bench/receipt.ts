/**
 * Transparent Statement receipt verification on one core: one RFC9162_SHA256 receipt (ES256) with an
 * inclusion path of 20 hashes (tree size 2^20), through verifyTransparentStatement — parse, entry,
 * receipt decode, proof, signature, policy. Against a bare node:crypto ES256 verify of the same
 * receipt signature measured in the same run. The proof is synthetic: a random leaf position over
 * random sibling hashes, and the receipt signs the root they lead to.
 */
import { createPublicKey, randomBytes, randomInt, verify } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Claim, Header } from '../../packages/core/src/cose/headers.ts';
import { generateKey, publicKey, thumbprint, toJwk } from '../../packages/core/src/cose/key.ts';
import { decodeSign1, keySigner, sigStructure, signSign1 } from '../../packages/core/src/cose/sign1.ts';
import { leafHash, rootFromInclusionProof } from '../../packages/core/src/merkle/index.ts';
import { TrustedKeys, attachReceipts, issueReceipt, statementEntry, verifyReceipt, verifyTransparentStatement } from '../../packages/core/src/receipt/index.ts';
import { fmt, opsPerSecond, pct, row, title } from './stats.ts';

export async function bench(): Promise<void> {
  title('Transparent Statement receipt verification (ES256, tree size 2^20, one core; medians of 5 runs)');
  const issuer = generateKey('P-256');
  const statement = await signSign1({
    protectedHeader: new Map<number, unknown>([
      [Header.contentType, 'application/vnd.cyclonedx+json'],
      [Header.kid, thumbprint(issuer)],
      [Header.cwtClaims, new Map<number, unknown>([[Claim.iss, 'https://example.com/releases'], [Claim.sub, 'pkg:generic/app@1.0.0']])],
    ]),
    payload: new Uint8Array(2048).fill(0x61),
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

  const bare = await opsPerSecond(() => verify('sha256', tbs, { key: keyObject, dsaEncoding: 'ieee-p1363' }, r.signature), { n: 4000 });
  const ours = await opsPerSecond(() => verifyTransparentStatement(transparent, { trustedKeys }), { n: 4000 });
  const receiptOnly = await opsPerSecond(() => verifyReceipt(receipt, entry, trustedKeys), { n: 4000 });

  row('bare node:crypto ES256 verify (baseline)', fmt(bare));
  row('transparent statement: parse + entry + receipt + policy', fmt(ours), `${pct(ours / bare)} of bare`);
  row('one receipt against a known entry (verifyReceipt)', fmt(receiptOnly), `${pct(receiptOnly / bare)} of bare`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
