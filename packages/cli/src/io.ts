import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { ScittError, loadKey, type CoseKey } from '@scitt-actions/core';

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

export async function readKey(path: string): Promise<CoseKey> {
  return loadKey(await readInput(path, 'key'));
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Text that came from an input (iss, sub, messages quoting them) made safe for a terminal or a log:
 * control characters are shown escaped, so a statement cannot forge lines or hide output.
 */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Prints a result: JSON with --json, otherwise aligned "name: value" lines. */
export function report(json: boolean, value: Record<string, unknown>): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  const width = Math.max(...Object.keys(value).map((k) => k.length));
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    process.stdout.write(`${k.padEnd(width)}  ${printable(typeof v === 'object' ? JSON.stringify(v) : String(v))}\n`);
  }
}
