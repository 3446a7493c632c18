/**
 * Checks an OIDC identity token before it goes to Fulcio, so a CI user learns what is wrong with it
 * (expired, wrong audience, not a JWT) from us rather than as Fulcio's 401. Nothing here trusts the
 * token — Fulcio verifies its signature; we only read claims to explain a refusal, never print it.
 */
import { IdentityError } from '../errors.ts';

/** How to get a token in each CI that Fulcio serves. */
export const ID_TOKEN_HELP =
  'GitHub Actions: give the job `permissions: id-token: write`; GitLab CI: `id_tokens: { SIGSTORE_ID_TOKEN: { aud: sigstore } }`; ' +
  'CircleCI: `SIGSTORE_ID_TOKEN=$(circleci run oidc get --claims \'{"aud":"sigstore"}\')`; Buildkite: `buildkite-agent oidc request-token --audience sigstore` ' +
  '(read automatically when BUILDKITE=true); elsewhere export SIGSTORE_ID_TOKEN';

const MAX_TOKEN = 64 * 1024;

export interface IdTokenClaims {
  iss?: unknown;
  aud?: unknown;
  exp?: unknown;
  nbf?: unknown;
  sub?: unknown;
}

/** Reads the claims of a compact JWS and refuses a token that cannot work: expired, not yet valid, or for another audience. */
export function checkIdToken(token: string, audience: string, now: Date = new Date()): IdTokenClaims {
  const bad = (why: string) => new IdentityError('ERR_KEYLESS_TOKEN', `${why}: ${ID_TOKEN_HELP}`);
  if (token.length > MAX_TOKEN || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) throw bad('the OIDC token is not a JWT (three base64url parts)');
  let claims: IdTokenClaims;
  try {
    claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as IdTokenClaims;
  } catch {
    throw bad('the OIDC token payload is not JSON');
  }
  if (!claims || typeof claims !== 'object') throw bad('the OIDC token payload is not a JSON object');
  const iss = typeof claims.iss === 'string' ? ` from ${claims.iss}` : '';
  const t = now.getTime() / 1000;
  if (typeof claims.exp !== 'number') throw bad(`the OIDC token${iss} has no exp claim`);
  if (claims.exp <= t) throw bad(`the OIDC token${iss} expired at ${new Date(claims.exp * 1000).toISOString()} (now ${now.toISOString()}); request a fresh one right before signing`);
  if (typeof claims.nbf === 'number' && claims.nbf > t + 60) throw bad(`the OIDC token${iss} is not valid before ${new Date(claims.nbf * 1000).toISOString()}`);
  const auds = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud.filter((a): a is string => typeof a === 'string') : [];
  if (!auds.includes(audience)) {
    throw bad(`the OIDC token${iss} is for audience ${auds.length ? auds.map((a) => JSON.stringify(a)).join(', ') : '(none)'}, but Fulcio accepts only "${audience}"`);
  }
  return claims;
}
