/**
 * Signed tree heads: what a Transparency Service publishes so that monitors can check that its log
 * only grows (RFC 9162 §4.10's idea, in COSE). RFC 9942 defines no such object, so this project's
 * format is:
 *
 *   Tree_Head = 18([
 *     protected: << { 1: alg, 4: kid, 16: "application/vnd.scitt-actions.tree-head+cose",
 *                     15: { 1: iss, 6: iat }, 395: 1 } >>,
 *     unprotected: {},
 *     payload: << [ tree-size: uint, root-hash: bstr .size 32 ] >>,   ; attached
 *     signature ])
 *
 * signed by the same service key as its receipts. Unlike a receipt (whose signed payload is the bare
 * 32-byte root and whose tree size is unsigned), the payload binds size and root together. It can
 * never pass as a receipt or the reverse: the typ differs, and a 32-byte root is never a valid
 * encoding of the payload array. A check between two tree heads verifies both signatures with
 * trusted keys, requires the same iss, then the RFC 9162 §2.1.4 consistency proof between them.
 */
import { Tag, decode, encode } from '../cbor.ts';
import { ReceiptError, SignatureError } from '../errors.ts';
import { Claim, Header } from '../cose/headers.ts';
import { COSE_SIGN1_TAG, decodeSign1, sigStructure, verifySign1 } from '../cose/sign1.ts';
import { EMPTY_ROOT, HASH_SIZE, digestsEqual } from '../merkle/hash.ts';
import { assertUint } from '../merkle/sizes.ts';
import type { ConsistencyProof } from '../merkle/tree.ts';
import { verifyConsistency } from '../merkle/verify.ts';
import { type ReceiptIssuer, receiptProtectedHeader } from './issue.ts';
import type { TrustedKey, TrustedKeys } from './keys.ts';
import { VDS } from './proofs.ts';
import { unknownKid } from './verify.ts';

export const TREE_HEAD_TYPE = 'application/vnd.scitt-actions.tree-head+cose';

export interface TreeHead {
  readonly treeSize: number;
  readonly root: Uint8Array;
  readonly iss: string;
  readonly iat: number;
  readonly kid: Uint8Array;
  readonly key: TrustedKey;
}

export async function signTreeHead(input: ReceiptIssuer & { treeSize: number; root: Uint8Array }): Promise<Uint8Array> {
  assertUint(input.treeSize, 'tree size');
  if (!(input.root instanceof Uint8Array) || input.root.length !== HASH_SIZE) throw new ReceiptError('ERR_TREE_HEAD', `root must be a ${HASH_SIZE}-byte hash`);
  const protectedBytes = receiptProtectedHeader(input, [[Header.typ, TREE_HEAD_TYPE]]);
  const payload = encode([input.treeSize, input.root]);
  const signature = await input.signer.sign(sigStructure(protectedBytes, payload));
  return encode(new Tag([protectedBytes, new Map(), payload, signature], COSE_SIGN1_TAG));
}

/** Decodes a tree head, selects the key by protected kid among `keys`, and verifies the signature. */
export function verifyTreeHead(bytes: Uint8Array, keys: TrustedKeys): TreeHead {
  const sign1 = decodeSign1(bytes, { requireTag: true, limits: { maxBytes: 8192, maxDepth: 8, maxContainerLength: 64 } });
  const p = sign1.protectedHeader;
  if (p.get(Header.typ) !== TREE_HEAD_TYPE) throw new ReceiptError('ERR_TREE_HEAD', `not a tree head: protected typ (16) must be "${TREE_HEAD_TYPE}"`);
  if (p.get(Header.vds) !== VDS.RFC9162_SHA256) throw new ReceiptError('ERR_TREE_HEAD', 'tree head must name vds 1 (RFC9162_SHA256) in its protected header');
  const kid = p.get(Header.kid);
  if (!(kid instanceof Uint8Array) || kid.length === 0) throw new ReceiptError('ERR_TREE_HEAD', 'tree head has no protected kid (4)');
  const claims = p.get(Header.cwtClaims);
  const iss = claims instanceof Map ? claims.get(Claim.iss) : undefined;
  const iat = claims instanceof Map ? claims.get(Claim.iat) : undefined;
  if (typeof iss !== 'string' || typeof iat !== 'number') throw new ReceiptError('ERR_TREE_HEAD', 'tree head needs CWT claims (15) with iss and iat');
  if (sign1.payload === null) throw new ReceiptError('ERR_TREE_HEAD', 'tree head payload is detached; it must carry [tree-size, root]');
  const key = keys.get(kid);
  if (!key) throw unknownKid(kid, iss, 'tree head');
  try {
    verifySign1(sign1, key.key);
  } catch (e) {
    if (!(e instanceof SignatureError && e.code === 'ERR_COSE_SIGNATURE_INVALID')) throw e;
    throw new ReceiptError('ERR_RECEIPT_SIGNATURE', 'tree head signature does not verify', { cause: e });
  }
  let body: unknown;
  try {
    body = decode(sign1.payload, { allowedTags: [], maxDepth: 2, maxContainerLength: 2 });
  } catch (e) {
    throw new ReceiptError('ERR_TREE_HEAD', `tree head payload is not valid CBOR: ${(e as Error).message}`, { cause: e });
  }
  if (!Array.isArray(body) || body.length !== 2 || !(body[1] instanceof Uint8Array) || body[1].length !== HASH_SIZE) {
    throw new ReceiptError('ERR_TREE_HEAD', 'tree head payload must be [tree-size, 32-byte root]');
  }
  const treeSize = body[0] as unknown;
  if (typeof treeSize !== 'number' && typeof treeSize !== 'bigint') throw new ReceiptError('ERR_TREE_HEAD', 'tree head tree-size must be an unsigned integer');
  assertUint(treeSize, 'tree head tree-size');
  const root = body[1] as Uint8Array;
  if (treeSize === 0 && !digestsEqual(root, EMPTY_ROOT)) throw new ReceiptError('ERR_TREE_HEAD', 'tree head of size 0 must carry the empty-tree root SHA-256("")');
  return { treeSize, root, iss, iat, kid, key };
}

/**
 * Checks that `newer` extends `older`: both signatures against trusted keys, same service (iss),
 * sizes in order, then the consistency proof (the hashes of PROOF(older size, newer tree)).
 */
export function verifyTreeHeadConsistency(
  older: Uint8Array,
  newer: Uint8Array,
  path: readonly Uint8Array[] | ConsistencyProof,
  keys: TrustedKeys,
): { older: TreeHead; newer: TreeHead } {
  const a = verifyTreeHead(older, keys);
  const b = verifyTreeHead(newer, keys);
  if (a.iss !== b.iss) throw new ReceiptError('ERR_TREE_HEAD', `tree heads are from different services ("${a.iss}" and "${b.iss}")`);
  if (a.treeSize > b.treeSize) throw new ReceiptError('ERR_TREE_HEAD', `the "older" tree head (${a.treeSize} leaves) is larger than the newer one (${b.treeSize})`);
  const hashes = Array.isArray(path) ? (path as readonly Uint8Array[]) : (path as ConsistencyProof).path;
  if (!Array.isArray(path)) {
    const p = path as ConsistencyProof;
    if (p.treeSize1 !== a.treeSize || p.treeSize2 !== b.treeSize) {
      throw new ReceiptError('ERR_TREE_HEAD', `consistency proof is for sizes ${p.treeSize1} → ${p.treeSize2}, the tree heads have ${a.treeSize} → ${b.treeSize}`);
    }
  }
  if (a.treeSize === 0) {
    // Every tree extends the empty one (its root was checked above); there is nothing to prove.
    if (hashes.length !== 0) throw new ReceiptError('ERR_TREE_HEAD', 'consistency with the empty tree needs an empty proof');
    return { older: a, newer: b };
  }
  verifyConsistency({ treeSize1: a.treeSize, treeSize2: b.treeSize, path: hashes }, a.root, b.root);
  return { older: a, newer: b };
}
