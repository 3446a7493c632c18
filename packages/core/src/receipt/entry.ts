/**
 * What a Transparency Service logs for a Signed Statement (wire-format.md §5.4, RFC 9943 §6.3): the
 * statement with its unprotected header emptied, re-encoded deterministically as
 * `18([protected bytes as received, {}, payload or nil, signature])`. Both reference services hash
 * exactly this object (transmute: leaf input; scitt-ccf-ledger: data_hash), so receipts issued and
 * verified here agree with theirs.
 */
import { createHash } from 'node:crypto';
import { Tag, bstrHeadLength, decode, writeBstr, writeBstrHead } from '../cbor.ts';
import { CoseError, StatementError } from '../errors.ts';
import { Header, type HeaderMap } from '../cose/headers.ts';
import { COSE_SIGN1_TAG, type Sign1 } from '../cose/sign1.ts';

/** The four COSE_Sign1 fields of a (Transparent) Signed Statement, protected bytes exactly as received. */
export interface StatementParts {
  readonly protectedBytes: Uint8Array;
  readonly protectedHeader: HeaderMap;
  readonly unprotectedHeader: HeaderMap;
  readonly payload: Uint8Array | null;
  readonly signature: Uint8Array;
}

/**
 * Tags a statement's protected header may carry and still be read here: 0/1 (date/time, RFC 8949
 * §3.4.1–2) appear around CWT iat in production CCF statements. Profile checks are the statement
 * module's job; this parser only needs the header map to find misplaced receipts.
 */
const PROTECTED_TAGS = [0, 1];

/** Strictly decodes a tagged COSE_Sign1 statement (RFC 9943 §6.1) and refuses receipts in its protected header (§7). */
export function parseStatementParts(bytes: Uint8Array): StatementParts {
  const value = decode(bytes, { allowedTags: [COSE_SIGN1_TAG] });
  if (!(value instanceof Tag) || value.tag !== COSE_SIGN1_TAG) {
    throw new CoseError('ERR_COSE_TAG', 'a Signed Statement must be a COSE_Sign1 with tag 18 (RFC 9943 §6.1)');
  }
  const arr = value.value as unknown;
  if (!Array.isArray(arr) || arr.length !== 4) {
    throw new CoseError('ERR_COSE_MALFORMED', 'COSE_Sign1 must be an array of 4 items: protected, unprotected, payload, signature');
  }
  const [protectedBytes, unprotectedHeader, payload, signature] = arr as unknown[];
  if (!(protectedBytes instanceof Uint8Array)) throw new CoseError('ERR_COSE_MALFORMED', 'protected header must be a byte string (RFC 9052 §3)');
  if (!(unprotectedHeader instanceof Map)) throw new CoseError('ERR_COSE_MALFORMED', 'unprotected header must be a map (RFC 9052 §3)');
  if (payload !== null && !(payload instanceof Uint8Array)) throw new CoseError('ERR_COSE_MALFORMED', 'payload must be a byte string or nil');
  if (!(signature instanceof Uint8Array)) throw new CoseError('ERR_COSE_MALFORMED', 'signature must be a byte string');
  let protectedHeader: HeaderMap = new Map();
  if (protectedBytes.length > 0) {
    let m: unknown;
    try {
      m = decode(protectedBytes, { allowedTags: PROTECTED_TAGS });
    } catch (e) {
      throw new CoseError('ERR_COSE_HEADER', `protected header is not valid CBOR: ${(e as Error).message}`, { cause: e });
    }
    if (!(m instanceof Map)) throw new CoseError('ERR_COSE_HEADER', 'protected header must encode a map (RFC 9052 §3)');
    protectedHeader = m as HeaderMap;
  }
  const parts = { protectedBytes, protectedHeader, unprotectedHeader: unprotectedHeader as HeaderMap, payload, signature };
  refuseProtectedReceipts(parts);
  return parts;
}

function refuseProtectedReceipts(p: Pick<StatementParts, 'protectedHeader'>): void {
  // Receipts are added after signing, so they belong in the unprotected bucket (RFC 9943 §7, RFC 9942 §4.3).
  if (p.protectedHeader.has(Header.receipts)) {
    throw new StatementError('ERR_STATEMENT_RECEIPTS_PROTECTED', 'receipts (394) are in the protected header; they belong in the unprotected header (RFC 9943 §7)');
  }
}

/**
 * The log entry for a Signed Statement (or a Transparent Statement: its receipts are dropped with
 * the rest of the unprotected header). Accepts the encoded statement or an already decoded one
 * (StatementParts, a Sign1, or a parsed SignedStatement through its `sign1`).
 */
export function statementEntry(statement: Uint8Array | StatementParts | Sign1 | { readonly sign1: Sign1 }): Uint8Array {
  const parts = partsOf(statement);
  // Written out rather than through the generic encoder (3x faster on a 2 KiB statement); the bytes
  // are the RFC 8949 §4.2.1 deterministic encoding: tag 18, array(4), shortest bstr heads, {} = a0.
  const { protectedBytes: p, payload, signature: sig } = parts;
  const size = 2 + bstrHeadLength(p.length) + p.length + 1 + (payload ? bstrHeadLength(payload.length) + payload.length : 1) + bstrHeadLength(sig.length) + sig.length;
  const out = new Uint8Array(size);
  out[0] = 0xd2; // tag 18
  out[1] = 0x84; // array of 4
  let at = writeBstr(out, 2, p);
  out[at++] = 0xa0; // unprotected = {}
  if (payload) at = writeBstr(out, at, payload);
  else out[at++] = 0xf6; // nil
  writeBstr(out, at, sig);
  return out;
}

function partsOf(statement: Uint8Array | StatementParts | Sign1 | { readonly sign1: Sign1 }): Pick<StatementParts, 'protectedBytes' | 'payload' | 'signature'> {
  const parts = statement instanceof Uint8Array ? parseStatementParts(statement) : 'sign1' in statement ? statement.sign1 : statement;
  if (!(statement instanceof Uint8Array)) refuseProtectedReceipts(parts);
  return parts;
}

/**
 * SHA-256 of the log entry (statementEntry), hashed in parts: a statement's identity without a copy
 * of its payload (discovery screens statements of up to 16 MiB, hundreds of times under attack).
 */
export function statementEntrySha256(statement: Uint8Array | StatementParts | Sign1 | { readonly sign1: Sign1 }): Buffer {
  const { protectedBytes: p, payload, signature: sig } = partsOf(statement);
  const head = new Uint8Array(2 + bstrHeadLength(p.length) + p.length + 1 + (payload ? bstrHeadLength(payload.length) : 1));
  head[0] = 0xd2; // tag 18
  head[1] = 0x84; // array of 4
  const at = writeBstr(head, 2, p);
  head[at] = 0xa0; // unprotected = {}
  if (payload) writeBstrHead(head, at + 1, payload.length);
  else head[at + 1] = 0xf6; // nil
  const tail = new Uint8Array(bstrHeadLength(sig.length) + sig.length);
  writeBstr(tail, 0, sig);
  const h = createHash('sha256').update(head);
  if (payload) h.update(payload);
  return h.update(tail).digest();
}
