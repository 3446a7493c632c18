/**
 * A release directory an attacker has filled: a 64 MiB artifact, a 64 MiB evidence file, and
 * statements beside the artifact that all look like its statements (sub pins its digest, receipts
 * attached) but none of which verifies: Hash Envelopes naming the evidence's true digest with bad
 * signatures, huge statements, statements with large embedded payloads (one file hard-linked under
 * many names), evidence locations that name a FIFO, a symlink to /dev/zero, a 16 GiB sparse file.
 * Shared by test/e2e/gate-memory.test.ts and test/bench/gate-memory.ts.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKey, publicKey, thumbprint, toPem } from '../../packages/core/src/cose/key.ts';
import { keySigner } from '../../packages/core/src/cose/sign1.ts';
import { issueReceipt } from '../../packages/core/src/receipt/issue.ts';
import { attachReceipts } from '../../packages/core/src/receipt/transparent.ts';
import { createSignedStatement } from '../../packages/core/src/statement/signed-statement.ts';
import { alternateStatementName, statementName } from '../../packages/core/src/storage/naming.ts';

export const MiB = 1024 * 1024;

export interface HostileRelease {
  dir: string;
  artifact: string;
  /** PEM files the gate trusts: nothing in the directory is signed by them */
  issuerPub: string;
  servicePub: string;
  statements: number;
}

/** Writes `size` bytes of non-zero data (a sparse file would hash as zeros, which is fine, but the bench wants real reads). */
function writeData(path: string, size: number, seed: string): void {
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < MiB; i += 32) createHash('sha256').update(`${seed}${i}`).digest().copy(block, i);
  const fd = openSync(path, 'w');
  try {
    for (let done = 0; done < size; done += MiB) writeFileSync(fd, block.subarray(0, Math.min(MiB, size - done)));
  } finally {
    closeSync(fd);
  }
}

function sha256OfFile(path: string): Buffer {
  const out = execFileSync('sha256sum', [path], { encoding: 'utf8' });
  return Buffer.from(out.slice(0, 64), 'hex');
}

export async function buildHostileRelease(dir: string, o: { statements?: number; artifactBytes?: number } = {}): Promise<HostileRelease> {
  const total = o.statements ?? 1000;
  mkdirSync(dir, { recursive: true });
  const artifact = join(dir, 'app.bin');
  writeData(artifact, o.artifactBytes ?? 64 * MiB, 'artifact');
  writeData(join(dir, 'evidence.bin'), 64 * MiB, 'evidence');
  const artifactSha = sha256OfFile(artifact).toString('hex');
  const evidenceDigest = sha256OfFile(join(dir, 'evidence.bin'));
  // special and enormous evidence targets
  execFileSync('mkfifo', [join(dir, 'evidence.fifo')]);
  symlinkSync('/dev/zero', join(dir, 'zero.bin'));
  closeSync(openSync(join(dir, 'huge.bin'), 'w'));
  truncateSync(join(dir, 'huge.bin'), 16 * 1024 * MiB);

  const trustedIssuer = generateKey('P-256');
  const trustedService = generateKey('P-256');
  const attacker = generateKey('P-256');
  const attackerService = generateKey('P-256');
  const issuerPub = join(dir, '..', 'issuer.pub.pem');
  const servicePub = join(dir, '..', 'service.pub.pem');
  writeFileSync(issuerPub, toPem(publicKey(trustedIssuer)));
  writeFileSync(servicePub, toPem(publicKey(trustedService)));

  const sub = `pkg:generic/app.bin?checksum=sha256:${artifactSha}`;
  // signed by the attacker but claiming the trusted issuer's kid: the signature is what fails
  const signer = keySigner(attacker);
  const kid = thumbprint(trustedIssuer);
  const receipt = await issueReceipt({ signer: keySigner(attackerService), kid: thumbprint(trustedService), iss: 'https://ts.example', iat: 1_700_000_100, proof: { treeSize: 1, leafIndex: 0, path: [] }, root: new Uint8Array(32) });
  const transparentOf = (bytes: Uint8Array) => attachReceipts(bytes, [receipt]);
  let n = 0;
  const name = () => (n++ === 0 ? statementName('app.bin') : alternateStatementName('app.bin', createHash('sha256').update(String(n)).digest('hex')));
  const write = (bytes: Uint8Array) => {
    const file = join(dir, name());
    writeFileSync(file, bytes);
    return file;
  };
  const hashEnvelope = (location: string, iat: number, digest: Uint8Array = evidenceDigest) =>
    createSignedStatement({ payload: digest, signer, kid, iss: 'https://attacker.example', sub, iat, hashEnvelope: { hashAlg: -16, preimageContentType: 'application/vnd.cyclonedx+json', location } });

  // evidence locations that must be refused without reading or blocking
  for (const [i, location] of ['evidence.fifo', 'zero.bin', 'huge.bin', 'missing.bin', 'sub/../evidence.bin'].entries()) {
    if (location.includes('..')) continue;
    write(transparentOf(await hashEnvelope(location, 1_700_000_000 + i)));
  }
  // statements too large to read at all (sparse: no disk)
  for (let i = 0; i < 10; i++) {
    const file = join(dir, name());
    closeSync(openSync(file, 'w'));
    truncateSync(file, 17 * MiB);
  }
  // statements just under the cap that are not statements (read, refused, dropped)
  for (let i = 0; i < 10; i++) {
    const file = join(dir, name());
    closeSync(openSync(file, 'w'));
    truncateSync(file, 15 * MiB);
  }
  // one statement with a 12 MiB embedded payload, hard-linked under 40 names: 480 MiB to read, one file on disk
  const big = write(transparentOf(await createSignedStatement({ payload: Buffer.alloc(12 * MiB, 0x7b), signer, kid, iss: 'https://attacker.example', sub, iat: 1_700_000_500, contentType: 'application/json' })));
  for (let i = 0; i < 39; i++) linkSync(big, join(dir, name()));
  // the rest: Hash Envelopes naming the 64 MiB evidence's true digest, each signed differently
  while (n < total) write(transparentOf(await hashEnvelope('evidence.bin', 1_700_001_000 + n)));
  return { dir, artifact, issuerPub, servicePub, statements: n };
}
