/**
 * Every decoder of untrusted input, as a fuzz target: `run(bytes)` feeds it and everything it leads
 * to in one call (e.g. a receipt is read, then verified). The contract checked by fuzz.test.ts,
 * the corpus replay and the coverage-guided harnesses (jazzer/): a target returns, or throws a
 * ScittError (each module's typed error extends it) — never anything else — and returns promptly.
 *
 * `seeds()` gives valid inputs for structure-aware mutation; corpus/<target>/ adds the interesting
 * and once-failing ones.
 */
import { webcrypto } from 'node:crypto';
import { isAbsolute, join, relative } from 'node:path';
import { Tag, decode, encode } from '../../packages/core/src/cbor.ts';
import { ScittError } from '../../packages/core/src/errors.ts';
import { Claim, Header } from '../../packages/core/src/cose/headers.ts';
import { decodeKeySet, encodeCoseKey, encodeKeySet, loadKey, publicKeyObject, toJwk, toPem } from '../../packages/core/src/cose/key.ts';
import { decodeSign1, sigStructure } from '../../packages/core/src/cose/sign1.ts';
import { diagnose } from '../../packages/core/src/diagnostic.ts';
import {
  basicConstraints,
  buildDidX509,
  certificateKey,
  certificateToPem,
  certificatesFromPem,
  extendedKeyUsages,
  formatDidX509,
  fulcioIdentity,
  keyUsage,
  parseCertificate,
  parseDidX509,
  subjectAltNames,
  trustFromSigstoreTrustedRoot,
} from '../../packages/core/src/identity/index.ts';
import { leafHash, rootFromConsistencyProof, rootFromInclusionProof, sha256 } from '../../packages/core/src/merkle/index.ts';
import {
  TrustedKeys,
  attachReceipts,
  ccfKeyId,
  ccfRoot,
  decodeCcfInclusionProof,
  decodeConsistencyProof,
  decodeInclusionProof,
  encodeConsistencyProof,
  encodeInclusionProof,
  extractReceipts,
  loadTrustedKeys,
  readReceiptHeaders,
  signTreeHead,
  statementEntry,
  trustedKey,
  verifyReceipt,
  verifyTransparentStatement,
  verifyTreeHead,
} from '../../packages/core/src/receipt/index.ts';
import { readProblem } from '../../packages/core/src/scrapi/problem.ts';
import { locationSegments } from '../../packages/core/src/storage/safe-path.ts';
import { createSignedStatement, parseSignedStatement, verifySignedStatement } from '../../packages/core/src/statement/signed-statement.ts';
import { CompiledPolicy, parsePolicy } from '../../packages/transparency-service/src/registration-policy.ts';
import { makeCa, makeLeaf, raw, utf8String } from '../../packages/core/test/helpers/identity-certs.ts';
import type { InputKind } from './mutate.ts';
import { ISS, SBOM, entriesOf, issuer, issuerEd, party, receiptFor, service, text, transparent, treeOf } from './helpers.ts';

export interface FuzzTarget {
  readonly name: string;
  /** what it drives, for people */
  readonly what: string;
  readonly kind: InputKind;
  run(data: Uint8Array): unknown;
  seeds(): Promise<Uint8Array[]>;
}

/** A clean refusal: a typed error. Anything else thrown is a finding. */
export function isRefusal(e: unknown): boolean {
  return e instanceof ScittError;
}

const td = new TextDecoder();
const utf8 = (b: Uint8Array) => td.decode(b);

/** The entry every receipt seed proves; the receipt target verifies against it. */
let fixtures: Promise<Fixtures> | undefined;
interface Fixtures {
  statements: Uint8Array[];
  x5chainStatement: Uint8Array;
  receipts: Uint8Array[];
  ccfReceipt: Uint8Array;
  receiptEntry: Uint8Array;
  transparents: Uint8Array[];
  treeHeads: Uint8Array[];
  certificates: Uint8Array[];
  chainPem: string;
  did: string;
}

const ccfKey = party('P-384');
export const trusted = new TrustedKeys([trustedKey(service.pub), { kid: ccfKeyId(ccfKey.pub), key: ccfKey.pub }]);

async function ccfReceiptFor(entry: Uint8Array): Promise<Uint8Array> {
  const ith = sha256(text('ith'));
  const evidence = `ce:3.14:${'0'.repeat(64)}`;
  const siblings = [sha256(text('a')), sha256(text('b'))];
  let h = sha256(new Uint8Array([...ith, ...sha256(text(evidence)), ...sha256(entry)]));
  [false, true].forEach((left, i) => (h = sha256(new Uint8Array(left ? [...siblings[i]!, ...h] : [...h, ...siblings[i]!]))));
  const kid = ccfKeyId(ccfKey.pub);
  const protectedBytes = encode(
    new Map<number | string, unknown>([
      [Header.alg, -35],
      [Header.kid, kid],
      [Header.cwtClaims, new Map<number, unknown>([[Claim.iss, 'ccf.example'], [Claim.iat, 1700000000]])],
      [Header.vds, 2],
      ['ccf.v1', new Map([['txid', '3.15']])],
    ]),
  );
  const proof = encode(new Map<number, unknown>([[1, [ith, evidence, sha256(entry)]], [2, [false, true].map((l, i) => [l, siblings[i]!])]]));
  const signature = await ccfKey.signer.sign(sigStructure(protectedBytes, h));
  return encode(new Tag([protectedBytes, new Map([[Header.vdp, new Map([[-1, [proof]]])]]), null, signature], 18));
}

function getFixtures(): Promise<Fixtures> {
  return (fixtures ??= (async () => {
    const iat = 1_700_000_000;
    const embedded = await createSignedStatement({ payload: SBOM, signer: issuer.signer, iss: ISS, sub: 'pkg:generic/app@1.0.0?checksum=sha256:' + 'ab'.repeat(32), kid: issuer.kid, contentType: 'application/vnd.cyclonedx+json', iat });
    const envelope = await createSignedStatement({ payload: sha256(SBOM), signer: issuer.signer, iss: ISS, sub: 'pkg:oci/app@sha256:' + 'cd'.repeat(32), kid: issuer.kid, hashEnvelope: { hashAlg: -16, preimageContentType: 'application/spdx+json', location: 'https://example.com/sbom.json' }, iat });
    const detached = await createSignedStatement({ payload: SBOM, signer: issuer.signer, iss: ISS, sub: 's', kid: issuer.kid, detached: true, iat });
    const ed = await createSignedStatement({ payload: SBOM, signer: issuerEd.signer, iss: ISS, sub: 's', kid: issuerEd.kid, iat });
    const root = await makeCa({ name: 'CN=Fuzz Root, O=scitt-actions' });
    const mid = await makeCa({ name: 'CN=Fuzz Intermediate, O=scitt-actions', issuer: root });
    const san = 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0';
    const leaf = await makeLeaf(mid, { san, fulcio: { '1': raw('https://token.actions.githubusercontent.com'), '8': utf8String('https://token.actions.githubusercontent.com'), '12': utf8String('https://github.com/acme/app') } });
    const { x5chainSigner } = await leafSigner(leaf);
    const did = buildDidX509([leaf.der, mid.der, root.der]);
    const x5chainStatement = await createSignedStatement({ payload: SBOM, signer: x5chainSigner, iss: did, sub: 'pkg:generic/app@1.0.0', x5chain: [leaf.der, mid.der], iat });
    const r1 = await receiptFor(embedded, { n: 7, index: 3 });
    const r2 = await receiptFor(embedded, { n: 1, index: 0 });
    const ccfReceipt = await ccfReceiptFor(r1.entry);
    const big = treeOf(entriesOf(20));
    const treeHeads = [
      await signTreeHead({ signer: service.signer, kid: service.kid, iss: 'https://ts.example', iat, treeSize: 20, root: big.root() }),
      await signTreeHead({ signer: service.signer, kid: service.kid, iss: 'https://ts.example', iat, treeSize: 13, root: big.root(13) }),
    ];
    return {
      statements: [embedded, envelope, detached, ed],
      x5chainStatement,
      receipts: [r1.receipt, r2.receipt],
      ccfReceipt,
      receiptEntry: r1.entry,
      transparents: [await transparent(embedded, [r1.receipt, ccfReceipt]), await transparent(x5chainStatement, [(await receiptFor(x5chainStatement)).receipt])],
      treeHeads,
      certificates: [leaf.der, mid.der, root.der],
      chainPem: [leaf.der, mid.der, root.der].map(certificateToPem).join(''),
      did,
    };
  })());
}

async function leafSigner(leaf: { keys: webcrypto.CryptoKeyPair }) {
  const { createPrivateKey } = await import('node:crypto');
  const { fromKeyObject } = await import('../../packages/core/src/cose/key.ts');
  const { keySigner } = await import('../../packages/core/src/cose/sign1.ts');
  const pkcs8 = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', leaf.keys.privateKey));
  return { x5chainSigner: keySigner(fromKeyObject(createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' }))) };
}

/** Runs `f`, treating a typed refusal as a result: for targets that go on after a first step. */
function attempt<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (isRefusal(e)) return undefined;
    throw e;
  }
}

export const TARGETS: readonly FuzzTarget[] = [
  {
    name: 'cbor',
    what: 'cbor.decode (scanWellFormed + cbor-x) with default limits and with no tags allowed',
    kind: 'cbor',
    run: (b) => (attempt(() => decode(b, { allowedTags: [] })), decode(b)),
    seeds: async () => {
      const f = await getFixtures();
      return [...f.statements, ...f.receipts, f.treeHeads[0]!, encode(new Map<unknown, unknown>([[1, [1, 'a', new Uint8Array(3), null, true]], ['k', -7n]]))];
    },
  },
  {
    name: 'sign1',
    what: 'decodeSign1, tagged and untagged',
    kind: 'cbor',
    run: (b) => (attempt(() => decodeSign1(b, { requireTag: false })), decodeSign1(b)),
    seeds: async () => {
      const f = await getFixtures();
      return [...f.statements, ...f.receipts];
    },
  },
  {
    name: 'statement',
    what: 'parseSignedStatement, then verifySignedStatement with the issuer key',
    kind: 'cbor',
    run: (b) => {
      const s = parseSignedStatement(b);
      const key = s.x5chain ? certificateKey(s.x5chain[0]!) : s.algorithm.name === 'EdDSA' ? issuerEd.pub : issuer.pub;
      return verifySignedStatement(s, key, s.sign1.payload === null ? { detachedPayload: SBOM } : {});
    },
    seeds: async () => {
      const f = await getFixtures();
      return [...f.statements, f.x5chainStatement];
    },
  },
  {
    name: 'receipt',
    what: 'readReceiptHeaders, then verifyReceipt (vds 1 and CCF vds 2) against a known entry',
    kind: 'cbor',
    run: (b) => {
      const h = readReceiptHeaders(b);
      return verifyReceipt(h, fixturesSync().receiptEntry, trusted);
    },
    seeds: async () => {
      const f = await getFixtures();
      return [...f.receipts, f.ccfReceipt];
    },
  },
  {
    name: 'inclusion-proof',
    what: 'decodeInclusionProof, then rootFromInclusionProof',
    kind: 'cbor',
    run: (b) => rootFromInclusionProof(leafHash(text('leaf')), decodeInclusionProof(b)),
    seeds: async () => {
      const t = treeOf(entriesOf(21));
      return [t.inclusionProof(0), t.inclusionProof(13), t.inclusionProof(20)].map(encodeInclusionProof);
    },
  },
  {
    name: 'consistency-proof',
    what: 'decodeConsistencyProof, then rootFromConsistencyProof',
    kind: 'cbor',
    run: (b) => {
      const p = decodeConsistencyProof(b);
      return rootFromConsistencyProof(p, treeOf(entriesOf(Math.min(p.treeSize1, 64) || 1)).root());
    },
    seeds: async () => {
      const t = treeOf(entriesOf(21));
      return [t.consistencyProof(3, 21), t.consistencyProof(8, 13), t.consistencyProof(20, 21)].map(encodeConsistencyProof);
    },
  },
  {
    name: 'ccf-proof',
    what: 'decodeCcfInclusionProof, then ccfRoot',
    kind: 'cbor',
    run: (b) => ccfRoot(decodeCcfInclusionProof(b)),
    seeds: async () => {
      const f = await getFixtures();
      const u = (decode(f.ccfReceipt) as Tag).value as unknown[];
      return [((u[1] as Map<number, Map<number, Uint8Array[]>>).get(396)!.get(-1)!)[0]!];
    },
  },
  {
    name: 'key-set',
    what: 'decodeKeySet, then a KeyObject for every key (points checked on the curve)',
    kind: 'cbor',
    run: (b) => decodeKeySet(b).map((k) => publicKeyObject(k)),
    seeds: async () => [encodeKeySet([service.pub, issuerEd.pub, party('P-521').pub]), encodeKeySet([{ ...service.pub, kid: service.kid, alg: -7 }])],
  },
  {
    name: 'load-key',
    what: 'loadKey: PEM, JWK JSON or CBOR COSE_Key',
    kind: 'text',
    run: (b) => publicKeyObject(loadKey(b)),
    seeds: async () => [text(toPem(issuer.pub)), text(toPem(issuer.key, { includePrivate: true })), text(JSON.stringify(toJwk(issuerEd.pub))), encodeCoseKey(service.pub)],
  },
  {
    name: 'trusted-keys',
    what: 'loadTrustedKeys: COSE_KeySet, JWK Set, CCF trust store, PEM keys and certificates',
    kind: 'text',
    run: (b) => loadTrustedKeys(b),
    seeds: async () => {
      const f = await getFixtures();
      return [
        encodeKeySet([service.pub, issuer.pub]),
        text(JSON.stringify({ keys: [{ ...toJwk(service.pub), kid: 'abc', alg: 'ES256' }, { kty: 'RSA', n: 'AQAB', e: 'AQAB' }] })),
        text(JSON.stringify({ parameters: [{ serviceCertificate: Buffer.from(f.certificates[0]!).toString('base64') }] })),
        text(f.chainPem),
        text(toPem(service.pub)),
      ];
    },
  },
  {
    name: 'diagnose',
    what: 'diagnose (scitt inspect): EDN text and JSON view of any CBOR',
    kind: 'cbor',
    run: (b) => diagnose(b),
    seeds: async () => {
      const f = await getFixtures();
      return [f.transparents[0]!, f.receipts[0]!, f.ccfReceipt, encodeKeySet([service.pub]), f.treeHeads[0]!];
    },
  },
  {
    name: 'policy',
    what: "the Transparency Service's parsePolicy, then CompiledPolicy",
    kind: 'text',
    run: (b) => new CompiledPolicy(parsePolicy(utf8(b))),
    seeds: async () => {
      const f = await getFixtures();
      return [
        text(JSON.stringify({ issuers: [{ name: 'ci', iss: ISS, key: toJwk(issuer.pub) }, { key: toPem(issuerEd.pub) }], maxStatementBytes: 65536 })),
        text(JSON.stringify({ issuers: [], x509: { roots: [certificateToPem(f.certificates[2]!)], intermediates: certificateToPem(f.certificates[1]!), identity: { repo: 'acme/app', signerWorkflow: 'acme/app/.github/workflows/release.yml' } } })),
      ];
    },
  },
  {
    name: 'x509',
    what: 'parseCertificate, then every field the identity checks read (SAN, EKU, key usage, basic constraints, Fulcio identity, public key)',
    kind: 'cbor',
    run: (b) => {
      const c = parseCertificate(b);
      subjectAltNames(c);
      extendedKeyUsages(c);
      keyUsage(c);
      basicConstraints(c);
      attempt(() => fulcioIdentity(c));
      return attempt(() => certificateKey(c));
    },
    seeds: async () => (await getFixtures()).certificates,
  },
  {
    name: 'pem',
    what: 'certificatesFromPem, then parseCertificate of each block',
    kind: 'text',
    run: (b) => certificatesFromPem(utf8(b)).map((der) => parseCertificate(der)),
    seeds: async () => [text((await getFixtures()).chainPem)],
  },
  {
    name: 'trusted-root',
    what: 'trustFromSigstoreTrustedRoot (trusted_root.json)',
    kind: 'text',
    run: (b) => trustFromSigstoreTrustedRoot(b),
    seeds: async () => {
      const f = await getFixtures();
      const ca = (ders: Uint8Array[]) => ({ subject: { organization: 'sigstore.dev', commonName: 'sigstore' }, uri: 'https://fulcio.sigstore.dev', certChain: { certificates: ders.map((d) => ({ rawBytes: Buffer.from(d).toString('base64') })) }, validFor: { start: '2022-04-13T20:06:15.000Z' } });
      return [text(JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', certificateAuthorities: [ca([f.certificates[1]!, f.certificates[2]!]), ca([f.certificates[2]!])] }))];
    },
  },
  {
    name: 'did-x509',
    what: 'parseDidX509, then formatDidX509 (round trip)',
    kind: 'text',
    run: (b) => formatDidX509(parseDidX509(utf8(b))),
    seeds: async () => [text((await getFixtures()).did), text('did:x509:0:sha256:WE4P5dd8DnLHSkyHaIjhp4udlkF9LqoKwCvu9gl38jk::subject:C:US:O:Microsoft%20Corporation::eku:1.3.6.1.5.5.7.3.3')],
  },
  {
    name: 'payload-location',
    what: "storage's locationSegments: every accepted payload-location stays inside the artifact's directory",
    kind: 'text',
    run: (b) => {
      const segments = locationSegments(utf8(b));
      const base = '/artifacts/dir';
      const rel = relative(base, join(base, ...segments));
      for (const seg of segments) {
        if (seg === '' || seg === '.' || seg === '..' || /[/\\\u0000-\u001f]/.test(seg)) throw new Error(`unsafe segment ${JSON.stringify(seg)} accepted`);
      }
      if (rel === '' || rel === '..' || rel.startsWith('../') || isAbsolute(rel)) throw new Error(`${JSON.stringify(utf8(b))} resolves to ${rel}, outside the directory`);
      return segments;
    },
    seeds: async () => ['sbom.json', 'docs/sbom.spdx.json', 'https://example.com/releases/v1/sbom.json', 'https://example.com/a%20b.json'].map(text),
  },
  {
    name: 'transparent',
    what: 'verifyTransparentStatement, extractReceipts, statementEntry and attachReceipts of a Transparent Statement',
    kind: 'cbor',
    run: (b) => {
      extractReceipts(b);
      statementEntry(b);
      attempt(() => attachReceipts(b, fixturesSync().receipts));
      return verifyTransparentStatement(b, { trustedKeys: trusted });
    },
    seeds: async () => (await getFixtures()).transparents,
  },
  {
    name: 'tree-head',
    what: 'verifyTreeHead with the service key',
    kind: 'cbor',
    run: (b) => verifyTreeHead(b, trusted),
    seeds: async () => (await getFixtures()).treeHeads,
  },
  {
    name: 'problem',
    what: "the SCRAPI client's readProblem of a service's error body (must never throw)",
    kind: 'cbor',
    run: (b) => (readProblem(b, 'application/concise-problem-details+cbor'), readProblem(b, 'application/problem+json')),
    seeds: async () => [encode(new Map<number, unknown>([[-1, 'Rejected'], [-2, 'not a valid Signed Statement'], [-4, 400]])), text('{"title":"Rejected","detail":"x","error":{"code":"InvalidInput","message":"m"}}')],
  },
];

let fixturesValue: Fixtures | undefined;
/** Fixtures for synchronous targets; `await getFixtures()` (or loadTargets) must have run first. */
function fixturesSync(): Fixtures {
  if (!fixturesValue) throw new Error('fuzz fixtures not ready: await loadTargets() first');
  return fixturesValue;
}

/** Builds the fixtures every target relies on; call once before running targets. */
export async function loadTargets(): Promise<readonly FuzzTarget[]> {
  fixturesValue = await getFixtures();
  return TARGETS;
}

export function target(name: string): FuzzTarget {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`no fuzz target "${name}"; targets: ${TARGETS.map((x) => x.name).join(', ')}`);
  return t;
}
