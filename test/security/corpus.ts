/**
 * The replayed corpus: test/security/corpus/<target>/<name>.hex (hex, whitespace ignored) or any
 * other file (raw bytes, e.g. a jazzer.js crash-… artifact). README.md documents each entry.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CORPUS_DIR = fileURLToPath(new URL('./corpus', import.meta.url));

export interface CorpusEntry {
  target: string;
  name: string;
  bytes: Uint8Array;
}

export function readCorpus(target: string): CorpusEntry[] {
  const dir = join(CORPUS_DIR, target);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.') && f !== 'README.md')
    .sort()
    .map((name) => {
      const raw = readFileSync(join(dir, name));
      const bytes = name.endsWith('.hex') ? new Uint8Array(Buffer.from(raw.toString('utf8').replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex')) : new Uint8Array(raw);
      return { target, name, bytes };
    });
}

export function corpusTargets(): string[] {
  return existsSync(CORPUS_DIR) ? readdirSync(CORPUS_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort() : [];
}

/** Saves an input that failed (crashed, hung or answered 5xx) so the corpus replays it from now on. */
export function saveFinding(target: string, bytes: Uint8Array, why: string): string {
  const dir = join(CORPUS_DIR, target);
  mkdirSync(dir, { recursive: true });
  const name = `found-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}.hex`;
  const hex = Buffer.from(bytes).toString('hex').replace(/(.{64})/g, '$1\n');
  // first line of the reason only: no stack traces with local paths in the repository
  writeFileSync(join(dir, name), `# ${why.split('\n')[0]!.slice(0, 200)}\n${hex}\n`);
  return join(dir, name);
}
