/**
 * Run as a child process (node runs this .ts directly): signs one statement keylessly the way an
 * Action step would, from the environment only — ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN (the loopback
 * OIDC server), SCITT_TEST_FULCIO_URL and SCITT_TEST_FULCIO_ROOT_PEM (path of the mock CA root) —
 * and prints the COSE_Sign1 as base64 on stdout.
 */
import { readFileSync } from 'node:fs';
import { Claim, Header, signSign1 } from '../../src/cose/index.ts';
import { keylessSigner, trustFromPem } from '../../src/identity/index.ts';

const signer = keylessSigner({
  fulcioUrl: process.env.SCITT_TEST_FULCIO_URL!,
  trust: await trustFromPem({ roots: readFileSync(process.env.SCITT_TEST_FULCIO_ROOT_PEM!, 'utf8') }),
});
const id = await signer.identity();
const bytes = await signSign1({
  protectedHeader: new Map<number, unknown>([
    [Header.cwtClaims, new Map<number, unknown>([[Claim.iss, id.iss], [Claim.sub, 'pkg:npm/demo@1.0.0']])],
    [Header.x5chain, [...id.x5chain!]],
  ]),
  payload: new TextEncoder().encode('from a child process'),
  signer,
});
process.stdout.write(Buffer.from(bytes).toString('base64'));
