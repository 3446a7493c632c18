import * as core from '@actions/core';
import { type IssuerSigner, issueEvidenceStatements, keyIssuerSigner, keylessSigner, loadKey } from '@scitt-actions/core';
import { bundleSignerPolicy } from '@scitt-actions/core/identity';
import { collectSubjects } from '@scitt-actions/core/payload';
import { type EvidenceSource } from '@scitt-actions/core/statement';
import { loadX509Trust, sigstoreTrustedRootSource } from '@scitt-actions/core/verify';
import { InputError, boolInput, info, listInput, optionalInput, runAction, secretInput, shortDigest, writeSummary } from '../../_shared/src/kit.ts';

async function signer(): Promise<IssuerSigner> {
  const mode = core.getInput('signing') || 'keyless';
  if (mode === 'key') {
    const key = secretInput('signing-key');
    if (!key) throw new InputError('signing: key needs the private key in signing-key (from a secret)');
    return keyIssuerSigner(loadKey(key));
  }
  if (mode !== 'keyless') throw new InputError(`signing must be keyless or key, got "${mode}"`);
  if (!process.env.ACTIONS_ID_TOKEN_REQUEST_URL) {
    throw new InputError('keyless signing needs the workflow OIDC token: add "permissions: id-token: write" to the job (or use signing: key)');
  }
  const roots = optionalInput('x509-roots');
  const trustedRoot = optionalInput('trusted-root'); // path or content; offline, no TUF
  return keylessSigner({ trust: await loadX509Trust({ ...(roots ? { rootsPem: roots } : {}), ...(trustedRoot ? { trustedRoot } : {}) }), fulcioUrl: core.getInput('fulcio-url') || undefined });
}

void runAction('issue-statement', async () => {
  const digest = optionalInput('subject-digest');
  const name = optionalInput('subject-name');
  if (!!digest !== !!name) throw new InputError('subject-digest and subject-name go together');
  const subjects = await collectSubjects({
    paths: listInput('subject-path'),
    ...(digest ? { digests: [{ name: name!, digest }] } : {}),
    checksumFiles: listInput('subject-checksums'),
    images: listInput('subject-image'),
  });
  const evidence: EvidenceSource[] = listInput('evidence-path').map((path) => ({ path }));
  if (boolInput('generate-provenance', false)) evidence.push({ provenance: { env: process.env } });
  if (evidence.length === 0) throw new InputError('nothing to state: set evidence-path and/or generate-provenance: true');
  const he = (core.getInput('hash-envelope') || 'auto').toLowerCase();
  if (!['auto', 'true', 'false'].includes(he)) throw new InputError(`hash-envelope must be auto, true or false, got "${he}"`);
  // read before signing: a bad identity input fails before a certificate is asked for
  const sigstoreIdentity = bundleSignerPolicy(optionalInput);
  const issued = await issueEvidenceStatements({
    subjects,
    evidence,
    signer: await signer(),
    // a Sigstore bundle in evidence-path is verified (against trusted-root, else the public-good root) before use
    sigstoreTrustedRoot: sigstoreTrustedRootSource(optionalInput('trusted-root')),
    ...(sigstoreIdentity ? { sigstoreIdentity } : {}),
    ...(optionalInput('issuer') ? { iss: optionalInput('issuer')! } : {}),
    outputDir: core.getInput('output-dir') || 'scitt',
    ...(he === 'auto' ? {} : { placement: he === 'true' ? ('hash-envelope' as const) : ('embedded' as const) }),
    ...(optionalInput('publish-base') ? { publishBase: optionalInput('publish-base')! } : {}),
  });
  core.setOutput('statement-paths', issued.map((s) => s.statementPath).join('\n'));
  core.setOutput('scai-references', JSON.stringify(issued.flatMap((s) => [s.scai.statement, s.scai.evidence])));
  core.setOutput('subject-digests', JSON.stringify(subjects.map((s) => ({ name: s.name, digest: `sha256:${s.digest.sha256}` }))));
  for (const s of issued) info(`${s.statementPath}: ${s.kind} (${s.format}, ${s.placement}) about ${s.subject.name}`);
  await writeSummary(
    'SCITT statements issued',
    issued.map((s) => ({ subject: s.subject.name, digest: shortDigest(s.subject.digest.sha256), evidence: `${s.kind} (${s.placement})`, issuer: s.iss, service: '', entry: '', registered: '', verdict: 'signed' })),
  );
});
