/**
 * What every action does around its call into core: typed inputs, one clear annotation on failure
 * (never a stack trace), masked secrets, outputs, and the job summary table.
 */
import * as core from '@actions/core';
import { isScittError } from '@scitt-actions/core';

/** A list input: one item per line or comma-separated; blank lines and #comments ignored. */
export function listInput(name: string, { required = false } = {}): string[] {
  const items = core
    .getInput(name, { required })
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s && !s.startsWith('#'));
  return items;
}

export function boolInput(name: string, fallback: boolean): boolean {
  const v = core.getInput(name).trim().toLowerCase();
  if (v === '') return fallback;
  if (['true', 'yes', '1'].includes(v)) return true;
  if (['false', 'no', '0'].includes(v)) return false;
  throw new InputError(`input ${name} must be true or false, got "${v}"`);
}

export function optionalInput(name: string): string | undefined {
  const v = core.getInput(name).trim();
  return v === '' ? undefined : v;
}

/** Reads a secret input and masks it in the log before anything else can print it. */
export function secretInput(name: string): string | undefined {
  const v = core.getInput(name);
  if (!v) return undefined;
  core.setSecret(v);
  for (const line of v.split('\n')) if (line.trim()) core.setSecret(line.trim());
  return v;
}

export class InputError extends Error {}

export async function runAction(name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const err = e as Error;
    const code = isScittError(e) ? ` [${e.code}]` : '';
    core.setFailed(`${name}: ${err.message}${code}`);
    if (process.env.RUNNER_DEBUG === '1' && err.stack) core.debug(err.stack);
  }
}

export interface SummaryRow {
  subject: string;
  digest: string;
  evidence: string;
  issuer: string;
  service: string;
  entry: string;
  registered: string;
  verdict: string;
}

const HEAD: (keyof SummaryRow)[] = ['subject', 'digest', 'evidence', 'issuer', 'service', 'entry', 'registered', 'verdict'];

/** The job summary: one table, a row per artifact statement. */
export async function writeSummary(title: string, rows: SummaryRow[], notes: string[] = []): Promise<void> {
  if (!boolInput('show-summary', true)) return;
  const s = core.summary.addHeading(title, 3);
  s.addTable([HEAD.map((h) => ({ data: h, header: true })), ...rows.map((r) => HEAD.map((h) => r[h] || '—'))]);
  for (const n of notes) s.addRaw(`\n${n}\n`);
  await s.write();
}

export const shortDigest = (hex: string) => `sha256:${hex.slice(0, 12)}…`;
