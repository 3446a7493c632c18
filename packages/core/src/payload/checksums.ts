/**
 * Checksums files as `sha256sum` writes them: `<64 hex><space><space|*><name>` (text and binary mode),
 * including its escaped form for names with a backslash or newline (line starts with `\`), and the
 * BSD/`--tag` form `SHA256 (name) = <hex>`.
 */
import { PayloadError } from '../errors.ts';

export interface ChecksumEntry {
  name: string;
  /** lower-case hex */
  sha256: string;
  /** 1-based line in the checksums file */
  line: number;
}

const GNU = /^(\\?)([0-9a-fA-F]{64}) ([ *])(.+)$/;
const BSD = /^(\\?)SHA256 \((.+)\) = ([0-9a-fA-F]{64})$/;

/** Undoes sha256sum's escaping (`\\` and `\n`) of names on lines that start with a backslash. */
function unescapeName(name: string, line: number, what: string): string {
  return name.replace(/\\(.)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (c === 'r') return '\r';
    throw new PayloadError('ERR_CHECKSUMS_MALFORMED', `${what} line ${line}: unknown escape \\${c} in an escaped file name`);
  });
}

/** Parses a sha256sum-style checksums file; blank lines are skipped, anything else malformed is refused with its line number. */
export function parseChecksums(text: string, what = 'the checksums file'): ChecksumEntry[] {
  const entries: ChecksumEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    if (raw.trim() === '') continue;
    const line = i + 1;
    const gnu = GNU.exec(raw);
    const bsd = gnu ? undefined : BSD.exec(raw);
    if (!gnu && !bsd) {
      const hint = /^[0-9a-fA-F]+\s/.test(raw) && !/^[0-9a-fA-F]{64}\s/.test(raw) ? ' (the digest is not 64 hex digits: is it SHA-256?)' : '';
      throw new PayloadError(
        'ERR_CHECKSUMS_MALFORMED',
        `${what} line ${line} is not a sha256sum line${hint}: expected "<64 hex>  <file>" (text) or "<64 hex> *<file>" (binary) or "SHA256 (<file>) = <64 hex>", got ${JSON.stringify(raw.slice(0, 100))}`,
      );
    }
    const escaped = (gnu ?? bsd)![1] === '\\';
    const hex = gnu ? gnu[2]! : bsd![3]!;
    const rawName = gnu ? gnu[4]! : bsd![2]!;
    const name = escaped ? unescapeName(rawName, line, what) : rawName;
    entries.push({ name, sha256: hex.toLowerCase(), line });
  }
  if (!entries.length) throw new PayloadError('ERR_CHECKSUMS_MALFORMED', `${what} has no checksum lines`);
  return entries;
}
