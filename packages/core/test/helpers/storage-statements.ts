/**
 * Real Transparent Statements for storage tests: a Signed Statement (embedded payload or Hash
 * Envelope) signed with a fresh key, registered in a one-leaf RFC 9162 tree and given a receipt
 * signed by a service key — so what the stores move around is what the pipeline produces.
 */
import { createHash, randomBytes } from 'node:crypto';
import { generateKey, thumbprint } from '../../src/cose/key.ts';
import { keySigner } from '../../src/cose/sign1.ts';
import { leafHash } from '../../src/merkle/hash.ts';
import { statementEntry } from '../../src/receipt/entry.ts';
import { issueReceipt } from '../../src/receipt/issue.ts';
import { attachReceipts } from '../../src/receipt/transparent.ts';
import { createSignedStatement } from '../../src/statement/signed-statement.ts';

const issuerKey = generateKey('P-256');
const serviceKey = generateKey('P-256');

/** cbor-x hands out Buffers; tests compare plain Uint8Arrays */
const plain = (b: Uint8Array) => new Uint8Array(b);

/** cbor-x marks byte arrays it decodes (a dataView property), so tests compare bytes as hex */
export const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : b);

export const sha256Hex = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

export const genericSub = (name: string, sha256: string) => `pkg:generic/${name}@1.0.0?checksum=sha256:${sha256}`;
export const ociSub = (name: string, sha256: string, repositoryUrl: string) => `pkg:oci/${name}@sha256:${sha256}?repository_url=${repositoryUrl}`;

/** A receipt for `statement` from a fresh one-leaf log (a different `iss` gives a different receipt). */
export async function receiptFor(statement: Uint8Array, iss = 'https://ts.example'): Promise<Uint8Array> {
  const root = leafHash(statementEntry(statement));
  return plain(await issueReceipt({ signer: keySigner(serviceKey), kid: thumbprint(serviceKey), iss, iat: 1_700_000_000, proof: { treeSize: 1, leafIndex: 0, path: [] }, root }));
}

export interface MadeStatement {
  /** the Signed Statement, no receipts */
  signed: Uint8Array;
  /** with one receipt */
  transparent: Uint8Array;
}

/** A Transparent Statement about `sub` with an embedded payload. */
export async function transparentStatement(sub: string, payload: Uint8Array = randomBytes(64)): Promise<MadeStatement> {
  const signed = await createSignedStatement({
    payload,
    signer: keySigner(issuerKey),
    iss: 'https://issuer.example',
    sub,
    kid: thumbprint(issuerKey),
    contentType: 'application/vnd.in-toto+json',
    iat: 1_700_000_000,
  });
  return { signed: plain(signed), transparent: plain(attachReceipts(signed, [await receiptFor(signed)])) };
}

/** A Transparent Hash Envelope about `sub` over `evidence`, with payload-location `location`. */
export async function hashEnvelopeStatement(sub: string, evidence: Uint8Array, location?: string): Promise<MadeStatement> {
  const signed = await createSignedStatement({
    payload: new Uint8Array(createHash('sha256').update(evidence).digest()),
    signer: keySigner(issuerKey),
    iss: 'https://issuer.example',
    sub,
    kid: thumbprint(issuerKey),
    iat: 1_700_000_000,
    hashEnvelope: { hashAlg: -16, preimageContentType: 'application/vnd.cyclonedx+json', ...(location !== undefined ? { location } : {}) },
  });
  return { signed: plain(signed), transparent: plain(attachReceipts(signed, [await receiptFor(signed)])) };
}

export const STATEMENT = 'application/scitt-statement+cose';
export const statementItem = (bytes: Uint8Array, name = 'statement.scitt') => ({ name, bytes, mediaType: STATEMENT });
