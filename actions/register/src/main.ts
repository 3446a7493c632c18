import * as core from '@actions/core';
import { writeFile, readFile } from 'node:fs/promises';
import { ScrapiClient, attachReceipts } from '@scitt-actions/core';
import { resolveSubjectPaths, subjectSha256 } from '@scitt-actions/core/payload';
import { parseSignedStatement } from '@scitt-actions/core/statement';
import { InputError, boolInput, info, listInput, runAction, secretInput, shortDigest, writeSummary, type SummaryRow } from '../../_shared/src/kit.ts';

void runAction('register', async () => {
  const patterns = listInput('statement-path', { required: true });
  const paths = await resolveSubjectPaths(patterns);
  const timeout = Number(core.getInput('timeout') || '300');
  if (!Number.isFinite(timeout) || timeout <= 0) throw new InputError(`timeout must be a number of seconds, got "${core.getInput('timeout')}"`);
  const token = secretInput('token');
  const url = core.getInput('transparency-service', { required: true });
  const client = new ScrapiClient({ url, ...(token ? { token } : {}), onNote: (m) => info(m) });
  const wait = boolInput('wait', true);
  const receipts: string[] = [];
  const entries: string[] = [];
  const transparent: string[] = [];
  const rows: SummaryRow[] = [];
  for (const path of paths) {
    const bytes = new Uint8Array(await readFile(path));
    const statement = parseSignedStatement(bytes);
    const r = await client.register(bytes, { wait, timeoutMs: timeout * 1000 });
    entries.push(r.entryId);
    const base = path.replace(/\.cose$/, '');
    if (r.receipt) {
      await writeFile(`${base}.receipt`, r.receipt);
      await writeFile(`${base}.scitt`, attachReceipts(bytes, [r.receipt]));
      receipts.push(`${base}.receipt`);
      transparent.push(`${base}.scitt`);
    }
    info(`${path}: entry ${r.entryId}${r.receipt ? '' : ' (pending: resolve later with the entry id)'}`);
    const digest = subjectSha256(statement.sub);
    rows.push({ subject: statement.sub, digest: digest ? shortDigest(digest) : '', evidence: String(statement.hashEnvelope?.preimageContentType ?? statement.contentType ?? ''), issuer: statement.iss, service: url, entry: r.entryId.slice(0, 16), registered: r.receipt ? new Date().toISOString() : 'pending', verdict: r.receipt ? 'receipted' : 'pending' });
  }
  core.setOutput('receipt-paths', receipts.join('\n'));
  core.setOutput('entry-ids', entries.join('\n'));
  core.setOutput('transparent-statement-paths', transparent.join('\n'));
  await writeSummary('SCITT registration', rows);
});
