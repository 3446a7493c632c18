import { Command, CommanderError } from 'commander';
import { registerInspect } from './commands/inspect.ts';
import { registerKeygen } from './commands/keygen.ts';
import { registerStatement } from './commands/statement.ts';
import { registerServe } from './commands/serve.ts';
import { registerRegister } from './commands/register.ts';
import { registerPolicy } from './commands/policy.ts';
import { registerAttach } from './commands/attach.ts';
import { registerVerify } from './commands/verify.ts';
import { registerKeys } from './commands/keys.ts';
import { registerProvenance } from './commands/evidence.ts';
import { EXIT } from './run.ts';

export function createProgram(): Command {
  const program = new Command('scitt')
    .description('Make releases transparent: SCITT Signed Statements, Receipts and release gates (RFC 9943)')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride((err: CommanderError) => {
      // --help and --version are successes; every other parse problem is a usage error (exit 2).
      const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
      process.exit(ok ? EXIT.ok : EXIT.usage);
    });
  program.configureHelp({ sortSubcommands: false });
  registerKeygen(program);
  registerStatement(program);
  registerServe(program);
  registerRegister(program);
  registerAttach(program);
  registerVerify(program);
  registerKeys(program);
  registerProvenance(program);
  registerPolicy(program);
  registerInspect(program);
  return program;
}
