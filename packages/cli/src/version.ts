/** The CLI's version: packages/cli/package.json's, checked by test/e2e/packaging-layout.test.ts (the one-file bundle has no package.json to read). */
export const VERSION = '0.1.0';
