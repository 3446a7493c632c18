export { type CcfInclusionProof, type CcfLeaf, ccfLeafHash, ccfRoot, ccfTransactionId, decodeCcfInclusionProof } from './ccf.ts';
export { type StatementParts, parseStatementParts, statementEntry } from './entry.ts';
export {
  type IssueReceiptsInput,
  type ReceiptIssuer,
  encodeReceipt,
  issueConsistencyReceipt,
  issueReceipt,
  issueReceipts,
  receiptProtectedHeader,
} from './issue.ts';
export { type LoadKeysOptions, type TrustedKey, TrustedKeys, ccfKeyId, loadTrustedKeys, trustedKey } from './keys.ts';
export {
  ProofType,
  VDS,
  decodeConsistencyProof,
  decodeInclusionProof,
  encodeConsistencyProof,
  encodeInclusionProof,
} from './proofs.ts';
export {
  type ReceiptPolicy,
  type ReceiptReport,
  type ReceiptsVerification,
  type VerifyReceiptsOptions,
  assertReceiptPolicy,
  attachReceipts,
  extractReceipts,
  verifyReceipts,
  verifyTransparentStatement,
} from './transparent.ts';
export { TREE_HEAD_TYPE, type TreeHead, signTreeHead, verifyTreeHead, verifyTreeHeadConsistency } from './tree-head.ts';
export {
  type ConsistencyVerification,
  type ReceiptHeaders,
  type ReceiptVerification,
  readReceiptHeaders,
  verifyConsistencyReceipt,
  verifyReceipt,
} from './verify.ts';
