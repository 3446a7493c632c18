/**
 * Transparent Statements (RFC 9943 §7): a Signed Statement with receipts in its unprotected header,
 * label 394, as an array of bstr each holding one encoded tagged receipt (RFC 9942 §4.3). Adding
 * receipts never touches the protected header, payload or signature.
 *
 * Verification here covers the receipts only: the entry (statement with unprotected = {}) is
 * computed, each receipt is verified against it and reported, and a policy decides. The issuer
 * signature is the statement module's job; callers combine both.
 */
import { Tag, compareBytes, encode } from '../cbor.ts';
import { ReceiptError, ScittError } from '../errors.ts';
import { Header } from '../cose/headers.ts';
import { COSE_SIGN1_TAG, decodeSign1 } from '../cose/sign1.ts';
import { type StatementParts, parseStatementParts, statementEntry } from './entry.ts';
import type { TrustedKeys } from './keys.ts';
import { type ReceiptHeaders, readReceiptHeaders, verifyReceipt } from './verify.ts';

/** The raw elements of unprotected 394 (none when absent); the array itself must be an array. */
function receiptElements(parts: StatementParts): readonly unknown[] {
  const list = parts.unprotectedHeader.get(Header.receipts);
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new ReceiptError('ERR_RECEIPT_MALFORMED', 'receipts (394) must be an array of byte strings (RFC 9943 §7)');
  return list;
}

function notBstr(i: number): ReceiptError {
  return new ReceiptError('ERR_RECEIPT_MALFORMED', `receipt ${i} in 394 is not a byte string holding an encoded receipt (RFC 9943 §7)`);
}

/** Receipts found in a statement's unprotected 394, as encoded. Non-bstr elements are refused. */
export function extractReceipts(statement: Uint8Array | StatementParts): Uint8Array[] {
  const parts = statement instanceof Uint8Array ? parseStatementParts(statement) : statement;
  return receiptElements(parts).map((r, i) => {
    if (!(r instanceof Uint8Array)) throw notBstr(i);
    return r;
  });
}

/**
 * Adds receipts under unprotected 394, after those already there, skipping byte-identical duplicates.
 * Each receipt must be a tagged COSE_Sign1. Other unprotected headers are kept.
 */
export function attachReceipts(statement: Uint8Array, receipts: readonly Uint8Array[]): Uint8Array {
  if (!(statement instanceof Uint8Array)) throw new ReceiptError('ERR_RECEIPT_MALFORMED', 'the statement must be bytes (a Uint8Array)');
  if (!Array.isArray(receipts) || !receipts.every((r) => r instanceof Uint8Array)) throw new ReceiptError('ERR_RECEIPT_MALFORMED', 'receipts must be an array of bytes (Uint8Array)');
  const parts = parseStatementParts(statement);
  const all = extractReceipts(parts);
  for (const r of receipts) {
    decodeSign1(r, { requireTag: true });
    if (!all.some((x) => compareBytes(x, r) === 0)) all.push(r);
  }
  const unprotected = new Map(parts.unprotectedHeader);
  if (all.length > 0) unprotected.set(Header.receipts, all);
  return encode(new Tag([parts.protectedBytes, unprotected, parts.payload, parts.signature], COSE_SIGN1_TAG));
}

export interface ReceiptReport {
  /** position in the 394 array */
  readonly index: number;
  /** 'verified', 'failed', or 'unsupported' (unknown vds or legacy format: skipped, RFC 9943 §7.1) */
  readonly status: 'verified' | 'failed' | 'unsupported';
  readonly ok: boolean;
  readonly vds?: number;
  /** protected kid, hex */
  readonly kid?: string;
  /** the kid as text, when printable (CCF kids are ASCII hex) */
  readonly kidText?: string;
  /** CWT iss of the receipt: the service */
  readonly serviceIss?: string;
  readonly treeSize?: number;
  readonly leafIndex?: number;
  /** vds 1, verified: the root the receipt signs (base64), for checks against a trust state */
  readonly root?: string;
  /** CWT iat of the receipt, seconds since the epoch */
  readonly registrationTime?: number;
  /** the trusted key's service label (defaults to its kid, hex): receipts are counted per service */
  readonly service?: string;
  /** vds 2: the registration transaction id from the internal evidence */
  readonly ccfTxid?: string;
  /** verified, but departs from the RFC 9943 §6 receipt profile (e.g. no sub: CCF's, older ones of this project) */
  readonly profileDeviations?: readonly string[];
  readonly error?: { readonly code: string; readonly message: string };
}

export interface ReceiptPolicy {
  /** at least this many distinct trusted services must have a verified receipt (default 1; RFC 9943 §7.1 needs ≥ 1) */
  minServices?: number;
  /** each of these service kids must have a verified receipt */
  requireKids?: readonly Uint8Array[];
}

export interface ReceiptsVerification {
  /** the statement entry the receipts were checked against */
  readonly entry: Uint8Array;
  readonly receipts: readonly ReceiptReport[];
  /** distinct services with a verified receipt */
  readonly verifiedServices: readonly string[];
  /** the policy is satisfied */
  readonly ok: boolean;
  /** why the policy is not satisfied */
  readonly error?: { readonly code: 'ERR_RECEIPT_POLICY'; readonly message: string };
}

export interface VerifyReceiptsOptions {
  trustedKeys: TrustedKeys;
  policy?: ReceiptPolicy;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Verifies each encoded receipt against `entry` and applies the policy; one bad receipt does not hide the others. */
export function verifyReceipts(entry: Uint8Array, receipts: readonly unknown[], opts: VerifyReceiptsOptions): ReceiptsVerification {
  const minServices = opts.policy?.minServices ?? 1;
  if (!Number.isSafeInteger(minServices) || minServices < 1) {
    throw new ScittError('ERR_USAGE', `policy minServices must be a whole number ≥ 1 (RFC 9943 §7.1 requires trusting at least one receipt); got ${minServices}`);
  }
  const reports = receipts.map((r, index) => report(index, r, entry, opts.trustedKeys));
  const verified = reports.filter((r) => r.ok);
  const services = [...new Set(verified.map((r) => r.service!))];
  const problems: string[] = [];
  if (services.length < minServices) {
    problems.push(`${services.length} trusted service${services.length === 1 ? '' : 's'} verified of ${minServices} required (${receipts.length} receipt${receipts.length === 1 ? '' : 's'} present)`);
  }
  for (const kid of opts.policy?.requireKids ?? []) {
    if (!verified.some((r) => r.kid === hex(kid))) problems.push(`no verified receipt from required service kid ${hex(kid)}`);
  }
  return {
    entry,
    receipts: reports,
    verifiedServices: services,
    ok: problems.length === 0,
    ...(problems.length ? { error: { code: 'ERR_RECEIPT_POLICY' as const, message: problems.join('; ') } } : {}),
  };
}

function report(index: number, receipt: unknown, entry: Uint8Array, keys: TrustedKeys): ReceiptReport {
  let headers: ReceiptHeaders | undefined;
  try {
    if (!(receipt instanceof Uint8Array)) throw notBstr(index);
    headers = readReceiptHeaders(receipt);
    const v = verifyReceipt(headers, entry, keys);
    return {
      ...describe(index, headers),
      status: 'verified',
      ok: true,
      service: v.key.service ?? hex(v.kid),
      ...(v.treeSize !== undefined ? { treeSize: v.treeSize, leafIndex: v.leafIndex, root: Buffer.from(v.root).toString('base64') } : {}),
      ...(v.ccf?.txid ? { ccfTxid: v.ccf.txid } : {}),
      ...(v.profileDeviations ? { profileDeviations: v.profileDeviations } : {}),
    };
  } catch (e) {
    if (!(e instanceof ScittError)) throw e; // a bug, not a verdict
    return {
      ...(headers ? describe(index, headers) : { index }),
      status: e.code === 'ERR_RECEIPT_UNSUPPORTED' ? 'unsupported' : 'failed',
      ok: false,
      error: { code: e.code, message: e.message },
    };
  }
}

function describe(index: number, h: ReceiptHeaders): Omit<ReceiptReport, 'status' | 'ok'> {
  const printable = h.kid.every((c) => c >= 0x20 && c < 0x7f);
  return {
    index,
    vds: h.vds,
    kid: hex(h.kid),
    ...(printable ? { kidText: Buffer.from(h.kid).toString('latin1') } : {}),
    ...(h.iss !== undefined ? { serviceIss: h.iss } : {}),
    ...(h.iat !== undefined ? { registrationTime: h.iat } : {}),
  };
}

/**
 * Verifies the receipts of a Transparent Statement (RFC 9943 §7.1): entry from the statement with
 * its unprotected header emptied, each receipt against it, then the policy. Throws only when the
 * statement itself is malformed (including receipts placed in its protected header).
 */
export function verifyTransparentStatement(statement: Uint8Array, opts: VerifyReceiptsOptions): ReceiptsVerification {
  const parts = parseStatementParts(statement);
  return verifyReceipts(statementEntry(parts), receiptElements(parts), opts);
}

/** Throws ERR_RECEIPT_POLICY with the reasons when a verification result does not satisfy its policy. */
export function assertReceiptPolicy(result: ReceiptsVerification): void {
  if (!result.ok) throw new ReceiptError('ERR_RECEIPT_POLICY', `receipt policy not satisfied: ${result.error?.message ?? 'unknown reason'}`);
}
