import * as core from '@actions/core';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type GateReport, type IssuerTrust, loadKey, loadServiceKeys, runGate } from '@scitt-actions/core';
import { type IdentityPolicy } from '@scitt-actions/core/identity';
import { type EvidenceKind, collectSubjects } from '@scitt-actions/core/payload';
import { openStore, resolveArtifact } from '@scitt-actions/core/storage';
import { discoverBesideFiles, discoverIn, gateArtifacts, loadX509Trust } from '@scitt-actions/core/verify';
import { InputError, annotate, boolInput, listInput, optionalInput, runAction, shortDigest, writeSummary, type SummaryRow } from '../../_shared/src/kit.ts';
import { storageOptions } from '../../_shared/src/stores.ts';

const KINDS: readonly EvidenceKind[] = ['sbom', 'provenance', 'in-toto', 'scan'];

function identityPolicy(): IdentityPolicy | undefined {
  const p: IdentityPolicy = {
    ...(optionalInput('repo') ? { repo: optionalInput('repo')! } : {}),
    ...(optionalInput('owner') ? { owner: optionalInput('owner')! } : {}),
    ...(optionalInput('signer-workflow') ? { signerWorkflow: optionalInput('signer-workflow')! } : {}),
    ...(optionalInput('source-ref') ? { sourceRef: optionalInput('source-ref')! } : {}),
    ...(optionalInput('cert-oidc-issuer') ? { certOidcIssuer: optionalInput('cert-oidc-issuer')! } : {}),
    ...(boolInput('hosted-runners-only', false) ? { denySelfHostedRunners: true } : {}),
  };
  return p.repo || p.owner || p.signerWorkflow ? p : undefined;
}

async function issuerTrust(): Promise<IssuerTrust> {
  const key = optionalInput('issuer-key');
  const policy = identityPolicy();
  if (!key && !policy) throw new InputError('say whom to trust: issuer-key for key-signed statements, or repo / owner / signer-workflow for keyless ones');
  const roots = optionalInput('x509-roots');
  const trustedRoot = optionalInput('trusted-root');
  return {
    ...(key ? { keys: [loadKey(key)] } : {}),
    ...(policy ? { x509: { trust: await loadX509Trust({ ...(roots ? { rootsPem: roots } : {}), ...(trustedRoot ? { trustedRoot } : {}) }), policy } } : {}),
  };
}

function rows(report: GateReport): SummaryRow[] {
  return report.artifacts.flatMap((a) => {
    const base = { subject: a.artifact.name, digest: shortDigest(a.artifact.sha256) };
    if (a.statements.length === 0) return [{ ...base, evidence: '', issuer: '', service: '', entry: '', registered: '', verdict: '❌ no statement' }];
    return a.statements.map((s) => {
      const r = s.result.receipts?.receipts.find((x) => x.ok);
      const failed = s.result.checks.find((c) => !c.ok);
      return {
        ...base,
        evidence: s.kind ?? '',
        issuer: s.result.identity?.sanUri ?? s.result.statement?.iss ?? '',
        service: r?.serviceIss ?? '',
        entry: r ? `${r.treeSize}/${r.leafIndex}` : '',
        registered: s.result.registrationTime ? new Date(s.result.registrationTime * 1000).toISOString() : '',
        verdict: s.result.ok ? '✅ verified' : `❌ ${failed?.name}: ${failed?.code ?? ''}`,
      };
    });
  });
}

void runAction('verify-gate', async () => {
  const mode = core.getInput('mode') || 'enforce';
  if (mode !== 'enforce' && mode !== 'audit') throw new InputError(`mode must be enforce or audit, got "${mode}"`);
  const require = listInput('require') as EvidenceKind[];
  const unknown = require.filter((k) => !KINDS.includes(k));
  if (unknown.length) throw new InputError(`require names unknown evidence kinds ${unknown.join(', ')}; use ${KINDS.join(', ')}`);
  const minReceipts = Number(core.getInput('min-receipts') || '1');
  if (!Number.isInteger(minReceipts) || minReceipts < 1) throw new InputError(`min-receipts must be a whole number ≥ 1, got "${core.getInput('min-receipts')}"`);
  const digest = optionalInput('subject-digest');
  if (!!digest !== !!optionalInput('subject-name')) throw new InputError('subject-digest and subject-name go together');
  const image = optionalInput('image');
  const releaseTag = optionalInput('release-tag');
  const paths = listInput('subject-path');
  if (paths.length === 0 && !digest && !image) throw new InputError('name what is about to be released: subject-path, subject-digest with subject-name, or image');
  const subjects = paths.length || digest ? await collectSubjects({ paths, ...(digest ? { digests: [{ name: optionalInput('subject-name')!, digest }] } : {}) }) : [];
  if (digest && !releaseTag) throw new InputError('subject-digest names no file to find statements beside: add release-tag (statements among the release assets)');
  // where the statements are: beside the files (default), among a release's assets, or as OCI referrers of the image
  let artifacts = gateArtifacts(subjects);
  let discover = discoverBesideFiles(subjects);
  if (releaseTag) {
    discover = discoverIn((await openStore(`release:${releaseTag}`, storageOptions())).store);
  } else if (image) {
    const opened = await resolveArtifact(image.startsWith('oci://') ? image : `oci://${image}`, storageOptions());
    artifacts = [{ name: opened.artifact.name, sha256: opened.artifact.sha256 }];
    discover = discoverIn(opened.store);
  }
  const report = await runGate(
    artifacts,
    discover,
    {
      trustedServiceKeys: await loadServiceKeys(core.getInput('transparency-service-keys', { required: true })),
      receiptPolicy: { minServices: minReceipts },
      issuer: await issuerTrust(),
      require,
    },
  );

  const reportPath = optionalInput('report-path') ?? join(process.env.RUNNER_TEMP ?? '.', 'scitt-gate-report.json');
  await writeFile(reportPath, JSON.stringify(report, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v), 2));
  core.setOutput('verified', String(report.ok));
  core.setOutput('report-path', reportPath);
  for (const a of report.artifacts) {
    for (const p of a.problems) annotate(mode === 'enforce' ? 'error' : 'warning', p, `release gate: ${a.artifact.name}`);
  }
  await writeSummary(`SCITT release gate: ${report.ok ? 'passed' : mode === 'audit' ? 'would refuse (audit mode)' : 'refused'}`, rows(report));
  if (!report.ok && mode === 'enforce') core.setFailed(`the release gate refused ${report.artifacts.filter((a) => !a.ok).length} of ${report.artifacts.length} artifact(s); see the annotations and the job summary`);
});
