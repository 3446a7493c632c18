import { Command, type CommanderError } from 'commander';
import { VERSION } from './version.ts';
import { commandOf, writeEnvelope } from './output.ts';

type Register = (program: Command) => void;

/**
 * Each verb's module, with the verbs it defines, in help order. Only the module of the verb being
 * run is imported (all of them for the top-level help): `scitt verify` never loads the service,
 * the keyless signer or the evidence validators.
 */
const MODULES: { verbs: readonly string[]; load: () => Promise<Register> }[] = [
  { verbs: ['keygen'], load: async () => (await import('./commands/keygen.ts')).registerKeygen },
  { verbs: ['statement'], load: async () => (await import('./commands/statement.ts')).registerStatement },
  { verbs: ['serve'], load: async () => (await import('./commands/serve.ts')).registerServe },
  { verbs: ['register'], load: async () => (await import('./commands/register.ts')).registerRegister },
  { verbs: ['attach', 'transparent', 'discover'], load: async () => (await import('./commands/attach.ts')).registerAttach },
  { verbs: ['verify'], load: async () => (await import('./commands/verify.ts')).registerVerify },
  { verbs: ['keys'], load: async () => (await import('./commands/keys.ts')).registerKeys },
  { verbs: ['provenance'], load: async () => (await import('./commands/evidence.ts')).registerProvenance },
  { verbs: ['policy', 'trusted-root'], load: async () => (await import('./commands/policy.ts')).registerPolicy },
  { verbs: ['inspect'], load: async () => (await import('./commands/inspect.ts')).registerInspect },
  { verbs: ['witness'], load: async () => (await import('./commands/witness.ts')).registerWitness },
  { verbs: ['monitor'], load: async () => (await import('./commands/monitor.ts')).registerMonitor },
];

/** The program with the verb named in `args` (process.argv without node and the script) registered, or every verb when none is named. */
export async function createProgram(args: readonly string[] = process.argv.slice(2)): Promise<Command> {
  const program = new Command('scitt')
    .description('Make releases transparent: SCITT Signed Statements, Receipts and release gates (RFC 9943)')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    // commander's own errors (a missing or unknown flag) end in the stable code, like every other error
    .configureOutput({ outputError: (str, write) => write(`${str.trimEnd()} [ERR_USAGE]\n`) })
    .exitOverride((err: CommanderError) => {
      // --help and --version are successes; every other parse problem is a usage error (exit 2).
      const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
      // with --json, the usage error is the same envelope on stdout as every other error
      if (!ok && args.includes('--json')) writeEnvelope({ ok: false, command: commandOf(args), error: { code: 'ERR_USAGE', message: err.message.replace(/^error: /, '') } });
      process.exit(ok ? 0 : 2);
    });
  program.configureHelp({ sortSubcommands: false });
  // the verb is the first argument that is not an option (the program itself has only --version and --help)
  const verb = args.find((a) => !a.startsWith('-'));
  const chosen = MODULES.filter((m) => verb !== undefined && m.verbs.includes(verb));
  for (const m of chosen.length ? chosen : MODULES) (await m.load())(program);
  return program;
}
