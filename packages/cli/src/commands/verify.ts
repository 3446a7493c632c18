import { basename } from 'node:path';
import type { Command } from 'commander';
import { type GateReport, type GateTargets, type IdentityInputs, type VerificationResult, type VerifyInputs, boundYoungGeneration, reportJson, runGate, runGateOn, verifyPolicyFrom, verifyTransparent } from '@scitt-actions/core/verify';
import { EXIT, UsageError, action } from '../run.ts';
import { printJson, printable, readInput } from '../io.ts';
import { sha256WithProgress } from '../progress.ts';
import { type StorageFlags, addStorageOptions, storageOptions } from '../storage-options.ts';
import { addCiIdentityOptions, ciIdentityInputsOf } from '../identity-options.ts';
import { type TrustStateFlags, addTrustStateOptions, checkTrustStateFlags, enforceTrustStateOnTrees, wantsTrustState } from '../trust-state-options.ts';

interface VerifyFlags extends StorageFlags, IdentityInputs, TrustStateFlags {
  tsKeys: string[];
  require?: string;
  issuerKey?: string[];
  receiptsOnly?: boolean;
  allowUnreceipted?: boolean;
  artifact?: string[];
  evidence?: string;
  minReceipts: string;
  json?: boolean;
  checksums?: string[];
  denySelfHostedRunners?: boolean;
}

/** Identity policy flags named as `gh attestation verify` names them. */
function addIdentityOptions(cmd: Command): Command {
  return addCiIdentityOptions(cmd)
    .option('--repo <OWNER/REPO>', 'keyless: the repository whose workflow must have signed')
    .option('--owner <OWNER>', 'keyless: the owner (organisation or user) whose workflows may sign')
    .option('--signer-workflow <WORKFLOW>', 'keyless: the signing workflow, OWNER/REPO/.github/workflows/FILE[@REF] (or a regex)')
    .option('--signer-repo <OWNER/REPO>', 'keyless: the repository of a reusable signing workflow')
    .option('--source-ref <REF>', 'keyless: the git ref the workflow ran on, e.g. refs/tags/v1.0.0')
    .option('--cert-oidc-issuer <URL>', 'keyless: same as --certificate-oidc-issuer (default: the GitHub Actions issuer of --hostname)')
    .option('--hosted-runners-only', 'keyless: refuse statements signed on self-hosted runners')
    .option('--deny-self-hosted-runners', 'same as --hosted-runners-only')
    .option('--did <DID>', 'keyless: a did:x509 the issuer must match')
    .option('--trusted-root <FILE>', 'keyless: Sigstore trusted_root.json (offline); default: the public-good root via TUF')
    .option('--x509-roots <PEM>', 'keyless: PEM file of trusted root (and intermediate) certificates instead of Sigstore, and PUBLIC KEY blocks of its CT logs')
    .option('--insecure-ignore-sct', 'keyless: accept certificates without an SCT — only for a private Fulcio that has no CT log');
}

/** The flags as core's verification inputs (verify/inputs.ts reads and checks them, as it does the action's). */
function inputsOf(o: VerifyFlags): VerifyInputs {
  const identity: IdentityInputs = {
    ...(o.repo !== undefined ? { repo: o.repo } : {}),
    ...(o.owner !== undefined ? { owner: o.owner } : {}),
    ...(o.signerWorkflow !== undefined ? { signerWorkflow: o.signerWorkflow } : {}),
    ...(o.signerRepo !== undefined ? { signerRepo: o.signerRepo } : {}),
    ...(o.sourceRef !== undefined ? { sourceRef: o.sourceRef } : {}),
    ...(o.certOidcIssuer !== undefined ? { certOidcIssuer: o.certOidcIssuer } : {}),
    ...(o.hostedRunnersOnly || o.denySelfHostedRunners ? { hostedRunnersOnly: true } : {}),
    ...(o.did !== undefined ? { did: o.did } : {}),
    ...(o.trustedRoot !== undefined ? { trustedRoot: o.trustedRoot } : {}),
    ...(o.x509Roots !== undefined ? { x509Roots: o.x509Roots } : {}),
    ...(o.insecureIgnoreSct ? { insecureIgnoreSct: true } : {}),
    ...ciIdentityInputsOf(o),
  };
  return {
    ...identity,
    tsKeys: o.tsKeys,
    issuerKeys: o.issuerKey ?? [],
    minReceipts: o.minReceipts,
    ...(o.require !== undefined ? { require: o.require } : {}),
    ...(o.receiptsOnly ? { receiptsOnly: true } : {}),
    ...(o.allowUnreceipted ? { allowUnreceipted: true } : {}),
  };
}

const collect = (v: string, acc: string[]) => [...acc, v];

function printResult(r: VerificationResult, file: string, artifactGiven: boolean): void {
  const out = (line: string) => process.stdout.write(`${printable(line)}\n`);
  process.stdout.write(`${r.ok ? 'VERIFIED' : 'NOT VERIFIED'}  ${printable(file)}\n`);
  for (const c of r.checks) out(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(9)} ${c.message}${c.code && !c.ok ? ` [${c.code}]` : ''}`);
  for (const rc of r.receipts?.receipts ?? []) {
    const when = rc.registrationTime ? new Date(rc.registrationTime * 1000).toISOString() : '?';
    out(`        receipt ${rc.index}: ${rc.status} vds=${rc.vds ?? '?'} service=${rc.serviceIss ?? rc.kid ?? '?'} tree=${rc.treeSize ?? '?'} leaf=${rc.leafIndex ?? '?'} registered=${when}`);
  }
  for (const w of r.warnings) out(`  warning: ${w}`);
  if (!artifactGiven) out(`  not checked: ${NO_ARTIFACT}`);
}

export function registerVerify(program: Command): void {
  const cmd = program
    .command('verify')
    .description('verify a Transparent Statement offline: receipts from trusted services, the issuer, and the artifact bytes')
    .argument('[FILE.scitt]', 'the Transparent Statement; without it, the statements beside each --artifact are discovered and gated')
    .option('--ts-keys <URL|FILE>', 'a trusted Transparency Service: its URL, a key file (all its keys are one service), or a services file {"services": {NAME: KEYS}}; repeat for several', collect, [])
    .option('--issuer-key <KEY.pub.pem...>', 'trusted issuer public key(s)')
    .option('--receipts-only', 'with FILE: verify receipts and their binding only, not who issued the statement (RFC 9943 §7.1)')
    .option('--allow-unreceipted', 'keyless: accept a certificate checked at the current time when there is no trusted receipt (warns)')
    .option('--artifact <PATH...>', 'the artifact(s): statements must be about exactly these bytes; without FILE also release:TAG/ASSET or oci://REF')
    .option('--checksums <SHA256SUMS...>', 'without FILE: checksums manifest(s) shipped with the --artifact files; a verified manifest covers every artifact it lists')
    .option('--require <KINDS>', 'evidence kinds every artifact must have, about it, e.g. sbom,provenance (with FILE: needs --artifact)')
    .option('--evidence <FILE>', 'with FILE: the evidence of a hash-envelope statement, checked against the signed digest')
    .option('--min-receipts <N>', 'receipts from at least N independent trusted services (services, not keys)', '1')
    .option('--json', 'print the full result as JSON');
  addTrustStateOptions(addStorageOptions(addIdentityOptions(cmd))).action(
    action('verify', async (file: string | undefined, o: VerifyFlags) => {
      if (!o.tsKeys.length) throw new UsageError('name the trusted Transparency Service(s): --ts-keys URL|FILE');
      await checkTrustStateFlags(o); // before anything is verified
      if (!file) return gate(o);
      if ((o.artifact?.length ?? 0) > 1) throw new UsageError('with a FILE, give one --artifact');
      if (o.artifact?.some(isStoreLocation)) throw new UsageError('with a FILE, --artifact is the artifact file itself; release:/oci:// locations are for the gate (drop FILE)');
      if (o.githubRepo !== undefined || o.plainHttp) throw new UsageError('--github-repo and --plain-http reach stores, which a FILE does not use: drop them');
      if (o.require !== undefined && !o.artifact?.length) throw new UsageError('--require checks evidence about an artifact: add --artifact');
      const policy = await verifyPolicyFrom(inputsOf(o));
      const bytes = await readInput(file, 'Transparent Statement');
      if (policy.require?.length) {
        const evidence = o.evidence ? await readInput(o.evidence, 'evidence') : undefined;
        // the gate over this one statement: the same verdict, the same reasons, as for discovered ones
        const path = o.artifact![0]!;
        const artifact = { name: basename(path), sha256: await sha256WithProgress(path, !!o.json), path };
        return finish(o, await runGate([artifact], async () => ({ statements: [{ bytes, location: file, ...(evidence ? { evidence } : {}) }] }), policy));
      }
      const result = await verifyTransparent(bytes, {
        ...policy,
        ...(o.artifact?.[0] ? { artifactSha256: await sha256WithProgress(o.artifact[0], !!o.json) } : {}),
        ...(o.evidence ? { evidence: { path: o.evidence } } : {}),
      });
      // With a trust state, a verified receipt counts only if its tree is consistent with the remembered one.
      if (result.ok && wantsTrustState(o)) await enforceTrustStateOnTrees(result.receipts?.receipts ?? [], o);
      if (o.json) printJson({ ...(JSON.parse(reportJson(result)) as object), ...scope(result, !!o.artifact?.[0]) }, verdict(result));
      else printResult(result, file, !!o.artifact?.[0]);
      if (!result.ok) {
        const usage = result.checks.find((c) => !c.ok && (c.code === 'ERR_USAGE' || c.code === 'ERR_IO'));
        process.exitCode = usage ? EXIT.usage : EXIT.failed;
      }
    }),
  );
}

/** Without a FILE: discover each artifact's statements (beside the file, in a release, as OCI referrers) and apply the release gate. */
async function gate(o: VerifyFlags): Promise<void> {
  if (!o.artifact?.length) throw new UsageError('name what to verify: a FILE.scitt, or the artifacts with --artifact PATH|release:TAG/ASSET|oci://REF');
  if (o.evidence !== undefined) throw new UsageError('--evidence is for one FILE; the gate fetches each statement\'s evidence with it: drop --evidence');
  if (o.receiptsOnly) throw new UsageError('the release gate verifies issuers: --receipts-only applies only to one FILE');
  boundYoungGeneration(); // the gate's memory bound (SECURITY.md)
  const policy = await verifyPolicyFrom(inputsOf(o));
  const { createProgressRenderer } = await import('@scitt-actions/core/payload');
  const progress = createProgressRenderer({ json: Boolean(o.json), label: 'hashing the artifacts' });
  const targets: GateTargets = {
    paths: o.artifact.filter((a) => !isStoreLocation(a)),
    locations: o.artifact.filter(isStoreLocation),
    ...(o.checksums?.length ? { checksums: o.checksums } : {}),
    onProgress: (p) => progress.update(p),
  };
  let report: GateReport;
  try {
    report = await runGateOn(targets, policy, storageOptions(o));
  } finally {
    progress.done();
  }
  // With a trust state, the receipts of the verified statements must be consistent with the remembered trees.
  if (report.ok && wantsTrustState(o)) await enforceTrustStateOnTrees(report.artifacts.flatMap((a) => a.statements.filter((s) => s.result.ok).flatMap((s) => s.result.receipts?.receipts ?? [])), o);
  finish(o, report);
}

function finish(o: VerifyFlags, report: GateReport): void {
  if (o.json) printJson(JSON.parse(reportJson(report)), verdict(report));
  else printGate(report);
  if (!report.ok) process.exitCode = EXIT.failed;
}

const isStoreLocation = (a: string) => a.startsWith('oci://') || a.startsWith('release:');

function printGate(report: GateReport): void {
  // lines gathered and written in a few large writes: a release of thousands of artifacts is thousands of lines
  const lines: string[] = [];
  const out = (line: string) => {
    lines.push(`${printable(line)}\n`);
    if (lines.length >= 512) process.stdout.write(lines.splice(0).join(''));
  };
  process.stdout.write(`${report.ok ? 'RELEASE GATE PASSED' : 'RELEASE GATE REFUSED'}\n`);
  for (const a of report.artifacts) {
    out(`  ${a.ok ? 'ok  ' : 'FAIL'}  ${a.artifact.name} sha256:${a.artifact.sha256}  evidence: ${a.evidence.join(', ') || 'none'}`);
    if (a.coveredBy) out(`        listed in the verified checksums manifest ${a.coveredBy}`);
    for (const s of a.statements) out(`        ${s.result.ok ? 'verified' : 'refused '}  ${s.kind ?? '?'}  ${s.location}${s.evidenceProblem ? `  (does not count: ${s.evidenceProblem})` : ''}`);
    for (const p of a.problems) out(`        problem: ${p}`);
  }
  process.stdout.write(lines.join(''));
}

/** The envelope's ok and error for a verdict: the first failed check's code, or the gate's refusal. */
function verdict(r: { ok: boolean; checks?: { ok: boolean; code?: string; message: string }[] }): { ok: boolean; error?: { code: string; message: string } } {
  if (r.ok) return { ok: true };
  const failed = r.checks?.find((c) => !c.ok);
  return { ok: false, error: { code: failed?.code ?? 'ERR_VERIFICATION_FAILED', message: failed?.message ?? 'the release gate refused: see result' } };
}

const NO_ARTIFACT = "the artifact's bytes (no --artifact): this verified the statement, not a file; pass --artifact PATH to check the file you downloaded";

/** What a one-file verification covered: the checks that ran, and what it did not look at. */
function scope(r: VerificationResult, artifactGiven: boolean): { checksRun: string[]; notChecked: string[] } {
  return { checksRun: r.checks.map((c) => c.name), notChecked: artifactGiven ? [] : [NO_ARTIFACT] };
}
