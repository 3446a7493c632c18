import { describe, expect, it } from 'vitest';
import { ScittError, SignatureError } from '../src/errors.ts';
import { publicKey } from '../src/index.ts';
import { bodyProtected, decodeSign1, fromJwk, keySigner, sigStructure, signSign1, verifySign1, algorithmByName, Header } from '../src/cose/index.ts';
import { hex, listJson, readJson, toHex } from './vectors.ts';

interface Vector {
  title: string;
  fail?: boolean;
  input: {
    plaintext: string;
    sign0: { key: Record<string, string>; alg: string; external?: string; protected?: Record<string, unknown>; unprotected?: Record<string, unknown> };
    failures?: Record<string, unknown>;
  };
  intermediates: { ToBeSign_hex: string };
  output: { cbor: string };
}

/** The OKP vectors give x/d in hex (x_hex, d_hex); everything else is a JWK. */
function vectorJwk(k: Record<string, string>): Record<string, string> {
  const out = { ...k };
  for (const m of ['x', 'd'] as const) if (k[`${m}_hex`]) out[m] = Buffer.from(k[`${m}_hex`]!, 'hex').toString('base64url');
  return out;
}

/** Why each upstream "fail" vector must fail, as a stable error code. */
const FAIL_CODES: Record<string, string> = {
  'sign1-tests/sign-fail-01.json': 'ERR_CBOR_UNEXPECTED_TAG', // tag 998 instead of 18
  'sign1-tests/sign-fail-02.json': 'ERR_COSE_SIGNATURE_INVALID', // payload changed
  'sign1-tests/sign-fail-03.json': 'ERR_COSE_ALG_UNSUPPORTED', // alg -999
  'sign1-tests/sign-fail-04.json': 'ERR_COSE_ALG_UNSUPPORTED', // alg "unknown"
  'sign1-tests/sign-fail-06.json': 'ERR_COSE_SIGNATURE_INVALID', // protected attribute added
  'sign1-tests/sign-fail-07.json': 'ERR_COSE_SIGNATURE_INVALID', // protected attribute removed
};

const files = ['sign1-tests', 'ecdsa-examples', 'eddsa-examples'].flatMap((d) => listJson('cose-wg-examples', d).map((f) => `${d}/${f}`));

describe('COSE WG examples (RFC 9052 COSE_Sign1)', () => {
  it('finds all 15 vectors', () => expect(files).toHaveLength(15));

  for (const file of files) {
    const v = readJson<Vector>('cose-wg-examples', file);
    const key = fromJwk(vectorJwk(v.input.sign0.key) as never);
    const external = hex(v.input.sign0.external ?? '');
    const bytes = hex(v.output.cbor);
    const bindsAlgToCurve = file.endsWith('ecdsa-sig-04.json');

    it(`${file}: ${v.title}`, () => {
      if (v.fail) {
        let caught: unknown;
        try {
          verifySign1(decodeSign1(bytes, { requireTag: false }), publicKey(key), { externalAad: external });
        } catch (e) {
          caught = e;
        }
        expect(caught).toBeInstanceOf(ScittError);
        expect((caught as ScittError).code).toBe(FAIL_CODES[file]);
        return;
      }
      const msg = decodeSign1(bytes, { requireTag: false });
      // Sig_structure from the protected bytes as received reproduces the vector's ToBeSigned.
      expect(toHex(sigStructure(bodyProtected(msg), msg.payload!, external))).toBe(v.intermediates.ToBeSign_hex.toLowerCase());
      if (bindsAlgToCurve) {
        // ES512 with a P-256 key: upstream has no fail flag, but this project binds alg to curve.
        expect(() => verifySign1(msg, publicKey(key), { externalAad: external })).toThrow(SignatureError);
        return;
      }
      const unprotectedAlg = !msg.protectedHeader.has(Header.alg);
      if (unprotectedAlg) {
        // sign-pass-01: alg only unprotected. Plain COSE allows it; the strict default refuses it.
        expect(() => verifySign1(msg, publicKey(key), { externalAad: external })).toThrow(/unprotected/);
      }
      const alg = verifySign1(msg, publicKey(key), { externalAad: external, allowUnprotectedAlg: unprotectedAlg });
      expect(alg.name).toBe(v.input.sign0.alg === 'EdDSA' ? 'EdDSA' : v.input.sign0.alg);
    });

    if (!v.fail && file.startsWith('eddsa')) {
      it(`${file}: signing with the vector's key and inputs reproduces the output bytes (EdDSA is deterministic)`, async () => {
        const msg = decodeSign1(bytes);
        const signer = keySigner(key, algorithmByName('EdDSA'));
        // Re-sign with the exact protected header bytes: ToBeSigned and signature must match.
        const tbs = sigStructure(msg.protectedBytes, msg.payload!);
        expect(toHex(tbs)).toBe(v.intermediates.ToBeSign_hex.toLowerCase());
        expect(toHex(await signer.sign(tbs))).toBe(toHex(msg.signature));
        if (toHex(msg.protectedBytes) === 'a10127') {
          const ours = await signSign1({ protectedHeader: new Map(), unprotectedHeader: msg.unprotectedHeader, payload: msg.payload!, signer });
          expect(toHex(ours)).toBe(toHex(bytes));
        }
      });
    }
  }
});
