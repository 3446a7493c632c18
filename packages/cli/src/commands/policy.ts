/**
 * `scitt policy init|show|set` (the embedded Transparency Service's registration policy) and
 * `scitt trusted-root` (Sigstore's trusted root through TUF, written for offline use).
 */
import { basename } from 'node:path';
import type { Command } from 'commander';
import { ScittError, publicKey } from '@scitt-actions/core';
import { toJwk } from '@scitt-actions/core/cose';
import { type IdentityPolicy, certificatesFromPem, fetchSigstoreTrustedRoot, pemTrustFromSigstoreTrustedRoot } from '@scitt-actions/core/identity';
import { getPolicy, setPolicy } from '@scitt-actions/core/scrapi';
import type { IdentityInputs } from '@scitt-actions/core/verify';
import { parsePolicy } from '@scitt-actions/transparency-service';
import { UsageError, action } from '../run.ts';
import { isInlineContent, printJson, readInput, readKey, readPathOrContent, report, writeOutput } from '../io.ts';
import { intOption } from '../numbers.ts';
import { clientFor } from './register.ts';

interface TufFlags {
  tufMirror?: string;
  tufRoot?: string;
  tufCache?: string;
}

type InitIdentity = Pick<IdentityInputs, 'repo' | 'owner' | 'signerWorkflow' | 'signerRepo' | 'sourceRef' | 'certOidcIssuer' | 'hostedRunnersOnly' | 'trustedRoot' | 'x509Roots' | 'insecureIgnoreSct'>;

interface InitFlags extends TufFlags, InitIdentity {
  out?: string;
  issuerKey?: string[];
  iss?: string;
  keyless?: boolean;
  maxStatementBytes?: string;
  force?: boolean;
  json?: boolean;
}

function addTufOptions(cmd: Command): Command {
  return cmd
    .option('--tuf-mirror <URL>', 'TUF mirror of the Sigstore trusted root (default: the public-good mirror)')
    .option('--tuf-root <root.json>', "with --tuf-mirror: the mirror's initial root.json (path or content)")
    .option('--tuf-cache <DIR>', 'TUF metadata cache directory (default: the per-user Sigstore cache)');
}

async function tufOptions(o: TufFlags): Promise<{ mirrorURL?: string; rootPath?: string; cachePath?: string }> {
  if (o.tufRoot && !o.tufMirror) throw new UsageError('--tuf-root is the initial root.json of a --tuf-mirror: add --tuf-mirror URL');
  let rootPath = o.tufRoot;
  if (rootPath && isInlineContent(rootPath)) {
    // @sigstore/tuf reads its initial root from a file: content given inline goes to one
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const file = join(await mkdtemp(join(tmpdir(), 'scitt-tuf-root-')), 'root.json');
    await writeOutput(file, rootPath);
    rootPath = file;
  }
  return { ...(o.tufMirror ? { mirrorURL: o.tufMirror } : {}), ...(rootPath ? { rootPath } : {}), ...(o.tufCache ? { cachePath: o.tufCache } : {}) };
}

/** The Fulcio trust of a keyless policy: a private Fulcio's PEM, a trusted_root.json, or Sigstore's through TUF. */
async function x509Trust(o: InitFlags): Promise<{ roots: string[]; intermediates?: string[]; source: string }> {
  if (o.x509Roots && o.trustedRoot) throw new UsageError('choose one: --trusted-root (Sigstore) or --x509-roots (a private Fulcio)');
  if (o.x509Roots) {
    const pem = new TextDecoder().decode(await readPathOrContent(o.x509Roots, 'X.509 roots'));
    certificatesFromPem(pem); // at least one certificate, or a clear error
    return { roots: [pem], source: isInlineContent(o.x509Roots) ? 'x509-roots' : o.x509Roots };
  }
  const json = o.trustedRoot ? new TextDecoder().decode(await readPathOrContent(o.trustedRoot, 'trusted root')) : await fetchSigstoreTrustedRoot(await tufOptions(o));
  const pem = pemTrustFromSigstoreTrustedRoot(json);
  return { roots: pem.roots, ...(pem.intermediates.length ? { intermediates: pem.intermediates } : {}), source: o.trustedRoot && !isInlineContent(o.trustedRoot) ? o.trustedRoot : o.trustedRoot ? 'trusted-root' : `TUF ${o.tufMirror ?? 'public-good'}` };
}

function identityOf(o: InitFlags): Omit<IdentityPolicy, 'signerWorkflow'> & { signerWorkflow?: string } {
  const identity = {
    ...(o.repo ? { repo: o.repo } : {}),
    ...(o.owner ? { owner: o.owner } : {}),
    ...(o.signerWorkflow ? { signerWorkflow: o.signerWorkflow } : {}),
    ...(o.signerRepo ? { signerRepo: o.signerRepo } : {}),
    ...(o.sourceRef ? { sourceRef: o.sourceRef } : {}),
    ...(o.certOidcIssuer ? { certOidcIssuer: o.certOidcIssuer } : {}),
    ...(o.hostedRunnersOnly ? { denySelfHostedRunners: true } : {}),
  };
  if (!identity.repo && !identity.owner && !identity.signerWorkflow && !identity.signerRepo) {
    throw new UsageError('--keyless needs who may register: --repo OWNER/REPO, --owner OWNER or --signer-workflow OWNER/REPO/.github/workflows/FILE');
  }
  return identity;
}

/** Builds the policy JSON `scitt serve --policy` and `scitt policy set` take as is. */
async function initPolicy(o: InitFlags): Promise<{ text: string; summary: Record<string, unknown> }> {
  const keys = o.issuerKey ?? [];
  if (!keys.length && !o.keyless) throw new UsageError('say who may register: --issuer-key KEY.pub.pem (repeatable), and/or --keyless with --repo/--owner/--signer-workflow');
  if (!o.keyless && (o.repo || o.owner || o.signerWorkflow || o.signerRepo || o.trustedRoot || o.x509Roots)) {
    throw new UsageError('--repo, --owner, --signer-workflow, --signer-repo, --trusted-root and --x509-roots describe keyless issuers: add --keyless');
  }
  const issuers = await Promise.all(
    keys.map(async (k, n) => ({
      name: isInlineContent(k) ? `issuer-${n + 1}` : basename(k).replace(/(\.pub)?\.pem$|\.jwk$|\.json$/, ''),
      ...(o.iss ? { iss: o.iss } : {}),
      key: toJwk(publicKey(await readKey(k, 'issuer key'))), // only ever the public half, whatever file was given
    })),
  );
  const identity = o.keyless ? identityOf(o) : undefined; // a usage error before any network
  const x509 = identity ? { ...(await x509Trust(o)), identity } : undefined;
  const max = o.maxStatementBytes ? intOption('--max-statement-bytes', o.maxStatementBytes, { min: 256, max: 64 * 1024 * 1024, unit: 'bytes' }) : undefined;
  const policy = {
    version: 1,
    issuers,
    ...(x509 ? { x509: { roots: x509.roots, ...(x509.intermediates ? { intermediates: x509.intermediates } : {}), ...(o.insecureIgnoreSct ? { insecureIgnoreSct: true } : {}), identity: x509.identity } } : {}),
    ...(max ? { maxStatementBytes: max } : {}),
  };
  const text = `${JSON.stringify(policy, null, 2)}\n`;
  parsePolicy(text); // exactly what the service will check: a policy this writes, it takes
  return {
    text,
    summary: {
      issuers: issuers.map((i) => i.name),
      ...(x509 ? { keyless: { identity: x509.identity, roots: x509.roots.length, intermediates: x509.intermediates?.length ?? 0, from: x509.source } } : {}),
    },
  };
}

export function registerPolicy(program: Command): void {
  const policy = program.command('policy').description("write, show and set a Transparency Service's registration policy (itself a statement on the log)");

  const init = policy
    .command('init')
    .description('write a registration policy for scitt serve --policy or scitt policy set: trusted issuer keys and/or keyless workflow identities')
    .option('--out <FILE>', 'where to write the policy JSON (default: stdout)')
    .option('--issuer-key <KEY.pub.pem...>', 'an issuer key allowed to register (PEM, JWK or COSE_Key; path or content); repeatable')
    .option('--iss <ISS>', 'with --issuer-key: statements under these keys must carry this iss')
    .option('--keyless', 'admit Fulcio certificates of the workflow identity given by --repo/--owner/--signer-workflow')
    .option('--repo <OWNER/REPO>', 'keyless: the repository whose workflows may register')
    .option('--owner <OWNER>', 'keyless: the owner whose workflows may register')
    .option('--signer-workflow <WORKFLOW>', 'keyless: the workflow, OWNER/REPO/.github/workflows/FILE[@REF]')
    .option('--signer-repo <OWNER/REPO>', 'keyless: the repository of a reusable signing workflow')
    .option('--source-ref <REF>', 'keyless: the git ref, e.g. refs/heads/main')
    .option('--cert-oidc-issuer <URL>', 'keyless: the OIDC issuer (default: GitHub Actions)')
    .option('--hosted-runners-only', 'keyless: refuse self-hosted runners')
    .option('--trusted-root <FILE>', 'keyless: Sigstore trusted_root.json (path or content) for the Fulcio roots (default: fetched through TUF)')
    .option('--x509-roots <PEM>', 'keyless: a private Fulcio: its root certificates and CT log PUBLIC KEYs (path or content)')
    .option('--insecure-ignore-sct', 'keyless: a private Fulcio without a CT log')
    .option('--max-statement-bytes <N>', 'largest statement the service accepts (default 1048576)')
    .option('--force', 'overwrite --out')
    .option('--json', 'print the result as JSON (the policy under result.policy)');
  addTufOptions(init).action(
    action('operate', async (o: InitFlags) => {
      const { text, summary } = await initPolicy(o);
      if (o.out) await writeOutput(o.out, text, { force: !!o.force });
      if (o.json) printJson({ ...(o.out ? { policyFile: o.out } : {}), ...summary, policy: JSON.parse(text) as unknown });
      else if (o.out) report(false, { policy: o.out, ...summary, next: `scitt serve --policy ${o.out}   or   scitt policy set --ts URL --policy ${o.out}` });
      else process.stdout.write(text);
    }),
  );

  policy
    .command('show')
    .description('print the registration policy in force and the log entry that holds it')
    .requiredOption('--ts <URL>', 'the Transparency Service')
    .option('--json', 'print the result in the JSON envelope')
    .action(
      action('operate', async (o: { ts: string; json?: boolean }) => {
        const shown = await getPolicy(clientFor(o.ts, undefined, true));
        if (o.json) printJson(shown);
        else process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
      }),
    );

  policy
    .command('set')
    .description('register a new registration policy (from scitt policy init); it applies once committed to the log')
    .requiredOption('--ts <URL>', 'the Transparency Service')
    .requiredOption('--policy <FILE>', 'policy JSON as scitt policy init writes it: {"issuers": [{"name", "iss"?, "key": JWK or PEM}], "x509"?, "maxStatementBytes"?}')
    .option('--admin-token <TOKEN>', 'the service admin token (default: $SCITT_TS_ADMIN_TOKEN)')
    .option('--json', 'print the result in the JSON envelope')
    .action(
      action('verify', async (o: { ts: string; policy: string; adminToken?: string; json?: boolean }) => {
        const token = o.adminToken ?? process.env.SCITT_TS_ADMIN_TOKEN;
        if (!token) throw new ScittError('ERR_USAGE', 'setting the policy needs the admin token: --admin-token or $SCITT_TS_ADMIN_TOKEN');
        const text = new TextDecoder().decode(await readInput(o.policy, 'policy'));
        parsePolicy(text); // a malformed policy is the caller's usage error, before any request
        const set = await setPolicy(clientFor(o.ts, undefined, true), text, token);
        if (o.json) printJson(set);
        else process.stdout.write(`${JSON.stringify(set, null, 2)}\n`);
      }),
    );

  addTufOptions(
    program
      .command('trusted-root')
      .description("fetch Sigstore's trusted root (Fulcio CAs, CT logs) through TUF and write it for offline use (--trusted-root FILE), like gh attestation trusted-root")
      .option('--out <FILE>', 'where to write trusted_root.json (default: stdout)')
      .option('--json', 'print the result as JSON'),
  ).action(
    action('operate', async (o: TufFlags & { out?: string; json?: boolean }) => {
      const text = await fetchSigstoreTrustedRoot(await tufOptions(o));
      const pem = pemTrustFromSigstoreTrustedRoot(text);
      const summary = { from: o.tufMirror ?? 'public-good TUF mirror', certificateAuthorities: pem.roots.length + pem.intermediates.length, ctLogs: pem.ctLogs };
      if (o.out) await writeOutput(o.out, text); // refreshing the offline copy is the point
      if (o.json) printJson({ ...(o.out ? { trustedRoot: o.out } : {}), ...summary, ...(o.out ? {} : { document: JSON.parse(text) as unknown }) });
      else if (o.out) report(false, { trustedRoot: o.out, ...summary });
      else process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    }),
  );
}
