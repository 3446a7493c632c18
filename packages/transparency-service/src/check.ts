/** The registration check of one statement, on whichever thread: the policy's verdict, then the logged entry and its id. */
import { createHash } from 'node:crypto';
import { statementEntry } from '@scitt-actions/core/receipt';
import type { CompiledPolicy } from './registration-policy.ts';

/** A statement that passed the policy: what the log queues. */
export interface Checked {
  statement: Uint8Array;
  entry: Uint8Array;
  entryId: Uint8Array;
  sub: string;
}

export async function checkStatement(compiled: CompiledPolicy, bytes: Uint8Array): Promise<Checked> {
  const s = await compiled.check(bytes);
  const entry = statementEntry(s);
  return { statement: bytes, entry, entryId: new Uint8Array(createHash('sha256').update(entry).digest()), sub: s.sub };
}
