/**
 * @scitt-actions/core: what a tool author needs to issue, register, verify and gate. Everything else
 * is a subpath module, one concern each (as panva/jose exposes its modules): @scitt-actions/core/cose,
 * /receipt, /merkle, /identity, /storage, /scrapi, /statement, /payload, /verify, /cbor, /diagnostic,
 * /checkpoint, /tiles, /errors (the ScittError types alone, for a command that must not load the rest).
 */
export * from './errors.ts';
export { useProxyFromEnvironment, type ProxyState } from './http-proxy.ts';
// issue: sign a Signed Statement with a key or the workflow's identity (keyless)
export { type CoseKey, generateKey, loadKey, publicKey, toPem } from './cose/index.ts';
export { type IssuerSigner, keyIssuerSigner, keylessSigner } from './identity/index.ts';
export { type IssueStatementOptions, issueSignedStatement, issueEvidenceStatements, type IssueEvidenceInput, type IssuedStatement } from './statement/index.ts';
// register: with a Transparency Service over SCRAPI, then attach its receipts
export { ScrapiClient } from './scrapi/index.ts';
export { attachReceipts } from './receipt/index.ts';
// verify: a Transparent Statement, offline, against pinned service keys and an issuer
export {
  type IssuerTrust,
  type TransparentVerifyOptions,
  type VerificationResult,
  loadServiceKeys,
  verifyTransparent,
} from './verify/index.ts';
// gate: every artifact has the statements a release requires, each verified
export { type GateReport, runGate } from './verify/index.ts';
