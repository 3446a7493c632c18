/** The evidence mode of `scitt statement create` and `scitt provenance generate`: build outputs in, statements out. */
import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { type IssuerSigner, issueEvidenceStatements } from '@scitt-actions/core';
import { bundleSignerPolicy, inputsFromFlags } from '@scitt-actions/core/identity';
import { sigstoreTrustedRootSource } from '@scitt-actions/core/verify';
import { type EvidenceKind, type PayloadPlacement, type Subject, buildProvenanceStatement, collectSubjects, createProgressRenderer, toInTotoSubject } from '@scitt-actions/core/payload';
import { UsageError, action } from '../run.ts';
import { printJson, report } from '../io.ts';

export interface SubjectFlags {
  subjectPath?: string[];
  subjectName?: string;
  subjectDigest?: string;
  subjectChecksums?: string[];
  subjectImage?: string[];
  json?: boolean;
}

export function addSubjectOptions(cmd: Command): Command {
  return cmd
    .option('--subject-path <GLOB...>', 'artifacts (files or globs) the statement is about; each is hashed')
    .option('--subject-name <NAME>', 'with --subject-digest: the artifact name')
    .option('--subject-digest <sha256:HEX>', 'an artifact by digest (with --subject-name)')
    .option('--subject-checksums <FILE...>', 'artifacts from sha256sum-format checksums files')
    // commander makes an option variadic only when a word character precedes the "..." (was "…...": one string, read letter by letter)
    .option('--subject-image <IMAGE...>', 'container images by digest, REGISTRY/REPO@sha256:HEX (repeatable)');
}

/** Flags naming who must have signed a Sigstore bundle given as --payload: cosign's identity flags, for the bundle's certificate. */
export interface BundleIdentityFlags {
  bundleCertificateIdentity?: string;
  bundleCertificateIdentityRegexp?: string;
  bundleCertificateOidcIssuer?: string;
  bundleCertificateOidcIssuerRegexp?: string;
}

export function addBundleIdentityOptions(cmd: Command): Command {
  return cmd
    .option('--bundle-certificate-identity <SAN>', 'a Sigstore bundle as --payload must be signed by this certificate SAN, exact (e.g. https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/tags/v1)')
    .option('--bundle-certificate-identity-regexp <RE>', "the bundle signer's SAN, a regular expression matched against the whole SAN")
    .option('--bundle-certificate-oidc-issuer <URL>', "the bundle signer's OIDC issuer, exact (default with an identity: GitHub Actions)")
    .option('--bundle-certificate-oidc-issuer-regexp <RE>', "the bundle signer's OIDC issuer, a regular expression matched against the whole issuer");
}

export const hasSubjects = (f: SubjectFlags) => !!(f.subjectPath?.length || f.subjectDigest || f.subjectChecksums?.length || f.subjectImage?.length);

async function subjectsFrom(f: SubjectFlags): Promise<Subject[]> {
  if (!!f.subjectDigest !== !!f.subjectName) throw new UsageError('--subject-digest and --subject-name go together');
  const progress = createProgressRenderer({ json: !!f.json });
  try {
    return await collectSubjects(
      {
        ...(f.subjectPath ? { paths: f.subjectPath } : {}),
        ...(f.subjectDigest ? { digests: [{ name: f.subjectName!, digest: f.subjectDigest }] } : {}),
        ...(f.subjectChecksums ? { checksumFiles: f.subjectChecksums } : {}),
        ...(f.subjectImage ? { images: f.subjectImage } : {}),
      },
      { onProgress: (p) => progress.update(p) },
    );
  } finally {
    progress.done();
  }
}

export async function issueFromEvidence(
  f: SubjectFlags & BundleIdentityFlags & { payload: string; type?: string; placement?: string; publishBase?: string; outDir?: string; iss?: string; trustedRoot?: string },
  signer: IssuerSigner,
): Promise<void> {
  const sigstoreIdentity = bundleSignerPolicy(inputsFromFlags(f));
  const kind = (f.type ?? 'auto') as EvidenceKind | 'auto';
  if (!['auto', 'sbom', 'in-toto', 'provenance', 'scan'].includes(kind)) throw new UsageError(`--type must be sbom, in-toto, provenance, scan or auto; got ${f.type}`);
  if (f.placement && f.placement !== 'hash-envelope' && f.placement !== 'embedded') throw new UsageError('--placement must be hash-envelope or embedded');
  const issued = await issueEvidenceStatements({
    subjects: await subjectsFrom(f),
    evidence: [{ path: f.payload, expected: kind }],
    signer,
    ...(f.iss ? { iss: f.iss } : {}),
    outputDir: f.outDir ?? '.',
    ...(f.placement ? { placement: f.placement as PayloadPlacement } : {}),
    ...(f.publishBase ? { publishBase: f.publishBase } : {}),
    // a Sigstore bundle as --payload is verified against this root (read only if one is given)
    sigstoreTrustedRoot: sigstoreTrustedRootSource(f.trustedRoot),
    ...(sigstoreIdentity ? { sigstoreIdentity } : {}),
  });
  if (f.json) {
    printJson({ statements: issued.map(({ subject, ...rest }) => ({ subjectName: subject.name, digest: subject.digest, ...rest })) });
    return;
  }
  for (const s of issued) {
    process.stdout.write(`${s.statementPath}  ${s.kind} (${s.format}, ${s.placement}) about ${s.subject.name} sha256:${s.subject.digest.sha256}${s.evidencePath ? `; evidence ${s.evidencePath}` : ''}\n`);
  }
}

export function registerProvenance(program: Command): void {
  const provenance = program.command('provenance').description('SLSA provenance for build outputs');
  const cmd = provenance
    .command('generate')
    .description('write SLSA Provenance v1 (an in-toto Statement) for the subjects, from the GitHub Actions environment')
    .requiredOption('--out <FILE>', 'where to write the provenance JSON');
  addSubjectOptions(cmd)
    .option('--json', 'print the result as JSON')
    .action(
      action('operate', async (o: SubjectFlags & { out: string }) => {
        if (!hasSubjects(o)) throw new UsageError('name the artifacts: --subject-path, --subject-digest/--subject-name, --subject-checksums or --subject-image');
        const subjects = await subjectsFrom(o);
        const statement = buildProvenanceStatement(subjects.map(toInTotoSubject), process.env);
        await writeFile(o.out, `${JSON.stringify(statement, null, 2)}\n`);
        report(!!o.json, { provenance: o.out, subjects: subjects.length, builder: statement.predicate?.runDetails.builder.id });
      }),
    );
}
