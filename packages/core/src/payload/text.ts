/**
 * Bytes → text → JSON for evidence files, with errors that say where and why parsing stopped
 * (empty file, invalid UTF-8, truncated or malformed JSON) instead of V8's bare SyntaxError.
 */
import { PayloadError } from '../errors.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Decodes UTF-8 strictly (a BOM is dropped); `what` names the input in messages. */
export function decodeUtf8(bytes: Uint8Array | string, what: string): string {
  if (typeof bytes === 'string') return bytes.charCodeAt(0) === 0xfeff ? bytes.slice(1) : bytes;
  try {
    return utf8.decode(bytes);
  } catch (cause) {
    throw new PayloadError('ERR_PAYLOAD_MALFORMED', `${what} is not valid UTF-8 text; evidence files must be UTF-8 encoded`, { cause });
  }
}

/** Refuses an input that is empty or only whitespace. */
export function assertNotEmpty(text: string, what: string): void {
  if (text.trim() === '') {
    throw new PayloadError('ERR_PAYLOAD_EMPTY', `${what} is empty${text.length ? ' (only whitespace)' : ''}; pass the file the build tool wrote, not a placeholder`);
  }
}

/** Line and column (1-based) of a character offset, for messages a person can jump to. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Parses JSON text; a syntax error becomes ERR_PAYLOAD_MALFORMED with line/column and a hint when the text is truncated. */
export function parseJson(text: string, what: string): unknown {
  assertNotEmpty(text, what);
  try {
    return JSON.parse(text);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    const position = /at position (\d+)/.exec(detail);
    const offset = position ? Number(position[1]) : undefined;
    // V8 reports "Unexpected end of JSON input" (or an error at the last byte) when the document stops early
    const truncated = /end of JSON input/.test(detail) || (offset !== undefined && offset >= text.trimEnd().length);
    const { line, column } = lineColumn(text, offset ?? text.length);
    const where = `line ${line}, column ${column}`;
    const reason = detail.replace(/ in JSON at position \d+( \(line \d+ column \d+\))?/, '');
    const message = truncated
      ? `${what} is truncated JSON: it ends at ${where} before the document is complete; regenerate or re-download the file`
      : offset === undefined
        ? `${what} is not valid JSON: ${reason}`
        : `${what} is not valid JSON at ${where}: ${reason}`;
    throw new PayloadError('ERR_PAYLOAD_MALFORMED', message, { cause, offset });
  }
}

/** True for a plain JSON object (not an array or null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
