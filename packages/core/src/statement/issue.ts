/**
 * Issuing a Signed Statement with an IssuerSigner (identity/signer.ts): the signer says how the
 * issuer is identified — kid for a key, x5chain and a did:x509 iss for keyless — and the statement
 * carries exactly that in its protected header (RFC 9943 §6).
 */
import { StatementError } from '../errors.ts';
import type { IssuerSigner } from '../identity/signer.ts';
import { type CreateStatementOptions, createSignedStatement } from './signed-statement.ts';

export type IssueStatementOptions = Omit<CreateStatementOptions, 'signer' | 'kid' | 'x5chain' | 'iss'> & {
  signer: IssuerSigner;
  /** required for key signers; keyless signers supply iss (did:x509) from their certificate */
  iss?: string;
};

export async function issueSignedStatement(o: IssueStatementOptions): Promise<Uint8Array> {
  if (typeof o !== 'object' || o === null || typeof o.signer?.identity !== 'function') throw new StatementError('ERR_USAGE', 'issueSignedStatement needs { signer, sub, payload }: a signer from keyIssuerSigner or keylessSigner');
  if (typeof o.sub !== 'string') throw new StatementError('ERR_STATEMENT_CLAIMS', 'sub must be a string (RFC 9943 §6)');
  if (!(o.payload instanceof Uint8Array)) throw new StatementError('ERR_USAGE', 'payload must be bytes (a Uint8Array)');
  if (o.iss !== undefined && typeof o.iss !== 'string') throw new StatementError('ERR_STATEMENT_CLAIMS', 'iss must be a string (RFC 9943 §6)');
  const id = await o.signer.identity();
  if (id.iss && o.iss && o.iss !== id.iss) {
    throw new StatementError('ERR_STATEMENT_ISSUER', `this signer's certificate makes the issuer ${id.iss}; a different iss (${o.iss}) would not verify against it — leave iss out`);
  }
  const iss = id.iss ?? o.iss;
  if (!iss) throw new StatementError('ERR_STATEMENT_ISSUER', 'an issuer (iss) is needed when signing with a key, e.g. https://example.com/releases');
  return createSignedStatement({ ...o, iss, ...(id.kid ? { kid: id.kid } : {}), ...(id.x5chain?.length ? { x5chain: id.x5chain } : {}) });
}
