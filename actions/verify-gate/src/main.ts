import * as core from '@actions/core';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type GateReport } from '@scitt-actions/core';
import { ciIdentityInputsFrom } from '@scitt-actions/core/identity';
import { boundYoungGeneration, reportJson, runGateOn, verifyPolicyFrom } from '@scitt-actions/core/verify';
import { checkTreesWithTrustPolicy, parseVerifierKey, verifiedTreesOf } from '@scitt-actions/core/checkpoint';
import { InputError, annotate, boolInput, listInput, optionalInput, runAction, shortDigest, writeSummary, type SummaryRow } from '../../_shared/src/kit.ts';
import { storageOptions } from '../../_shared/src/stores.ts';

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
        verdict: !s.result.ok ? `❌ ${failed?.name}: ${failed?.code ?? ''}` : s.evidenceProblem ? '⚠️ verified, evidence not about it' : '✅ verified',
      };
    });
  });
}

/** min-witnesses and its keys (k 0: no quorum); the keys are required with it and refused without it. */
function witnessQuorum(): { minWitnesses: number; logKeys: string[]; witnessKeys: string[] } {
  const v = optionalInput('min-witnesses');
  const minWitnesses = v === undefined ? 0 : /^[0-9]{1,3}$/.test(v) ? Number(v) : NaN;
  if (Number.isNaN(minWitnesses)) throw new InputError(`min-witnesses must be a whole number, got "${v}"`);
  const logKeys = listInput('log-key');
  const witnessKeys = listInput('witness-keys');
  if (minWitnesses > 0 && (!logKeys.length || !witnessKeys.length)) throw new InputError("min-witnesses needs the service's log-key and the witnesses' witness-keys");
  if (minWitnesses === 0 && (logKeys.length || witnessKeys.length)) throw new InputError('log-key and witness-keys apply with min-witnesses: set it, or drop them');
  if (minWitnesses > witnessKeys.length) throw new InputError(`min-witnesses ${minWitnesses} cannot be met by the ${witnessKeys.length} witness-keys given`);
  for (const [input, keys] of [['log-key', logKeys], ['witness-keys', witnessKeys]] as const) {
    for (const key of keys) {
      try {
        parseVerifierKey(key);
      } catch (e) {
        throw new InputError(`${input}: ${(e as Error).message}`);
      }
    }
  }
  return { minWitnesses, logKeys, witnessKeys };
}

void runAction('verify-gate', async () => {
  boundYoungGeneration(); // the gate's memory bound (SECURITY.md)
  const mode = core.getInput('mode') || 'enforce';
  if (mode !== 'enforce' && mode !== 'audit') throw new InputError(`mode must be enforce or audit, got "${mode}"`);
  const quorum = witnessQuorum();
  const digest = optionalInput('subject-digest');
  const name = optionalInput('subject-name');
  if (!!digest !== !!name) throw new InputError('subject-digest and subject-name go together');
  const image = optionalInput('image');
  const releaseTag = optionalInput('release-tag');
  if (optionalInput('github-token') && !releaseTag) throw new InputError('github-token reads a release: it applies only with release-tag');
  // core reads and checks the inputs as it does the CLI's flags: nothing that cannot apply is ignored
  const policy = await verifyPolicyFrom({
    tsKeys: listInput('transparency-service-keys', { required: true }),
    issuerKeys: optionalInput('issuer-key') ? [optionalInput('issuer-key')!] : [],
    minReceipts: core.getInput('min-receipts') || '1',
    require: listInput('require'),
    ...(optionalInput('repo') ? { repo: optionalInput('repo')! } : {}),
    ...(optionalInput('owner') ? { owner: optionalInput('owner')! } : {}),
    ...(optionalInput('signer-workflow') ? { signerWorkflow: optionalInput('signer-workflow')! } : {}),
    ...(optionalInput('source-ref') ? { sourceRef: optionalInput('source-ref')! } : {}),
    ...(optionalInput('cert-oidc-issuer') ? { certOidcIssuer: optionalInput('cert-oidc-issuer')! } : {}),
    ...(boolInput('hosted-runners-only', false) ? { hostedRunnersOnly: true } : {}),
    ...(optionalInput('trusted-root') ? { trustedRoot: optionalInput('trusted-root')! } : {}),
    ...(optionalInput('x509-roots') ? { x509Roots: optionalInput('x509-roots')! } : {}),
    // explicit only: a private Fulcio without a CT log (certificates without an SCT)
    ...(boolInput('insecure-ignore-sct', false) ? { insecureIgnoreSct: true } : {}),
    // certificate-identity(-regexp), certificate-oidc-issuer(-regexp), hostname, Fulcio extension predicates
    ...ciIdentityInputsFrom(optionalInput),
  });
  // every artifact named is gated: the files, the digest (among the release's assets) and the image (its referrers)
  const report = await runGateOn(
    {
      paths: listInput('subject-path'),
      checksums: listInput('checksums'),
      ...(digest ? { digests: [{ name: name!, digest }] } : {}),
      ...(releaseTag ? { releaseTag } : {}),
      ...(image ? { locations: [image.startsWith('oci://') ? image : `oci://${image}`] } : {}),
    },
    policy,
    await storageOptions(),
  );

  const reportPath = optionalInput('report-path') ?? join(process.env.RUNNER_TEMP ?? '.', 'scitt-gate-report.json');
  await writeFile(reportPath, reportJson(report));
  // With a trust state (a file the workflow keeps: cached or committed), the receipts must be consistent
  // with the trees it remembers; with min-witnesses, with a checkpoint K named witnesses cosigned.
  // A fork or a missing quorum fails the step whatever the mode.
  const trustState = optionalInput('trust-state');
  if ((trustState || quorum.minWitnesses) && report.ok) {
    await checkTreesWithTrustPolicy(verifiedTreesOf(report), { statePath: trustState, logUrl: optionalInput('log-url'), tiles: optionalInput('tiles'), ...(quorum.minWitnesses ? quorum : {}) });
  }
  core.setOutput('verified', String(report.ok));
  core.setOutput('report-path', reportPath);
  for (const a of report.artifacts) {
    for (const p of a.problems) annotate(mode === 'enforce' ? 'error' : 'warning', p, `release gate: ${a.artifact.name}`);
  }
  await writeSummary(`SCITT release gate: ${report.ok ? 'passed' : mode === 'audit' ? 'would refuse (audit mode)' : 'refused'}`, rows(report));
  if (!report.ok && mode === 'enforce') core.setFailed(`the release gate refused ${report.artifacts.filter((a) => !a.ok).length} of ${report.artifacts.length} artifact(s); see the annotations and the job summary`);
});
