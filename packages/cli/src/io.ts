import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { type CoseKey, loadKey } from '@scitt-actions/core/cose';
import { ScittError } from '@scitt-actions/core/errors';
import { writeEnvelope } from './output.ts';

export async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new ScittError('ERR_IO', `cannot read ${what} ${path}: ${reason}`, { cause: e });
  }
}

export async function writeOutput(path: string, data: Uint8Array | string, { mode = 0o644, force = true } = {}): Promise<void> {
  if (!force && existsSync(path)) throw new ScittError('ERR_IO', `${path} exists; remove it or pass --force`);
  try {
    await writeFile(path, data, { mode });
  } catch (e) {
    throw new ScittError('ERR_IO', `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * A key or trust input given either as a path or as the content itself: PEM text (`-----BEGIN`), a
 * JSON object (JWK, JWK Set, trusted_root.json) or, for a COSE_Key, a path. Content is recognised by
 * its first characters, which no sensible file name has; everything else is read as a path.
 */
export function isInlineContent(value: string): boolean {
  const v = value.trimStart();
  return v.startsWith('-----BEGIN ') || v.startsWith('{');
}

export async function readPathOrContent(value: string, what: string): Promise<Uint8Array> {
  return isInlineContent(value) ? new TextEncoder().encode(value) : readInput(value, what);
}

export async function readKey(pathOrContent: string, what = 'key'): Promise<CoseKey> {
  return loadKey(await readPathOrContent(pathOrContent, what));
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Text that came from an input (iss, sub, messages quoting them) made safe for a terminal or a log:
 * control characters are shown escaped, so a statement cannot forge lines or hide output.
 */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Prints a result: the --json envelope (output.ts), otherwise aligned "name: value" lines. */
export function report(json: boolean, value: Record<string, unknown>): void {
  if (json) {
    printJson(value);
    return;
  }
  const width = Math.max(...Object.keys(value).map((k) => k.length));
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    process.stdout.write(`${k.padEnd(width)}  ${printable(typeof v === 'object' ? JSON.stringify(v) : String(v))}\n`);
  }
}

/**
 * A verb's result in the --json envelope. `ok: false` with an error when the verb ran to the end and
 * its verdict is "no" (a verification that failed): the result still says what was checked.
 */
export function printJson(result: unknown, outcome: { ok?: boolean; error?: { code: string; message: string } } = {}): void {
  writeEnvelope({ ok: outcome.ok ?? true, result, ...(outcome.error ? { error: outcome.error } : {}) });
}
