/**
 * Receipts of the embedded service, from stored batch signatures. A batch signature covers the
 * receipt protected header and the root at that tree size (RFC 9942 §5.2.1), which is exactly what
 * an inclusion receipt and a consistency receipt ending at that size (§5.3.1) sign: so every receipt
 * the service hands out, now or later, is rebuilt from one stored signature and an O(log n) proof.
 */
import { type Signer, sigStructure } from '@scitt-actions/core/cose';
import { type ConsistencyProof, type InclusionProof } from '@scitt-actions/core/merkle';
import { ProofType, encodeConsistencyProof, encodeInclusionProof, encodeReceipt, receiptProtectedHeader, signTreeHead } from '@scitt-actions/core/receipt';
import type { BatchRow } from './database.ts';

export { statementEntry } from '@scitt-actions/core/receipt';

export async function signBatch(o: { signer: Signer; kid: Uint8Array; iss: string; iat: number; treeSize: number; root: Uint8Array }): Promise<BatchRow> {
  const protectedBytes = receiptProtectedHeader({ signer: o.signer, kid: o.kid, iss: o.iss, iat: o.iat });
  const signature = await o.signer.sign(sigStructure(protectedBytes, o.root));
  const treeHead = await signTreeHead({ signer: o.signer, kid: o.kid, iss: o.iss, iat: o.iat, treeSize: o.treeSize, root: o.root });
  return { treeSize: o.treeSize, root: o.root, protectedBytes, signature, iat: o.iat, treeHead };
}

export function receiptFromBatch(batch: BatchRow, proof: InclusionProof): Uint8Array {
  return encodeReceipt(batch.protectedBytes, ProofType.inclusion, encodeInclusionProof(proof), batch.signature);
}

export function consistencyProofBytes(batch: BatchRow, proof: ConsistencyProof): Uint8Array {
  return encodeReceipt(batch.protectedBytes, ProofType.consistency, encodeConsistencyProof(proof), batch.signature);
}
