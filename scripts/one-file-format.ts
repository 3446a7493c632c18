/**
 * How dist/scitt.mjs carries the CLI: after the launcher (scripts/one-file.ts), its modules, each in one
 * comment, which V8 skips without parsing, and last an index of where each module is. The modules are
 * esbuild's split chunks of the CLI (the entry ENTRY, the chunks it shares, one per import() and per
 * library core/lazy-deps.cjs loads on first use), each made CommonJS and run in a function with PARAMS:
 * a command reads, hashes and compiles only the modules it uses, each with its own code cache. A comment
 * ends at the first star-slash, so in a module '~' is written '~0' and star-slash '~1'; and a UTF-16 code
 * unit beyond ASCII (a few template literals have one) '~2' and its four hex digits, so that the file is
 * ASCII: one non-ASCII byte and node decodes all of it to a two-byte string, which --version pays for.
 */
export const BEGIN = '\n/* scitt-cli\n';
export const END = '\nscitt-cli */\n';
/** The last line of the file: INDEX, the modules' offsets as JSON, then the comment's end and a newline */
export const INDEX = '/* scitt-index ';
/** The module that exports start(args) */
export const ENTRY = 'index.mjs';
export const hide = (code: string): string =>
  code
    .replaceAll('~', '~0')
    .replaceAll('*/', '~1')
    .replace(/[^\x00-\x7f]/g, (c) => `~2${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
export const unhide = (text: string): string => text.replace(/~(?:0|1|2([0-9a-f]{4}))/g, (m, unit?: string) => (unit ? String.fromCharCode(parseInt(unit, 16)) : m === '~0' ? '~' : '*/'));
/** import.meta.url inside the CLI is __scittImportMetaUrl: the file's URL, as in an ES module */
export const PARAMS = ['exports', 'require', 'module', '__filename', '__dirname', '__scittImportMetaUrl'] as const;

/** Each module's hidden text as [start, end) byte offsets in the file (ASCII, as hide() writes it). */
export type OneFileIndex = Record<string, readonly [number, number]>;

/** The launcher, then each module between BEGIN and END, then the index line. */
export function assemble(launcher: string, modules: Record<string, string>): string {
  const parts = [launcher];
  let at = Buffer.byteLength(launcher);
  const index: Record<string, [number, number]> = {};
  for (const [name, code] of Object.entries(modules)) {
    const hidden = hide(code);
    if (hidden.includes(BEGIN) || hidden.includes(END)) throw new Error('the one-file markers occur in the code: change them in scripts/one-file-format.ts');
    const bytes = Buffer.byteLength(hidden);
    index[name] = [at + BEGIN.length, at + BEGIN.length + bytes];
    parts.push(BEGIN, hidden, END);
    at += BEGIN.length + bytes + END.length;
  }
  return `${parts.join('')}${INDEX}${JSON.stringify(index)} */\n`;
}

/** The index from the file's last bytes (at least its last line), checked against the file's size. */
export function readIndex(tail: string, size: number): OneFileIndex {
  const at = tail.lastIndexOf(INDEX);
  const close = tail.lastIndexOf(' */');
  let index: unknown;
  try {
    index = at < 0 || close < at ? undefined : JSON.parse(tail.slice(at + INDEX.length, close));
  } catch {
    index = undefined;
  }
  const ok = (v: unknown) => Array.isArray(v) && v.length === 2 && v.every(Number.isSafeInteger) && v[0] >= BEGIN.length && v[0] <= v[1] && v[1] + END.length <= size;
  if (typeof index !== 'object' || index === null || !Object.hasOwn(index, ENTRY) || !Object.values(index).every(ok)) throw new Error('not a complete scitt.mjs (its index is missing or damaged): download it again');
  return index as OneFileIndex;
}

/** The module a require() from inside the CLI names ('./chunk-X.mjs'), or undefined for anything else (node: builtins). */
export function moduleOf(specifier: string, index: OneFileIndex): string | undefined {
  const name = specifier.startsWith('./') ? specifier.slice(2) : undefined;
  return name !== undefined && Object.hasOwn(index, name) ? name : undefined;
}
