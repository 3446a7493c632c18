/**
 * How dist/scitt.mjs carries the CLI: after the launcher (scripts/one-file.ts), in one comment, which V8
 * skips without parsing. A comment ends at the first star-slash, so in the CLI '~' is written '~0' and
 * star-slash '~1'. The CLI is CommonJS run in a function with PARAMS.
 */
export const BEGIN = '\n/* scitt-cli\n';
export const END = '\nscitt-cli */\n';
export const hide = (code: string): string => code.replaceAll('~', '~0').replaceAll('*/', '~1');
export const unhide = (text: string): string => text.replace(/~[01]/g, (m) => (m === '~0' ? '~' : '*/'));
/** import.meta.url inside the CLI is __scittImportMetaUrl: the file's URL, as in an ES module */
export const PARAMS = ['exports', 'require', 'module', '__filename', '__dirname', '__scittImportMetaUrl'] as const;
