/**
 * The one --json envelope every verb prints on stdout, success or failure:
 *
 *   {"ok": true,  "command": "statement create", "result": {…}}
 *   {"ok": false, "command": "verify", "result": {…}, "error": {"code": "ERR_…", "message": "…"}}
 *
 * `result` is the verb's own output (absent when it failed before producing one); `error.code` is
 * the stable code also printed at the end of the stderr line. No dependency beyond node: so that
 * commander's own usage errors can be reported before any verb module is loaded.
 */
export interface Envelope {
  ok: boolean;
  command: string;
  result?: unknown;
  error?: { code: string; message: string };
}

let invocation = { command: 'scitt', json: false };

/** Which verb runs and whether it prints JSON: set once, before the verb's action runs. */
export function setInvocation(command: string, json: boolean): void {
  invocation = { command, json };
}

/** Writes the envelope; `oneLine` for a long-running verb whose first stdout line is read as it starts (serve). */
export function writeEnvelope(e: Omit<Envelope, 'command'> & { command?: string }, { oneLine = false } = {}): void {
  const envelope: Envelope = { ok: e.ok, command: e.command ?? invocation.command, ...(e.result !== undefined ? { result: e.result } : {}), ...(e.error ? { error: e.error } : {}) };
  process.stdout.write(`${JSON.stringify(envelope, null, oneLine ? undefined : 2)}\n`);
}

/**
 * The verb named by a command line, for errors commander reports before any action runs: the
 * leading words that are not options (`statement create`, `policy init`, `verify`).
 */
export function commandOf(args: readonly string[]): string {
  const words: string[] = [];
  for (const a of args) {
    if (a.startsWith('-')) break;
    words.push(a);
    if (words.length === 2 || !['statement', 'provenance', 'policy'].includes(a)) break;
  }
  return words.join(' ') || 'scitt';
}
