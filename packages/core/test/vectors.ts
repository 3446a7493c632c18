import { readFileSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

/** ../shared/vectors beside the checkout (read-only public test vectors). */
export const VECTORS = resolve(fileURLToPath(import.meta.url), '../../../../../shared/vectors');

export function readJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFileSync(join(VECTORS, ...parts), 'utf8')) as T;
}

export function listJson(...parts: string[]): string[] {
  const dir = join(VECTORS, ...parts);
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listJson(...parts, name).map((f) => join(name, f)));
    else if (name.endsWith('.json')) out.push(name);
  }
  return out;
}

export const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
export const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
