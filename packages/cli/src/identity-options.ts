/**
 * The cosign-style identity flags of `scitt verify` (certificate identity and OIDC issuer, exact or
 * full-string regexp; the GitHub hostname; Fulcio extension predicates by name), read by core's
 * ciIdentityPolicy like the verify-gate action's inputs of the same names.
 */
import type { Command } from 'commander';
import type { CiIdentityInputs } from '@scitt-actions/core/identity';

const OPTIONS: [flag: string, key: keyof CiIdentityInputs, help: string][] = [
  ['--hostname <HOST>', 'hostname', 'keyless: GitHub host of --repo/--owner/--signer-workflow: github.com (default), TENANT.ghe.com or a GitHub Enterprise Server'],
  ['--certificate-identity <SAN>', 'certificateIdentity', 'keyless: the certificate SAN, exact (GitLab: https://gitlab.com/GROUP/PROJECT//.gitlab-ci.yml@refs/heads/main)'],
  ['--certificate-identity-regexp <RE>', 'certificateIdentityRegexp', 'keyless: the certificate SAN, a regular expression matched against the whole SAN'],
  ['--certificate-oidc-issuer <URL>', 'certificateOidcIssuer', 'keyless: the OIDC issuer, exact (https://gitlab.com, https://agent.buildkite.com, https://oidc.circleci.com/org/ID); default GitHub Actions'],
  ['--certificate-oidc-issuer-regexp <RE>', 'certificateOidcIssuerRegexp', 'keyless: the OIDC issuer, a regular expression matched against the whole issuer'],
  ['--source-repository-uri <URI>', 'sourceRepositoryUri', 'keyless: Source Repository URI (Fulcio .12), exact, e.g. https://gitlab.com/group/project'],
  ['--source-repository-digest <SHA>', 'sourceRepositoryDigest', 'keyless: the commit built (Fulcio .13)'],
  ['--source-repository-visibility <V>', 'sourceRepositoryVisibility', 'keyless: public, private or internal at signing (Fulcio .22)'],
  ['--build-signer-uri <URI>', 'buildSignerUri', 'keyless: Build Signer URI (Fulcio .9), exact'],
  ['--runner-environment <ENV>', 'runnerEnvironment', 'keyless: Runner Environment (Fulcio .11), exact, e.g. gitlab-hosted'],
  ['--build-trigger <T>', 'buildTrigger', 'keyless: Build Trigger (Fulcio .20), exact, e.g. push'],
  ['--build-config-uri <URI>', 'buildConfigUri', 'keyless: Build Config URI (Fulcio .18), exact'],
];

export function addCiIdentityOptions(cmd: Command): Command {
  for (const [flag, , help] of OPTIONS) cmd.option(flag, help);
  return cmd;
}

export function ciIdentityInputsOf(o: CiIdentityInputs): CiIdentityInputs {
  const out: CiIdentityInputs = {};
  for (const [, key] of OPTIONS) if (o[key] !== undefined) out[key] = o[key];
  return out;
}
