import { chmod } from 'node:fs/promises';
import type { Command } from 'commander';
import { generateKey, toPem } from '@scitt-actions/core';
import { algorithmByName, thumbprint, type Curve } from '@scitt-actions/core/cose';
import { action } from '../run.ts';
import { hex, report, writeOutput } from '../io.ts';

const CURVE_FOR: Record<string, Curve> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521', EDDSA: 'Ed25519' };

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('generate an issuer signing key: KEY.pem (private, mode 0600) and KEY.pub.pem')
    .requiredOption('--out <KEY.pem>', 'where to write the private key')
    .option('--alg <alg>', 'ES256, ES384, ES512 or EdDSA', 'ES256')
    .option('--force', 'overwrite existing files')
    .option('--json', 'print the result as JSON')
    .action(
      action('operate', async (o: { out: string; alg: string; force?: boolean; json?: boolean }) => {
        const alg = algorithmByName(o.alg);
        const key = generateKey(CURVE_FOR[alg.name.toUpperCase()]);
        const pub = o.out.replace(/(\.pem)?$/, '.pub.pem');
        await writeOutput(o.out, toPem(key, { includePrivate: true }), { mode: 0o600, force: !!o.force });
        await chmod(o.out, 0o600); // mode applies only on create; an overwritten file keeps its old mode
        await writeOutput(pub, toPem(key), { force: !!o.force });
        report(!!o.json, { alg: alg.name, kid: hex(thumbprint(key)), private: o.out, public: pub });
      }),
    );
}
