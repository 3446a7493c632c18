/**
 * Verifying a Transparent Statement (RFC 9943 §7.1) as a release gate or a consumer does, with one
 * structured result: each check says whether it passed and, if not, a stable code and why.
 *
 * Order: statement profile → receipts from trusted services (their iat is the trusted registration
 * time) → issuer: a trusted key, or an X.509/Fulcio identity validated at the registration time →
 * the artifact's bytes (the digest the subject pins, never the hash-envelope digest) → hash-envelope evidence.
 */
import { type CoseKey, thumbprint } from '../cose/key.ts';
import { verifySign1 } from '../cose/sign1.ts';
import { ScittError } from '../errors.ts';
import { assertBytes, assertObject, assertString } from '../guard.ts';
import type { IdentityPolicy } from '../identity/policy.ts';
import type { TrustStore } from '../identity/trust.ts';
import type { WorkflowIdentity } from '../identity/fulcio.ts';
import { TrustedKeys } from '../receipt/keys.ts';
import { type ReceiptPolicy, type ReceiptsVerification, verifyTransparentStatement } from '../receipt/transparent.ts';
import { type Preimage, verifyPreimage } from '../statement/hash-envelope.ts';
import { type SignedStatement, parseSignedStatement, verifySignedStatement } from '../statement/signed-statement.ts';
import { normaliseSha256, subjectPin, subjectSha256 } from '../payload/purl.ts';
// certificates and evidence formats are loaded when a statement has them: a key-signed statement's check never parses either
const identityVerify = () => import('../identity/verify.ts');
const evidenceDetect = () => import('../payload/detect.ts');

export type CheckName = 'statement' | 'receipts' | 'issuer' | 'artifact' | 'evidence';

export interface Check {
  name: CheckName;
  ok: boolean;
  /** what was checked, or why it failed */
  message: string;
  code?: string;
}

export interface IssuerTrust {
  /** trusted issuer keys (kid-identified statements) */
  keys?: readonly CoseKey[];
  /** x5chain statements: trust anchors and the identity policy the certificate must meet */
  x509?: { trust: TrustStore; policy: IdentityPolicy };
}

export interface TransparentVerifyOptions {
  trustedServiceKeys: TrustedKeys;
  receiptPolicy?: ReceiptPolicy;
  /** issuer trust; required unless receiptsOnly */
  issuer?: IssuerTrust;
  /** verify receipts and their binding only, not who issued the statement (RFC 9943 §7.1) */
  receiptsOnly?: boolean;
  /** accept a keyless statement without a trusted receipt (its certificate checked at the current time) */
  allowUnreceipted?: boolean;
  /** SHA-256 of the artifact about to be released: the statement must be about exactly it */
  artifactSha256?: string;
  /** the hash-envelope preimage (evidence) to check against the signed digest */
  evidence?: Preimage;
  /** for tests: the time a certificate is checked at when there is no receipt */
  now?: Date;
}

export interface VerificationResult {
  ok: boolean;
  checks: Check[];
  statement?: {
    iss: string;
    sub: string;
    alg: string;
    contentType?: string | number;
    preimageContentType?: string | number;
    payloadLocation?: string;
    /** the SHA-256 the subject pins, when it pins exactly one */
    subjectSha256?: string;
  };
  receipts?: ReceiptsVerification;
  /** earliest iat among verified receipts: the trusted registration time */
  registrationTime?: number;
  identity?: WorkflowIdentity;
  warnings: string[];
}

const codeOf = (e: unknown) => (e instanceof ScittError ? e.code : 'ERR_INTERNAL');
const fail = (name: CheckName, e: unknown): Check => ({ name, ok: false, code: codeOf(e), message: (e as Error).message });

export async function verifyTransparent(bytes: Uint8Array, o: TransparentVerifyOptions): Promise<VerificationResult> {
  return verifyKeeping(bytes, o, {});
}

/** verifyTransparent, and the statement as parsed from these bytes (when it parsed): the gate reads the evidence kind from it without parsing again. */
export async function verifyTransparentWithStatement(bytes: Uint8Array, o: TransparentVerifyOptions): Promise<{ result: VerificationResult; statement?: SignedStatement }> {
  const kept: { statement?: SignedStatement } = {};
  const result = await verifyKeeping(bytes, o, kept);
  return { result, ...kept };
}

async function verifyKeeping(bytes: Uint8Array, o: TransparentVerifyOptions, kept: { statement?: SignedStatement }): Promise<VerificationResult> {
  checkVerifyArguments(bytes, o);
  const checks: Check[] = [];
  const warnings: string[] = [];
  const done = (extra: Partial<VerificationResult> = {}): VerificationResult => ({ ok: checks.every((c) => c.ok), checks, warnings, ...extra });

  let s: SignedStatement;
  try {
    s = parseSignedStatement(bytes);
    kept.statement = s;
    checks.push({ name: 'statement', ok: true, message: `${s.algorithm.name} Signed Statement by ${s.iss} about ${s.sub}` });
  } catch (e) {
    // RFC 9943 §7.1: a relying party may check only the receipts. Their binding needs a well-formed
    // COSE_Sign1, not the issuer profile, so profile deviations of third-party statements are reported, not fatal.
    const code = codeOf(e);
    if (o.receiptsOnly && PROFILE_CODES.has(code)) {
      warnings.push(`the statement deviates from the RFC 9943 §6 profile (${(e as Error).message} [${code}]); only its receipts were checked`);
      return receiptsOnlyOfRaw(bytes, o, checks, warnings);
    }
    checks.push(fail('statement', e));
    return done();
  }
  const pinned = subjectSha256(s.sub);
  const statement = {
    iss: s.iss,
    sub: s.sub,
    alg: s.algorithm.name,
    ...(s.contentType !== undefined ? { contentType: s.contentType } : {}),
    ...(s.hashEnvelope?.preimageContentType !== undefined ? { preimageContentType: s.hashEnvelope.preimageContentType } : {}),
    ...(s.hashEnvelope?.location !== undefined ? { payloadLocation: s.hashEnvelope.location } : {}),
    ...(pinned ? { subjectSha256: pinned } : {}),
  };

  // Receipts: which trusted services registered it, and when.
  let receipts: ReceiptsVerification | undefined;
  if (s.receipts.length === 0) {
    checks.push({ name: 'receipts', ok: false, code: 'ERR_RECEIPT_MISSING', message: 'the statement carries no receipt: it was never registered with a Transparency Service, or its receipts were not attached' });
  } else {
    receipts = checkReceipts(bytes, o, checks);
    // RFC 9943 §6 profile deviations of verified receipts (no sub: CCF's, older ones of ours) are reported, not fatal.
    for (const r of receipts?.receipts ?? []) for (const d of r.profileDeviations ?? []) warnings.push(`receipt ${r.index}: ${d}`);
  }
  const registrationTimes = receipts?.receipts.filter((r) => r.ok && r.registrationTime !== undefined).map((r) => r.registrationTime!) ?? [];
  const registrationTime = registrationTimes.length ? Math.min(...registrationTimes) : undefined;

  // Issuer: who made the statement.
  let identity: WorkflowIdentity | undefined;
  if (o.receiptsOnly) {
    warnings.push('issuer not verified (--receipts-only): the receipts prove registration, not who issued the statement');
  } else {
    try {
      identity = await verifyIssuer(s, o, registrationTimes, warnings, checks);
    } catch (e) {
      checks.push(fail('issuer', e));
    }
  }

  if (o.artifactSha256 !== undefined) checks.push(await artifactCheck(s, o.artifactSha256));
  if (o.evidence !== undefined && !checks.every((c) => c.ok)) {
    // evidence is untrusted bytes, possibly large: read only for a statement that has verified
    checks.push({ name: 'evidence', ok: false, message: 'not checked: the statement did not verify, so its evidence was not read' });
  } else if (o.evidence !== undefined) {
    try {
      await verifyPreimage(s, o.evidence);
      checks.push({ name: 'evidence', ok: true, message: 'the evidence matches the digest the statement signs' });
    } catch (e) {
      checks.push(fail('evidence', e));
    }
  }
  return done({ statement, ...(receipts ? { receipts } : {}), ...(registrationTime !== undefined ? { registrationTime } : {}), ...(identity ? { identity } : {}) });
}

/** The caller's arguments, by type: a wrong one is ERR_USAGE here, not a TypeError caught as ERR_INTERNAL in some check. */
function checkVerifyArguments(bytes: unknown, o: unknown): asserts o is TransparentVerifyOptions {
  assertBytes(bytes, 'the Transparent Statement');
  assertObject(o, 'the verification options');
  if (!(o.trustedServiceKeys instanceof TrustedKeys)) throw new ScittError('ERR_USAGE', 'trustedServiceKeys must be TrustedKeys (loadServiceKeys)');
  if (o.artifactSha256 !== undefined) assertString(o.artifactSha256, 'artifactSha256');
  const ev = o.evidence as { path?: unknown; [Symbol.asyncIterator]?: unknown } | undefined;
  if (ev !== undefined && !(ev instanceof Uint8Array) && (typeof ev !== 'object' || ev === null || (typeof ev[Symbol.asyncIterator] !== 'function' && typeof ev.path !== 'string'))) {
    throw new ScittError('ERR_USAGE', 'evidence must be bytes, an async iterable of bytes, or { path }');
  }
  if (o.issuer !== undefined) {
    assertObject(o.issuer, 'issuer');
    if (o.issuer.keys !== undefined && !Array.isArray(o.issuer.keys)) throw new ScittError('ERR_USAGE', 'issuer.keys must be an array of COSE keys');
    if (o.issuer.x509 !== undefined) assertObject(o.issuer.x509, 'issuer.x509');
  }
}

/** What keeps a statement from our issuer profile but not from receipt verification (e.g. CCF's PS384 statements, claims without sub). */
const PROFILE_CODES = new Set(['ERR_STATEMENT_CLAIMS', 'ERR_STATEMENT_KEY_ID', 'ERR_STATEMENT_ISSUER', 'ERR_COSE_ALG_UNSUPPORTED']);

function receiptsOnlyOfRaw(bytes: Uint8Array, o: TransparentVerifyOptions, checks: Check[], warnings: string[]): VerificationResult {
  checks.push({ name: 'statement', ok: true, message: 'a well-formed COSE_Sign1 (profile not checked: --receipts-only)' });
  const receipts = checkReceipts(bytes, o, checks);
  return { ok: checks.every((c) => c.ok), checks, warnings, ...(receipts ? { receipts } : {}) };
}

/** The receipts check (RFC 9943 §7.1): verifies every receipt and applies the receipt policy; pushes its outcome. */
function checkReceipts(bytes: Uint8Array, o: TransparentVerifyOptions, checks: Check[]): ReceiptsVerification | undefined {
  try {
    const receipts = verifyTransparentStatement(bytes, { trustedKeys: o.trustedServiceKeys, ...(o.receiptPolicy ? { policy: o.receiptPolicy } : {}) });
    checks.push(
      receipts.ok
        ? { name: 'receipts', ok: true, message: `receipts from ${receipts.verifiedServices.length} trusted service(s) verify` }
        : { name: 'receipts', ok: false, code: receipts.error?.code ?? 'ERR_RECEIPT_POLICY', message: describeReceiptFailure(receipts) },
    );
    return receipts;
  } catch (e) {
    checks.push(fail('receipts', e));
    return undefined;
  }
}

function describeReceiptFailure(r: ReceiptsVerification): string {
  const why = r.receipts.filter((x) => !x.ok).map((x) => `receipt ${x.index}: ${x.error?.message ?? x.status}`);
  return [r.error?.message ?? 'no receipt from a trusted service verifies', ...why].join('; ');
}

async function verifyIssuer(s: SignedStatement, o: TransparentVerifyOptions, registrationTimes: number[], warnings: string[], checks: Check[]): Promise<WorkflowIdentity | undefined> {
  const trust = o.issuer;
  if (s.x5chain) {
    if (!trust?.x509) {
      throw new ScittError('ERR_USAGE', 'the statement is signed with a certificate (x5chain): give an identity policy (e.g. --repo OWNER/REPO) and trust anchors, or --receipts-only');
    }
    // The certificate must have been valid when every trusted service registered the statement: its
    // validity is an interval, so the earliest and the latest registration times decide.
    let times: Date[];
    if (registrationTimes.length) times = [Math.min(...registrationTimes), Math.max(...registrationTimes)].map((t) => new Date(t * 1000));
    else if (o.allowUnreceipted) {
      times = [o.now ?? new Date()];
      warnings.push('no trusted receipt: the certificate was checked at the current time instead of a trusted registration time');
    } else {
      throw new ScittError('ERR_RECEIPT_MISSING', 'a keyless statement needs a trusted receipt: its registration time is when the short-lived certificate must have been valid (or pass --allow-unreceipted)');
    }
    let identity: WorkflowIdentity | undefined;
    for (const at of times[0]!.getTime() === times[times.length - 1]!.getTime() ? [times[0]!] : times) {
      identity = (await (await identityVerify()).verifyX509Issuer({ x5chain: s.x5chain, iss: s.iss, trust: trust.x509.trust, at, policy: trust.x509.policy, statementKeyCheck: (k) => verifySign1(s.sign1, k) })).identity;
    }
    const when = times.map((t) => t.toISOString()).join(' and ');
    checks.push({ name: 'issuer', ok: true, message: `signed by ${identity!.sanUri ?? s.iss}, certificate valid at ${when}, identity policy met` });
    return identity;
  }
  if (!trust?.keys?.length) throw new ScittError('ERR_USAGE', 'no issuer trust given: pass the issuer public key (--issuer-key) or use --receipts-only');
  const kid = s.kid ? Buffer.from(s.kid).toString('hex') : undefined;
  const byKid = trust.keys.find((k) => kid !== undefined && (thumbprintHex(k) === kid || (k.kid && Buffer.from(k.kid).toString('hex') === kid)));
  const key = byKid ?? (trust.keys.length === 1 ? trust.keys[0] : undefined);
  if (!key) throw new ScittError('ERR_STATEMENT_KEY_ID', `no trusted issuer key has kid ${kid}`);
  verifySignedStatement(s, key);
  checks.push({ name: 'issuer', ok: true, message: `signature by ${s.iss} verifies with the trusted issuer key` });
  return undefined;
}

// a trusted key's thumbprint, computed once per key object rather than once per statement (as publicKeyObject caches its KeyObject)
const thumbprints = new WeakMap<CoseKey, string>();
function thumbprintHex(k: CoseKey): string {
  let t = thumbprints.get(k);
  if (t === undefined) thumbprints.set(k, (t = Buffer.from(thumbprint(k)).toString('hex')));
  return t;
}

/**
 * Whether the statement is about the artifact: through its subject only, the one sha256 its `sub`
 * pins or, when `sub` pins nothing, the subjects of its embedded in-toto payload. Never through a
 * Hash Envelope's digest: that is the digest of the evidence, and a file holding the evidence bytes
 * is not the artifact the evidence is about.
 */
async function artifactCheck(s: SignedStatement, artifactSha256: string): Promise<Check> {
  const sha256 = normaliseSha256(artifactSha256);
  const mismatch = (why: string): Check => ({
    name: 'artifact',
    ok: false,
    code: 'ERR_SUBJECT_MISMATCH',
    message: `the artifact's sha256:${sha256 ?? artifactSha256} is not what the statement is about (${why}): the artifact changed after signing, or this is another artifact's statement`,
  });
  if (!sha256) return { name: 'artifact', ok: false, code: 'ERR_USAGE', message: `the artifact digest ${JSON.stringify(artifactSha256.slice(0, 80))} is not a sha256 (64 hex digits)` };
  const pin = subjectPin(s.sub);
  if (pin.pins === 'ambiguous') return { name: 'artifact', ok: false, code: 'ERR_SUBJECT_INVALID', message: `${pin.reason}; the statement cannot be bound to one artifact` };
  if (pin.pins === 'sha256') return pin.sha256 === sha256 ? { name: 'artifact', ok: true, message: `the statement's subject pins sha256:${sha256}` } : mismatch(`its subject pins sha256:${pin.sha256}`);
  if (pin.pins === 'other') return mismatch(`its subject pins a ${pin.algorithm} digest, not a sha256 that can be compared`);
  const named = await inTotoSubjectDigests(s);
  if (named.includes(sha256)) return { name: 'artifact', ok: true, message: `the statement's in-toto payload names sha256:${sha256} as a subject` };
  return mismatch(named.length ? `its in-toto payload names ${named.length} other subject(s)` : `subject ${s.sub} pins no digest`);
}

/** The sha256 subjects of an embedded in-toto payload (a Statement, or a DSSE envelope of one); none for anything else. */
async function inTotoSubjectDigests(s: SignedStatement): Promise<string[]> {
  const payload = s.hashEnvelope ? undefined : s.sign1.payload;
  if (!payload) return [];
  try {
    const ev = await (await evidenceDetect()).detectEvidence(payload, { expected: 'auto' });
    return (ev.subjects ?? []).flatMap((x) => (typeof x.digest.sha256 === 'string' ? [x.digest.sha256.toLowerCase()] : []));
  } catch {
    return [];
  }
}
