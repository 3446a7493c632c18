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

/**
 * Text from statements and stores (iss, sub, names, URLs, messages quoting them) put on one line:
 * control characters, newlines among them, are shown escaped, so no part can start a line of its
 * own in the log — a forged annotation, workflow command (`::error::`) or report line.
 */
export function oneLine(text: string): string {
  const escaped = String(text).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  // a workflow command is a line that starts with `::`
  return escaped.startsWith('::') ? ` ${escaped}` : escaped;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * A job-summary cell or note from untrusted parts: one line, HTML-escaped, and every character
 * Markdown gives a meaning (links, emphasis, tables, headings, code, images, autolinks) written as a
 * character reference, so it shows as the text it is and cannot forge a row, a link or a heading.
 */
export function summaryText(text: string): string {
  return oneLine(text).replace(/[&<>"'\\`*_{}[\]()#+\-.!|~:@]/g, (c) => HTML_ESCAPES[c] ?? `&#${c.charCodeAt(0)};`);
}

/** core.info for lines that carry untrusted parts. */
export function info(message: string): void {
  core.info(oneLine(message));
}

/** An annotation whose message and title carry untrusted parts. */
export function annotate(kind: 'error' | 'warning' | 'notice', message: string, title: string): void {
  // named, not core[kind]: a computed member keeps all of @actions/core in the bundle (getIDToken's HTTP client too)
  const annotation = kind === 'error' ? core.error : kind === 'warning' ? core.warning : core.notice;
  annotation(oneLine(message), { title: oneLine(title) });
}

export async function runAction(name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const err = e as Error;
    const code = isScittError(e) ? ` [${e.code}]` : '';
    core.setFailed(oneLine(`${name}: ${err.message}${code}`));
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
  // every cell and note is escaped: they quote statements and stores, which anyone can write
  // the title is the action's own words: only HTML is neutralised, so it reads as written
  const s = core.summary.addHeading(oneLine(title).replace(/[&<>"]/g, (c) => HTML_ESCAPES[c]!), 3);
  s.addTable([HEAD.map((h) => ({ data: h, header: true })), ...rows.map((r) => HEAD.map((h) => (r[h] ? summaryText(r[h]) : '—')))]);
  for (const n of notes) s.addRaw(`\n${summaryText(n)}\n`);
  await s.write();
}

export const shortDigest = (hex: string) => `sha256:${hex.slice(0, 12)}…`;
