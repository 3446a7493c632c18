/** Path rules, Fulcio extension encodings, did:x509 syntax and resolution, ECDSA DER → r‖s, on synthetic certificates. */
import { describe, expect, it } from 'vitest';
import { IdentityError } from '../src/errors.ts';
import {
  buildDidX509,
  certificateDigest,
  didPercentDecode,
  didPercentEncode,
  formatDidX509,
  fulcioIdentity,
  fulcioIssuer,
  matchDidX509,
  parseCertificate,
  parseDidX509,
  resolveDidX509,
  trustFromPem,
  trustFromSigstoreTrustedRoot,
  certificateToPem,
  checkX5t,
  validatePath,
  x5tFor,
} from '../src/identity/index.ts';
import { makeCa, makeLeaf, raw, utf8String, type Issued } from './helpers/identity-certs.ts';
import { vectorText } from './helpers/identity-vectors.ts';

const NOW = () => new Date();
const ISSUER = 'https://token.actions.githubusercontent.com';

async function refused(p: Promise<unknown> | (() => unknown)): Promise<IdentityError> {
  const e = await (typeof p === 'function' ? Promise.resolve().then(p) : p).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(IdentityError);
  return e as IdentityError;
}

const trustOf = (...roots: Issued[]) => trustFromPem({ roots: roots.map((r) => certificateToPem(r.der)) });

describe('Fulcio issuer extension: read .8, fall back to .1, refuse conflicts', () => {
  it('reads .8 (DER UTF8String) and .1 (raw) when they agree; .1 alone; refuses disagreement, absence and bad encodings', async () => {
    const ca = await makeCa();
    const both = await makeLeaf(ca, { san: 'https://github.com/o/r/.github/workflows/w.yml@refs/heads/main', fulcio: { '1': raw(ISSUER), '8': utf8String(ISSUER) } });
    expect(fulcioIssuer(both.der)).toBe(ISSUER);
    const legacyOnly = await makeLeaf(ca, { san: 'https://x', fulcio: { '1': raw('https://accounts.example') } });
    expect(fulcioIssuer(legacyOnly.der)).toBe('https://accounts.example');
    const v2Only = await makeLeaf(ca, { san: 'https://x', fulcio: { '8': utf8String('https://issuer.example') } });
    expect(fulcioIssuer(v2Only.der)).toBe('https://issuer.example');

    const differ = await makeLeaf(ca, { san: 'https://x', fulcio: { '1': raw(ISSUER), '8': utf8String(`${ISSUER}/evil`) } });
    const e = await refused(() => fulcioIssuer(differ.der));
    expect(e.code).toBe('ERR_FULCIO_EXTENSION');
    expect(e.message).toContain(`"${ISSUER}/evil" (1.3.6.1.4.1.57264.1.8) and "${ISSUER}" (1.3.6.1.4.1.57264.1.1)`);

    const none = await makeLeaf(ca, { san: 'https://x' });
    expect((await refused(() => fulcioIssuer(none.der))).message).toContain('not a Fulcio certificate');
    // .8 carried raw (not DER) is refused rather than read leniently
    const rawV2 = await makeLeaf(ca, { san: 'https://x', fulcio: { '8': raw(ISSUER) } });
    expect((await refused(() => fulcioIssuer(rawV2.der))).message).toContain('must be a DER UTF8String');
    const badUtf8 = await makeLeaf(ca, { san: 'https://x', fulcio: { '1': new Uint8Array([0xc3, 0x28]) } });
    expect((await refused(() => fulcioIssuer(badUtf8.der))).message).toContain('not valid UTF-8');
    // a 300-byte value uses the two-byte long form
    const long = `${ISSUER}/${'a'.repeat(300)}`;
    const longV2 = await makeLeaf(ca, { san: 'https://x', fulcio: { '8': utf8String(long) } });
    expect(fulcioIssuer(longV2.der)).toBe(long);
  });

  it('refuses a certificate whose deprecated and current extensions contradict each other', async () => {
    const ca = await makeCa();
    const leaf = await makeLeaf(ca, { san: 'https://x', fulcio: { '8': utf8String(ISSUER), '6': raw('refs/heads/main'), '14': utf8String('refs/heads/evil') } });
    const e = await refused(() => fulcioIdentity(leaf.der));
    expect(e.message).toContain('1.3.6.1.4.1.57264.1.6 says "refs/heads/main" but 1.3.6.1.4.1.57264.1.14 says "refs/heads/evil"');
  });
});

describe('certification path rules', () => {
  const fulcioLike = { san: 'https://github.com/o/r/.github/workflows/w.yml@refs/heads/main', fulcio: { '8': utf8String(ISSUER) } };

  it('accepts root → intermediate → leaf', async () => {
    const root = await makeCa();
    const inter = await makeCa({ issuer: root, pathLength: 0 });
    const leaf = await makeLeaf(inter, fulcioLike);
    const path = await validatePath([leaf.der, inter.der], { trust: await trustOf(root), at: NOW() });
    expect(path.der).toHaveLength(3);
  });

  it('refuses an unknown critical extension', async () => {
    const root = await makeCa();
    const leaf = await makeLeaf(root, { ...fulcioLike, extra: [{ oid: '1.2.3.4.5', critical: true, value: new Uint8Array([5, 0]) }] });
    const e = await refused(validatePath([leaf.der], { trust: await trustOf(root), at: NOW() }));
    expect(e.code).toBe('ERR_X509_CRITICAL_EXTENSION');
    expect(e.message).toContain('1.2.3.4.5');
  });

  it('refuses a leaf without digitalSignature, without code signing, or that is a CA', async () => {
    const root = await makeCa();
    const trust = await trustOf(root);
    const noDs = await makeLeaf(root, { ...fulcioLike, keyUsage: 0x20 /* keyEncipherment */ });
    expect((await refused(validatePath([noDs.der], { trust, at: NOW() }))).message).toContain('no digitalSignature key usage');
    const noKu = await makeLeaf(root, { ...fulcioLike, keyUsage: null });
    expect((await refused(validatePath([noKu.der], { trust, at: NOW() }))).code).toBe('ERR_X509_USAGE');
    const serverAuth = await makeLeaf(root, { ...fulcioLike, eku: ['1.3.6.1.5.5.7.3.1'] });
    const e = await refused(validatePath([serverAuth.der], { trust, at: NOW() }));
    expect(e.message).toContain('lacks the code-signing extended key usage (1.3.6.1.5.5.7.3.3); has 1.3.6.1.5.5.7.3.1');
    const noEku = await makeLeaf(root, { ...fulcioLike, eku: null });
    expect((await refused(validatePath([noEku.der], { trust, at: NOW() }))).message).toContain('no EKU extension');
    const caLeaf = await makeLeaf(root, { ...fulcioLike, ca: true });
    expect((await refused(validatePath([caLeaf.der], { trust, at: NOW() }))).message).toContain('is a CA certificate');
  });

  it('refuses an issuer that is not a CA, and a path longer than pathLenConstraint allows', async () => {
    const root = await makeCa({ pathLength: 0 });
    const notCa = await makeCa({ issuer: root, ca: false });
    const leaf = await makeLeaf(notCa, fulcioLike);
    expect((await refused(validatePath([leaf.der, notCa.der], { trust: await trustOf(root), at: NOW() }))).message).toContain('is not a CA');
    const inter = await makeCa({ issuer: root });
    const leaf2 = await makeLeaf(inter, fulcioLike);
    const e = await refused(validatePath([leaf2.der, inter.der], { trust: await trustOf(root), at: NOW() }));
    expect(e.message).toContain('allows 0 intermediate CAs below it, the path has 1');
  });

  it('refuses SHA-1 signatures', async () => {
    const root = await makeCa();
    const leaf = await makeLeaf(root, { ...fulcioLike, hash: 'SHA-1' });
    expect((await refused(validatePath([leaf.der], { trust: await trustOf(root), at: NOW() }))).code).toBe('ERR_X509_ALGORITHM');
  });

  it('refuses a CA certificate expired at the verification time even when the leaf is valid', async () => {
    const root = await makeCa();
    const inter = await makeCa({ issuer: root, notBefore: new Date(Date.now() - 48 * 3_600_000), notAfter: new Date(Date.now() - 3_600_000) });
    const leaf = await makeLeaf(inter, { ...fulcioLike, notBefore: new Date(Date.now() - 2 * 3_600_000) });
    const e = await refused(validatePath([leaf.der, inter.der], { trust: await trustOf(root), at: NOW() }));
    expect(e.code).toBe('ERR_X509_VALIDITY');
    expect(e.message).toMatch(/^CA certificate/);
  });

  it('refuses a leaf that is itself the trust anchor, trailing bytes, and a chain naming a different issuer', async () => {
    const root = await makeCa();
    expect((await refused(validatePath([root.der], { trust: await trustOf(root), at: NOW() }))).code).toBe('ERR_X509_PATH');
    const leaf = await makeLeaf(root, fulcioLike);
    const trailing = new Uint8Array([...leaf.der, 0]);
    expect((await refused(validatePath([trailing], { trust: await trustOf(root), at: NOW() }))).code).toBe('ERR_X509_MALFORMED');
    // same subject name, different key: the signature link fails
    const impostor = await makeCa({ name: root.name });
    expect((await refused(validatePath([leaf.der, impostor.der], { trust: await trustOf(root), at: NOW() }))).code).toBe('ERR_X509_PATH');
  });
});

describe('trust stores', () => {
  it('refuses an intermediate that chains to no configured root, and a malformed trusted root', async () => {
    const root = await makeCa();
    const other = await makeCa();
    const inter = await makeCa({ issuer: other });
    const e = await refused(trustFromPem({ roots: certificateToPem(root.der), intermediates: certificateToPem(inter.der) }));
    expect(e.code).toBe('ERR_TRUST_ROOT');
    expect((await refused(() => trustFromSigstoreTrustedRoot('{"mediaType":"application/json"}'))).code).toBe('ERR_TRUST_ROOT');
    expect((await refused(() => trustFromSigstoreTrustedRoot('not json'))).code).toBe('ERR_TRUST_ROOT');
    const tr = JSON.parse(vectorText('trusted_root.json')) as { certificateAuthorities: unknown[] };
    expect(trustFromSigstoreTrustedRoot(JSON.stringify(tr)).authorities).toHaveLength(2);
    expect((await refused(() => trustFromSigstoreTrustedRoot({ ...tr, certificateAuthorities: [] }))).code).toBe('ERR_TRUST_ROOT');
  });
});

describe('did:x509 syntax', () => {
  it('percent-encodes everything but A–Z a–z 0–9 - . _ (so ~ too) and decodes strictly', () => {
    expect(didPercentEncode('https://github.com/o/r/.github/workflows/w.yml@refs/heads/main~1 é')).toBe(
      'https%3A%2F%2Fgithub.com%2Fo%2Fr%2F.github%2Fworkflows%2Fw.yml%40refs%2Fheads%2Fmain%7E1%20%C3%A9',
    );
    expect(didPercentDecode('a%7e%7E%C3%A9', 'v')).toBe('a~~é');
    expect(() => didPercentDecode('a/b', 'v')).toThrow(expect.objectContaining({ code: 'ERR_DID_X509_SYNTAX' }));
    expect(() => didPercentDecode('%C3', 'v')).toThrow(/UTF-8/);
    expect(() => didPercentDecode('%G1', 'v')).toThrow(/percent-encoded/);
  });

  it('parses the method specification examples and formats them back identically', () => {
    const examples = [
      'did:x509:0:sha256:WE4P5dd8DnLHSkyHaIjhp4udlkF9LqoKwCvu9gl38jk::subject:C:US:ST:California:L:San%20Francisco:O:GitHub%2C%20Inc.',
      'did:x509:0:sha256:WE4P5dd8DnLHSkyHaIjhp4udlkF9LqoKwCvu9gl38jk::san:email:bob%40example.com',
      'did:x509:0:sha256:WE4P5dd8DnLHSkyHaIjhp4udlkF9LqoKwCvu9gl38jk::eku:1.3.6.1.4.1.311.10.3.13',
      'did:x509:0:sha256:WE4P5dd8DnLHSkyHaIjhp4udlkF9LqoKwCvu9gl38jk::fulcio-issuer:token.actions.githubusercontent.com::san:uri:https%3A%2F%2Fgithub.com%2Focto-org%2Focto-automation%2F.github%2Fworkflows%2Foidc.yml%40refs%2Fheads%2Fmain',
    ];
    for (const did of examples) expect(formatDidX509(parseDidX509(did))).toBe(did);
    expect(parseDidX509(examples[0]!).predicates[0]).toEqual({
      type: 'subject',
      fields: [
        ['C', 'US'],
        ['ST', 'California'],
        ['L', 'San Francisco'],
        ['O', 'GitHub, Inc.'],
      ],
    });
  });

  it.each([
    { did: 'did:web:example.com', why: 'not a did:x509' },
    { did: 'did:x509:1:sha256:WE4P5dd8DnLHSkyHaIjhp4udlkF9LqoKwCvu9gl38jk::eku:1.2', why: 'version' },
    { did: 'did:x509:0:md5:WE4P5dd8DnLHSkyHaIjhp4udlkF9LqoKwCvu9gl38jk::eku:1.2', why: 'digest algorithm' },
    { did: 'did:x509:0:sha256:short::eku:1.2', why: 'CA digest' },
    { did: 'did:x509:0:sha256:WE4P5dd8DnLHSkyHaIjhp4udlkF9LqoKwCvu9gl38jk', why: 'at least one predicate' },
    { did: 'did:x509:0:sha256:WE4P5dd8DnLHSkyHaIjhp4udlkF9LqoKwCvu9gl38jk::policy:x', why: 'not supported' },
    { did: 'did:x509:0:sha256:WE4P5dd8DnLHSkyHaIjhp4udlkF9LqoKwCvu9gl38jk::san:uri:https://x', why: 'must be "<email|dns|uri>' },
    { did: 'did:x509:0:sha256:WE4P5dd8DnLHSkyHaIjhp4udlkF9LqoKwCvu9gl38jk::subject:CN:a:CN:b', why: 'repeats key' },
    { did: 'did:x509:0:sha256:WE4P5dd8DnLHSkyHaIjhp4udlkF9LqoKwCvu9gl38jk::subject:XX:a', why: 'dotted OID' },
    { did: 'did:x509:0:sha256:WE4P5dd8DnLHSkyHaIjhp4udlkF9LqoKwCvu9gl38jk::eku:codeSigning', why: 'dotted OID' },
    { did: 'did:x509:0:sha256:WE4P5dd8DnLHSkyHaIjhp4udlkF9LqoKwCvu9gl38jk::san:uri:a#frag', why: 'percent-encoded' },
    { did: `did:x509:0:sha256:WE4P5dd8DnLHSkyHaIjhp4udlkF9LqoKwCvu9gl38jk::san:uri:${'a'.repeat(8200)}`, why: '8192' },
  ])('refuses a malformed did:x509 ($why)', ({ did, why }) => {
    expect(() => parseDidX509(did)).toThrow(expect.objectContaining({ code: 'ERR_DID_X509_SYNTAX', message: expect.stringContaining(why) }));
  });
});

describe('did:x509 build and resolve', () => {
  it('pins root or intermediate, with subject, eku, san and fulcio-issuer predicates, and resolves with the last certificate as anchor', async () => {
    const root = await makeCa();
    const inter = await makeCa({ issuer: root });
    const leaf = await makeLeaf(inter, {
      subject: 'CN=Release Bot, O=Octo Org, C=US',
      san: 'https://github.com/o/r/.github/workflows/w.yml@refs/heads/main',
      fulcio: { '8': utf8String(ISSUER) },
    });
    const chain = [leaf.der, inter.der, root.der];
    const rootDid = buildDidX509(chain, { predicates: ['subject', 'eku', 'san', 'fulcio-issuer'] });
    expect(rootDid).toBe(
      `did:x509:0:sha256:${Buffer.from(certificateDigest(root.der)).toString('base64url')}::subject:CN:Release%20Bot:O:Octo%20Org:C:US::eku:1.3.6.1.5.5.7.3.3` +
        '::san:uri:https%3A%2F%2Fgithub.com%2Fo%2Fr%2F.github%2Fworkflows%2Fw.yml%40refs%2Fheads%2Fmain::fulcio-issuer:token.actions.githubusercontent.com',
    );
    const interDid = buildDidX509(chain, { ca: 'intermediate', digestAlgorithm: 'sha384', predicates: ['san'] });
    expect(parseDidX509(interDid).caDigest).toBe(Buffer.from(certificateDigest(inter.der, 'sha384')).toString('base64url'));
    for (const did of [rootDid, interDid]) {
      const r = await resolveDidX509(did, chain, { at: NOW() });
      expect(r.key.crv).toBe('P-256');
    }
    // the leaf alone pins nothing
    expect((await refused(resolveDidX509(rootDid, [leaf.der], { at: NOW() }))).code).toBe('ERR_DID_X509_MISMATCH');
    // a different leaf under the same CA with another subject does not match
    const other = await makeLeaf(inter, { subject: 'CN=Mallory, O=Octo Org, C=US', san: 'https://github.com/o/r/.github/workflows/w.yml@refs/heads/main', fulcio: { '8': utf8String(ISSUER) } });
    const e = await refused(resolveDidX509(rootDid, [other.der, inter.der, root.der], { at: NOW() }));
    expect(e.message).toContain('subject CN must be "Release Bot"; the leaf has "Mallory"');
    // a leaf pinned against its own digest (i = 0) is not a CA pin
    const selfPin = formatDidX509({ ...parseDidX509(rootDid), caDigest: Buffer.from(certificateDigest(leaf.der)).toString('base64url') });
    expect((await refused(async () => matchDidX509(selfPin, [leaf.der, inter.der, root.der].map((d) => parseCertificate(d))))).message).toContain('none of the chain');
  });
});


describe('x5t', () => {
  it('matches only the leaf it hashes, with an accepted algorithm', async () => {
    const ca = await makeCa();
    const leaf = await makeLeaf(ca, { san: 'https://x' });
    checkX5t(x5tFor(leaf.der), leaf.der);
    checkX5t(x5tFor(leaf.der, -44), leaf.der);
    expect(() => checkX5t(x5tFor(ca.der), leaf.der)).toThrow(expect.objectContaining({ code: 'ERR_X509_KEY_MISMATCH' }));
    expect(() => checkX5t([-15, x5tFor(leaf.der)[1].subarray(0, 8)], leaf.der)).toThrow(expect.objectContaining({ code: 'ERR_X509_ALGORITHM' }));
    expect(() => checkX5t(x5tFor(leaf.der)[1], leaf.der)).toThrow(expect.objectContaining({ code: 'ERR_X509_MALFORMED' }));
  });
});
