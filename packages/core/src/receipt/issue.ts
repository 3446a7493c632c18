/**
 * Issuing RFC9162_SHA256 receipts (RFC 9942 §5; RFC 9943 §6 for the CWT claims):
 *   18([ protected: << {1: alg, 4: kid, 15: {1: iss, ?2: sub, 6: iat}, 395: 1} >>,
 *        unprotected: {396: {-1: [<< [tree_size, leaf_index, [path…]] >>]}},   ; or -2 for consistency
 *        payload: nil,                                                         ; the root, detached
 *        signature ])
 * The signature covers only the protected header and the root, so one signature serves every entry
 * of a batch: the receipts share protected bytes and signature and differ only in vdp.
 */
import { Tag, encode } from '../cbor.ts';
import { ReceiptError } from '../errors.ts';
import { Claim, Header } from '../cose/headers.ts';
import { COSE_SIGN1_TAG, type Signer, sigStructure } from '../cose/sign1.ts';
import { HASH_SIZE, digestsEqual } from '../merkle/hash.ts';
import { assertUint } from '../merkle/sizes.ts';
import type { ConsistencyProof, InclusionProof } from '../merkle/tree.ts';
import { consistencyPathLength, inclusionPathLength, rootFromConsistencyProof, rootFromInclusionProof } from '../merkle/verify.ts';
import { ProofType, VDS, encodeConsistencyProof, encodeInclusionProof } from './proofs.ts';

/** Who signs: the Transparency Service key and the claims every receipt of it carries. */
export interface ReceiptIssuer {
  signer: Signer;
  /** protected kid (4): how verifiers find the service key */
  kid: Uint8Array;
  /** CWT iss (RFC 9943 §6): the service's identifier */
  iss: string;
  /** CWT sub, when the service sets one */
  sub?: string;
  /** CWT iat: registration time, seconds since the epoch; defaults to now */
  iat?: number;
}

export interface IssueReceiptsInput extends ReceiptIssuer {
  treeSize: number;
  /** MTH of the first treeSize leaves: the signed, detached payload */
  root: Uint8Array;
  /** one per statement; with `leafHash`, the proof is checked against `root` before signing */
  proofs: readonly { leafIndex: number; path: readonly Uint8Array[]; leafHash?: Uint8Array }[];
}

/** The protected header shared by all receipts (and tree heads) of one signing. */
export function receiptProtectedHeader(issuer: ReceiptIssuer, extra: readonly [number, unknown][] = []): Uint8Array {
  if (!(issuer.kid instanceof Uint8Array) || issuer.kid.length === 0) throw new ReceiptError('ERR_RECEIPT_MALFORMED', 'a receipt needs a non-empty kid');
  if (typeof issuer.iss !== 'string' || issuer.iss.length === 0) throw new ReceiptError('ERR_RECEIPT_MALFORMED', 'a receipt needs a non-empty iss (RFC 9943 §6)');
  const iat = issuer.iat ?? Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(iat) || iat < 0) throw new ReceiptError('ERR_RECEIPT_MALFORMED', `iat must be whole seconds since the epoch; got ${iat}`);
  const claims = new Map<number, unknown>([
    [Claim.iss, issuer.iss],
    [Claim.iat, iat],
  ]);
  if (issuer.sub !== undefined) claims.set(Claim.sub, issuer.sub);
  return encode(
    new Map<number, unknown>([
      [Header.alg, issuer.signer.algorithm.id],
      [Header.kid, issuer.kid],
      [Header.cwtClaims, claims],
      [Header.vds, VDS.RFC9162_SHA256],
      ...extra,
    ]),
  );
}

function assertRoot(root: Uint8Array): void {
  if (!(root instanceof Uint8Array) || root.length !== HASH_SIZE) throw new ReceiptError('ERR_RECEIPT_MALFORMED', `root must be a ${HASH_SIZE}-byte hash`);
}

/**
 * A receipt from its parts: the shared protected header and signature, and this entry's proof (the
 * bstr content of one vdp proof of `proofType`). Lets a service rebuild receipts from a stored batch signature.
 */
export function encodeReceipt(protectedBytes: Uint8Array, proofType: number, proof: Uint8Array, signature: Uint8Array): Uint8Array {
  const vdp = new Map<number, unknown>([[proofType, [proof]]]);
  return encode(new Tag([protectedBytes, new Map([[Header.vdp, vdp]]), null, signature], COSE_SIGN1_TAG));
}

/** One signature over `root`, one receipt per proof (same order), each a tagged COSE_Sign1. */
export async function issueReceipts(input: IssueReceiptsInput): Promise<Uint8Array[]> {
  assertRoot(input.root);
  assertUint(input.treeSize, 'tree size');
  const encoded = input.proofs.map((p, i) => {
    const proof: InclusionProof = { treeSize: input.treeSize, leafIndex: p.leafIndex, path: p.path };
    if (p.leafHash) {
      if (!digestsEqual(rootFromInclusionProof(p.leafHash, proof), input.root)) {
        throw new ReceiptError('ERR_RECEIPT_PROOF', `proof ${i} (leaf ${p.leafIndex}) does not lead to the root being signed`);
      }
    } else {
      const expected = inclusionPathLength(p.leafIndex, input.treeSize);
      if (p.path.length !== expected) throw new ReceiptError('ERR_RECEIPT_PROOF', `proof ${i} has ${p.path.length} hashes; leaf ${p.leafIndex} of ${input.treeSize} needs ${expected}`);
    }
    return encodeInclusionProof(proof);
  });
  const protectedBytes = receiptProtectedHeader(input);
  const signature = await input.signer.sign(sigStructure(protectedBytes, input.root));
  return encoded.map((proof) => encodeReceipt(protectedBytes, ProofType.inclusion, proof, signature));
}

/** A single inclusion receipt. */
export async function issueReceipt(input: ReceiptIssuer & { proof: InclusionProof; root: Uint8Array; leafHash?: Uint8Array }): Promise<Uint8Array> {
  const { proof, ...rest } = input;
  const [receipt] = await issueReceipts({ ...rest, treeSize: proof.treeSize, proofs: [{ leafIndex: proof.leafIndex, path: proof.path, ...(input.leafHash ? { leafHash: input.leafHash } : {}) }] });
  return receipt!;
}

/**
 * A consistency receipt (RFC 9942 §5.3): vdp -2 carries the proof and the signature covers the
 * newer root (tree-size-2). With `root1`, the proof is checked to lead from it to `root` first.
 */
export async function issueConsistencyReceipt(input: ReceiptIssuer & { proof: ConsistencyProof; root: Uint8Array; root1?: Uint8Array }): Promise<Uint8Array> {
  const { proof } = input;
  assertRoot(input.root);
  const expected = consistencyPathLength(proof.treeSize1, proof.treeSize2);
  if (proof.treeSize1 === proof.treeSize2) throw new ReceiptError('ERR_RECEIPT_PROOF', 'a consistency receipt needs tree-size-1 < tree-size-2');
  if (proof.path.length !== expected) throw new ReceiptError('ERR_RECEIPT_PROOF', `consistency proof has ${proof.path.length} hashes; ${proof.treeSize1} → ${proof.treeSize2} needs ${expected}`);
  if (input.root1 && !digestsEqual(rootFromConsistencyProof(proof, input.root1), input.root)) {
    throw new ReceiptError('ERR_RECEIPT_PROOF', 'consistency proof does not lead from root1 to the root being signed');
  }
  const protectedBytes = receiptProtectedHeader(input);
  const signature = await input.signer.sign(sigStructure(protectedBytes, input.root));
  return encodeReceipt(protectedBytes, ProofType.consistency, encodeConsistencyProof(proof), signature);
}
