import type { Command } from 'commander';
import { type GateReport, type IssuerTrust, type VerificationResult, runGate, loadKey, loadServiceKeys, verifyTransparent } from '@scitt-actions/core';
import { type IdentityPolicy } from '@scitt-actions/core/identity';
import { type EvidenceKind, collectSubjects, sha256File } from '@scitt-actions/core/payload';
import { resolveArtifact } from '@scitt-actions/core/storage';
import { discoverBesideFiles, discoverIn, gateArtifacts, loadX509Trust } from '@scitt-actions/core/verify';
import { EXIT, UsageError, action } from '../run.ts';
import { printable, readInput } from '../io.ts';
import { type StorageFlags, addStorageOptions, storageOptions } from '../storage-options.ts';
import { type TrustStateFlags, addTrustStateOptions, enforceTrustState, wantsTrustState } from '../trust-state-options.ts';

export interface IdentityFlags {
  repo?: string;
  owner?: string;
  signerWorkflow?: string;
  signerRepo?: string;
  sourceRef?: string;
  certOidcIssuer?: string;
  hostedRunnersOnly?: boolean;
  denySelfHostedRunners?: boolean;
  did?: string;
  trustedRoot?: string;
  x509Roots?: string;
}

interface VerifyFlags extends IdentityFlags, StorageFlags, TrustStateFlags {
  tsKeys: string;
  require?: string;
  issuerKey?: string[];
  receiptsOnly?: boolean;
  allowUnreceipted?: boolean;
  artifact?: string[];
  evidence?: string;
  minReceipts: string;
  json?: boolean;
}

/** Identity policy flags named as `gh attestation verify` names them. */
export function addIdentityOptions(cmd: Command): Command {
  return cmd
    .option('--repo <OWNER/REPO>', 'keyless: the repository whose workflow must have signed')
    .option('--owner <OWNER>', 'keyless: the owner (organisation or user) whose workflows may sign')
    .option('--signer-workflow <WORKFLOW>', 'keyless: the signing workflow, OWNER/REPO/.github/workflows/FILE[@REF] (or a regex)')
    .option('--signer-repo <OWNER/REPO>', 'keyless: the repository of a reusable signing workflow')
    .option('--source-ref <REF>', 'keyless: the git ref the workflow ran on, e.g. refs/tags/v1.0.0')
    .option('--cert-oidc-issuer <URL>', 'keyless: the OIDC issuer of the certificate', 'https://token.actions.githubusercontent.com')
    .option('--hosted-runners-only', 'keyless: refuse statements signed on self-hosted runners')
    .option('--deny-self-hosted-runners', 'same as --hosted-runners-only')
    .option('--did <DID>', 'keyless: a did:x509 the issuer must match')
    .option('--trusted-root <FILE>', 'keyless: Sigstore trusted_root.json (offline); default: the public-good root via TUF')
    .option('--x509-roots <PEM>', 'keyless: PEM file of trusted root (and intermediate) certificates instead of Sigstore');
}

export function identityPolicy(f: IdentityFlags): IdentityPolicy | undefined {
  const signerWorkflow = f.signerWorkflow?.startsWith('/') && f.signerWorkflow.endsWith('/') ? new RegExp(f.signerWorkflow.slice(1, -1)) : f.signerWorkflow;
  const policy: IdentityPolicy = {
    ...(f.repo ? { repo: f.repo } : {}),
    ...(f.owner ? { owner: f.owner } : {}),
    ...(signerWorkflow ? { signerWorkflow } : {}),
    ...(f.signerRepo ? { signerRepo: f.signerRepo } : {}),
    ...(f.sourceRef ? { sourceRef: f.sourceRef } : {}),
    ...(f.certOidcIssuer ? { certOidcIssuer: f.certOidcIssuer } : {}),
    ...(f.hostedRunnersOnly || f.denySelfHostedRunners ? { denySelfHostedRunners: true } : {}),
    ...(f.did ? { did: f.did } : {}),
  };
  return policy.repo || policy.owner || policy.signerWorkflow || policy.signerRepo || policy.did ? policy : undefined;
}

export async function issuerTrust(f: IdentityFlags & { issuerKey?: string[] }): Promise<IssuerTrust> {
  const keys = await Promise.all((f.issuerKey ?? []).map(async (p) => loadKey(await readInput(p, 'issuer key'))));
  const policy = identityPolicy(f);
  return {
    ...(keys.length ? { keys } : {}),
    ...(policy ? { x509: { trust: await loadX509Trust({ ...(f.trustedRoot ? { trustedRoot: f.trustedRoot } : {}), ...(f.x509Roots ? { rootsPem: f.x509Roots } : {}) }), policy } } : {}),
  };
}

function printResult(r: VerificationResult, file: string): void {
  const out = (line: string) => process.stdout.write(`${printable(line)}\n`);
  process.stdout.write(`${r.ok ? 'VERIFIED' : 'NOT VERIFIED'}  ${printable(file)}\n`);
  for (const c of r.checks) out(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(9)} ${c.message}${c.code && !c.ok ? ` [${c.code}]` : ''}`);
  for (const rc of r.receipts?.receipts ?? []) {
    const when = rc.registrationTime ? new Date(rc.registrationTime * 1000).toISOString() : '?';
    out(`        receipt ${rc.index}: ${rc.status} vds=${rc.vds ?? '?'} service=${rc.serviceIss ?? rc.kid ?? '?'} tree=${rc.treeSize ?? '?'} leaf=${rc.leafIndex ?? '?'} registered=${when}`);
  }
  for (const w of r.warnings) out(`  warning: ${w}`);
}

export function registerVerify(program: Command): void {
  const cmd = program
    .command('verify')
    .description('verify a Transparent Statement offline: receipts from trusted services, the issuer, and the artifact bytes')
    .argument('[FILE.scitt]', 'the Transparent Statement; without it, the statements beside each --artifact are discovered and gated')
    .requiredOption('--ts-keys <URL|FILE>', 'trusted Transparency Service keys: its URL, or a COSE Key Set / JWK Set / PEM file')
    .option('--issuer-key <KEY.pub.pem...>', 'trusted issuer public key(s)')
    .option('--receipts-only', 'verify receipts and their binding only, not who issued the statement (RFC 9943 §7.1)')
    .option('--allow-unreceipted', 'keyless: accept a certificate checked at the current time when there is no trusted receipt (warns)')
    .option('--artifact <PATH...>', 'the artifact(s): statements must be about exactly these bytes; without FILE also release:TAG/ASSET or oci://REF')
    .option('--require <KINDS>', 'without FILE: evidence kinds every artifact must have, e.g. sbom,provenance')
    .option('--evidence <FILE>', 'the evidence of a hash-envelope statement, checked against the signed digest')
    .option('--min-receipts <N>', 'receipts from at least N distinct trusted services', '1')
    .option('--json', 'print the full result as JSON');
  addTrustStateOptions(addStorageOptions(addIdentityOptions(cmd))).action(
    action('verify', async (file: string | undefined, o: VerifyFlags) => {
      if (!file) return gate(o);
      if ((o.artifact?.length ?? 0) > 1) throw new UsageError('with a FILE, give one --artifact');
      const bytes = await readInput(file, 'Transparent Statement');
      const result = await verifyTransparent(bytes, {
        trustedServiceKeys: await loadServiceKeys(o.tsKeys),
        receiptPolicy: { minServices: Number(o.minReceipts) },
        issuer: await issuerTrust(o),
        ...(o.receiptsOnly ? { receiptsOnly: true } : {}),
        ...(o.allowUnreceipted ? { allowUnreceipted: true } : {}),
        ...(o.artifact?.[0] ? { artifactSha256: (await sha256File(o.artifact[0])).sha256 } : {}),
        ...(o.evidence ? { evidence: { path: o.evidence } } : {}),
      });
      // With a trust state, a verified receipt counts only if its tree is consistent with the remembered one.
      if (result.ok && wantsTrustState(o)) await enforceTrustState(bytes, await loadServiceKeys(o.tsKeys), o);
      if (o.json) process.stdout.write(`${JSON.stringify(result, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v), 2)}\n`);
      else printResult(result, file);
      if (!result.ok) {
        const usage = result.checks.find((c) => !c.ok && (c.code === 'ERR_USAGE' || c.code === 'ERR_IO'));
        process.exitCode = usage ? EXIT.usage : EXIT.failed;
      }
    }),
  );
}

/** Without a FILE: discover each artifact's statements (beside the file, in a release, as OCI referrers) and apply the release gate. */
async function gate(o: VerifyFlags): Promise<void> {
  if (wantsTrustState(o)) throw new UsageError('--trust-state and --min-witnesses apply to one FILE for now: verify each Transparent Statement with them');
  if (!o.artifact?.length) throw new UsageError('name what to verify: a FILE.scitt, or the artifacts with --artifact PATH|release:TAG/ASSET|oci://REF');
  const require = (o.require ?? '').split(',').map((k) => k.trim()).filter(Boolean) as EvidenceKind[];
  const policy = { trustedServiceKeys: await loadServiceKeys(o.tsKeys), receiptPolicy: { minServices: Number(o.minReceipts) }, issuer: await issuerTrust(o), require, ...(o.allowUnreceipted ? { allowUnreceipted: true } : {}) };
  const files = o.artifact.filter((a) => !isStoreLocation(a));
  const reports: GateReport[] = [];
  if (files.length) {
    const subjects = await collectSubjects({ paths: files });
    reports.push(await runGate(gateArtifacts(subjects), discoverBesideFiles(subjects), policy));
  }
  for (const location of o.artifact.filter(isStoreLocation)) {
    const { store, artifact } = await resolveArtifact(location, storageOptions(o));
    reports.push(await runGate([artifact], discoverIn(store), policy));
  }
  const report: GateReport = { ok: reports.every((r) => r.ok), artifacts: reports.flatMap((r) => r.artifacts) };
  if (o.json) process.stdout.write(`${JSON.stringify(report, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v), 2)}\n`);
  else printGate(report);
  if (!report.ok) process.exitCode = EXIT.failed;
}

const isStoreLocation = (a: string) => a.startsWith('oci://') || a.startsWith('release:');

function printGate(report: GateReport): void {
  const out = (line: string) => process.stdout.write(`${printable(line)}\n`);
  process.stdout.write(`${report.ok ? 'RELEASE GATE PASSED' : 'RELEASE GATE REFUSED'}\n`);
  for (const a of report.artifacts) {
    out(`  ${a.ok ? 'ok  ' : 'FAIL'}  ${a.artifact.name} sha256:${a.artifact.sha256}  evidence: ${a.evidence.join(', ') || 'none'}`);
    for (const s of a.statements) out(`        ${s.result.ok ? 'verified' : 'refused '}  ${s.kind ?? '?'}  ${s.location}`);
    for (const p of a.problems) out(`        problem: ${p}`);
  }
}
