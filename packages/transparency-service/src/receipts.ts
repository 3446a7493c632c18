/**
 * Receipts of the embedded service. RFC 9943 §6 puts iss and sub in every receipt's protected header,
 * and its Figure 10 example gives the receipt the sub of the statement it proves. The signature
 * covers the protected header and the root (RFC 9942 §5.2.1), so a receipt naming its statement's sub
 * needs a signature of its own: one per distinct sub in a batch (statements of one batch about the
 * same subject share it), stored per entry. The batch signature (sub: the log's iss, the subject of a
 * consistency receipt) serves consistency receipts ending at that size (§5.3.1), and the inclusion
 * receipts of logs written before receipts carried sub, which are rebuilt from it unchanged.
 */
import { type Signer, sigStructure } from '@scitt-actions/core/cose';
import { type ConsistencyProof, type InclusionProof } from '@scitt-actions/core/merkle';
import { ProofType, encodeConsistencyProof, encodeInclusionProof, encodeReceipt, receiptProtectedHeader, signTreeHead } from '@scitt-actions/core/receipt';
import type { BatchRow, EntrySignatureRow } from './database.ts';

export { statementEntry } from '@scitt-actions/core/receipt';

interface SigningInput {
  signer: Signer;
  kid: Uint8Array;
  iss: string;
  iat: number;
  treeSize: number;
  root: Uint8Array;
}

export async function signBatch(o: SigningInput): Promise<BatchRow> {
  const protectedBytes = receiptProtectedHeader({ signer: o.signer, kid: o.kid, iss: o.iss, sub: o.iss, iat: o.iat });
  const signature = await o.signer.sign(sigStructure(protectedBytes, o.root));
  const treeHead = await signTreeHead({ signer: o.signer, kid: o.kid, iss: o.iss, iat: o.iat, treeSize: o.treeSize, root: o.root });
  return { treeSize: o.treeSize, root: o.root, protectedBytes, signature, iat: o.iat, treeHead };
}

/** One receipt header and signature per entry (same order), signed once per distinct sub. */
export async function signEntries(o: SigningInput & { subs: readonly string[] }): Promise<EntrySignatureRow[]> {
  const bySub = new Map<string, Promise<EntrySignatureRow>>();
  const one = async (sub: string): Promise<EntrySignatureRow> => {
    const protectedBytes = receiptProtectedHeader({ signer: o.signer, kid: o.kid, iss: o.iss, sub, iat: o.iat });
    return { protectedBytes, signature: await o.signer.sign(sigStructure(protectedBytes, o.root)) };
  };
  return Promise.all(
    o.subs.map((sub) => {
      let s = bySub.get(sub);
      if (!s) bySub.set(sub, (s = one(sub)));
      return s;
    }),
  );
}

/** An inclusion receipt from the entry's own signature, or (logs from before sub) its batch's. */
export function inclusionReceipt(signed: EntrySignatureRow | BatchRow, proof: InclusionProof): Uint8Array {
  return encodeReceipt(signed.protectedBytes, ProofType.inclusion, encodeInclusionProof(proof), signed.signature);
}

export function consistencyProofBytes(batch: BatchRow, proof: ConsistencyProof): Uint8Array {
  return encodeReceipt(batch.protectedBytes, ProofType.consistency, encodeConsistencyProof(proof), batch.signature);
}
