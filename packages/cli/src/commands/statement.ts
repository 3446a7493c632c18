import type { Command } from 'commander';
import { type IssuerSigner, StatementError, issueSignedStatement, keyIssuerSigner, keylessSigner } from '@scitt-actions/core';
import { DEFAULT_FULCIO_URL } from '@scitt-actions/core/identity';
import { digestPreimage, parseSignedStatement, verifyPreimage, verifySignedStatement } from '@scitt-actions/core/statement';
import { loadX509Trust } from '@scitt-actions/core/verify';
import { UsageError, action } from '../run.ts';
import { hex, readInput, readKey, report, writeOutput } from '../io.ts';
import { type BundleIdentityFlags, type SubjectFlags, addBundleIdentityOptions, addSubjectOptions, hasSubjects, issueFromEvidence } from './evidence.ts';
import { contentTypeFor } from '../content-type.ts';

/** --key signs with that key; --keyless (or no --key inside GitHub Actions with id-token permission) goes through Fulcio. */
async function signerFor(o: CreateOptions): Promise<IssuerSigner> {
  if (o.key && o.keyless) throw new UsageError('choose one: --key KEY.pem or --keyless');
  if (o.key) return keyIssuerSigner(await readKey(o.key));
  // a CI identity in the environment (GitHub's token endpoint, or SIGSTORE_ID_TOKEN from GitLab, CircleCI, …) makes keyless the default
  if (!o.keyless && !process.env.ACTIONS_ID_TOKEN_REQUEST_URL && !process.env.SIGSTORE_ID_TOKEN) {
    throw new UsageError(
      'no signer: pass --key KEY.pem, or --keyless inside a GitHub workflow with permissions: id-token: write, or with SIGSTORE_ID_TOKEN set (GitLab id_tokens with aud: sigstore, CircleCI, Buildkite)',
    );
  }
  const trust = await loadX509Trust({ ...(o.trustedRoot ? { trustedRoot: o.trustedRoot } : {}), ...(o.x509Roots ? { rootsPem: o.x509Roots } : {}) });
  return keylessSigner({ trust, ...(o.fulcioUrl ? { fulcioUrl: o.fulcioUrl } : {}) });
}

interface CreateOptions extends SubjectFlags, BundleIdentityFlags {
  payload: string;
  type?: string;
  placement?: string;
  publishBase?: string;
  outDir?: string;
  key?: string;
  keyless?: boolean;
  fulcioUrl?: string;
  trustedRoot?: string;
  x509Roots?: string;
  iss?: string;
  sub?: string;
  contentType?: string | false;
  hashEnvelope?: boolean;
  location?: string;
  detached?: boolean;
  out?: string;
  json?: boolean;
}

interface VerifyOptions {
  key: string;
  payload?: string;
  json?: boolean;
}

export function registerStatement(program: Command): void {
  const statement = program.command('statement').description('create and verify Signed Statements (RFC 9943 §6)');

  const create = statement
    .command('create')
    .description(
      'sign evidence as SCITT Signed Statements (COSE_Sign1): with --subject-* options, one statement per artifact, kind detected from the content; with --sub, exactly the payload given',
    )
    .requiredOption('--payload <FILE>', 'the evidence to sign (SBOM, in-toto attestation, SLSA provenance, SARIF, …)')
    .option('--key <KEY.pem>', 'issuer private key (PEM, JWK or COSE_Key)')
    .option('--keyless', "sign with the workflow's OIDC identity through Sigstore Fulcio (default in GitHub Actions when no --key)")
    .option('--fulcio-url <URL>', 'keyless: Fulcio instance', DEFAULT_FULCIO_URL)
    .option('--trusted-root <FILE>', 'keyless: Sigstore trusted_root.json for the Fulcio chain (default: public good via TUF)')
    .option('--x509-roots <PEM>', 'keyless: PEM with the Fulcio root and intermediates (private Fulcio)')
    .option('--iss <ISS>', 'issuer (CWT iss), e.g. https://example.com/releases; keyless derives a did:x509')
    .option('--sub <SUB>', 'subject (CWT sub) of a single statement: a package URL that pins the artifact digest')
    .option('--type <TYPE>', 'sbom, in-toto, provenance, scan or auto: refuses evidence of another kind', 'auto')
    .option('--placement <P>', 'with --subject-*: hash-envelope or embedded (default by evidence kind)')
    .option('--publish-base <URL>', 'with --subject-*: where the artifacts and evidence will be published (payload-location, SCAI locationURI)')
    .option('--out-dir <DIR>', 'with --subject-*: where to write the statements and evidence', '.')
    .option('--content-type <CT>', 'media type of the payload (for a hash envelope: of the preimage); default: detected from the evidence, as with --subject-*')
    .option('--no-content-type', 'with --sub: sign a payload that is no known evidence without a content type')
    .option('--hash-envelope', 'sign the SHA-256 digest of the payload instead of the payload (RFC 9995)')
    .option('--location <URI>', 'with --hash-envelope: where the payload can be fetched (payload-location)')
    .option('--detached', 'leave the payload out of the statement (nil payload)')
    .option('--out <STATEMENT.cose>', 'with --sub: where to write the statement')
    .option('--json', 'print the result as JSON');
  addBundleIdentityOptions(addSubjectOptions(create)).action(
      action('operate', async (o: CreateOptions) => {
        if (hasSubjects(o)) {
          if (o.sub || o.out || o.hashEnvelope || o.location) throw new UsageError('--subject-* derives sub and placement: drop --sub, --out, --hash-envelope and --location (use --out-dir, --placement)');
          return issueFromEvidence(o, await signerFor(o));
        }
        if (!o.sub || !o.out) throw new UsageError('name the subject: --sub SUB --out FILE, or --subject-path/--subject-digest/--subject-checksums/--subject-image');
        if (Object.keys(o).some((k) => k.startsWith('bundleCertificate'))) throw new UsageError('--bundle-certificate-* check a Sigstore bundle taken in as evidence, which only the --subject-* mode does: add --subject-path (or drop them)');
        if (o.location && !o.hashEnvelope) throw new UsageError('--location only applies with --hash-envelope');
        const contentType = await contentTypeFor(o); // detected and validated as the subject mode does
        const signer = await signerFor(o);
        const hashEnvelope = !!o.hashEnvelope;
        const payload = hashEnvelope ? await digestPreimage({ path: o.payload }) : await readInput(o.payload, 'payload');
        const bytes = await issueSignedStatement({
          payload,
          signer,
          ...(o.iss ? { iss: o.iss } : {}),
          sub: o.sub,
          detached: !!o.detached,
          ...(hashEnvelope
            ? { hashEnvelope: { hashAlg: -16, ...(contentType ? { preimageContentType: contentType } : {}), ...(o.location ? { location: o.location } : {}) } }
            : contentType
              ? { contentType }
              : {}),
        });
        await writeOutput(o.out, bytes);
        const s = parseSignedStatement(bytes);
        report(!!o.json, {
          statement: o.out,
          bytes: bytes.length,
          kid: s.kid ? hex(s.kid) : undefined,
          certificates: s.x5chain?.length,
          iss: s.iss,
          sub: s.sub,
          contentType,
          hashEnvelope,
          ...(hashEnvelope ? { payloadSha256: hex(payload) } : {}),
        });
      }),
    );

  statement
    .command('verify')
    .description("check a Signed Statement's profile and its issuer signature")
    .argument('<STATEMENT.cose>', 'the statement')
    .requiredOption('--key <KEY.pub.pem>', 'issuer public key (PEM, JWK or COSE_Key)')
    .option('--payload <FILE>', 'the detached payload, or the preimage of a hash envelope to check against its digest')
    .option('--json', 'print the result as JSON')
    .action(
      action('verify', async (file: string, o: VerifyOptions) => {
        const key = await readKey(o.key);
        const statement = parseSignedStatement(await readInput(file, 'statement'));
        const detached = statement.sign1.payload === null;
        if (detached && !o.payload) throw new StatementError('ERR_COSE_PAYLOAD', 'the statement payload is detached: pass the payload with --payload FILE');
        const payload = o.payload ? await readInput(o.payload, 'payload') : undefined;
        verifySignedStatement(statement, key, detached && payload ? { detachedPayload: payload } : {});
        let preimage: string | undefined;
        if (statement.hashEnvelope && payload && !detached) {
          await verifyPreimage(statement, payload);
          preimage = 'matches';
        }
        report(!!o.json, {
          verified: true,
          alg: statement.algorithm.name,
          iss: statement.iss,
          sub: statement.sub,
          iat: statement.iat !== undefined ? new Date(statement.iat * 1000).toISOString() : undefined,
          kid: statement.kid ? hex(statement.kid) : undefined,
          hashEnvelope: statement.hashEnvelope ? { location: statement.hashEnvelope.location, digest: hex(statement.hashEnvelope.digest) } : undefined,
          preimage,
          receipts: statement.receipts.length,
        });
      }),
    );
}
