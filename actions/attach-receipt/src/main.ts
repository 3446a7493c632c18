import * as core from '@actions/core';
import { dirname } from 'node:path';
import { collectSubjects, resolveSubjectPaths, isStatementAbout } from '@scitt-actions/core/payload';
import { FileStatementStore, type LocalStatement, attachStatements, type StoredObject, artifactRef, readLocalStatement } from '@scitt-actions/core/storage';
import { InputError, info, listInput, optionalInput, runAction, shortDigest, writeSummary, type SummaryRow } from '../../_shared/src/kit.ts';
import { storageOptions, targetSpec } from '../../_shared/src/stores.ts';

void runAction('attach-receipt', async () => {
  // subject-image alone means: store the statements as referrers of that image (actions/attest's push-to-registry)
  const target = core.getInput('target') || (optionalInput('subject-image') ? 'oci' : 'files');
  const statements: LocalStatement[] = await Promise.all((await resolveSubjectPaths(listInput('statement-path', { required: true }))).map(readLocalStatement));
  if (target !== 'files') {
    // a release or an image: each statement goes to the artifact its subject pins (an asset of that name, or the image)
    const stored = await attachStatements(targetSpec(target), statements.flatMap((s) => s.items), await storageOptions());
    for (const o of stored) info(`${o.status}: ${o.location}`);
    core.setOutput('locations', JSON.stringify(stored.map((o) => ({ name: o.name, digest: o.digest, locationURI: o.location, objectType: o.mediaType }))));
    await writeSummary(
      'SCITT statements attached',
      stored.map((o) => ({ subject: o.name, digest: shortDigest(o.digest.sha256), evidence: o.kind === 'evidence' ? o.mediaType : '', issuer: '', service: '', entry: '', registered: '', verdict: `${o.kind} ${o.status} (${target})` })),
    );
    return;
  }
  const subjects = await collectSubjects({ paths: listInput('subject-path') });
  if (subjects.length === 0) throw new InputError('subject-path names no artifact: target files stores the statements beside the artifacts');
  const unmatched = statements.filter((s) => !subjects.some((a) => isStatementAbout(s.sub, a.digest.sha256)));
  if (unmatched.length) {
    throw new InputError(`${unmatched.map((s) => s.path).join(', ')}: about ${unmatched[0]!.sub}, which is none of the subject-path artifacts (was the artifact rebuilt after signing?)`);
  }
  const stored: StoredObject[] = [];
  const rows: SummaryRow[] = [];
  for (const a of subjects) {
    const mine = statements.filter((s) => isStatementAbout(s.sub, a.digest.sha256));
    if (mine.length === 0) continue;
    const store = new FileStatementStore({ directory: dirname(a.path!) });
    const objects = await store.attach(artifactRef(a.name, a.digest.sha256), mine.flatMap((s) => s.items));
    stored.push(...objects);
    for (const o of objects) {
      info(`${o.status}: ${o.location}`);
      rows.push({ subject: a.name, digest: shortDigest(a.digest.sha256), evidence: o.kind === 'evidence' ? o.mediaType : '', issuer: '', service: '', entry: '', registered: '', verdict: `${o.kind} ${o.status}` });
    }
  }
  core.setOutput('locations', JSON.stringify(stored.map((o) => ({ name: o.name, digest: o.digest, locationURI: o.location, objectType: o.mediaType }))));
  await writeSummary('SCITT statements attached', rows);
});
