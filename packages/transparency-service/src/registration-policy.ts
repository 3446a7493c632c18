/**
 * Registration policy (RFC 9943 §5.1.1, §6.3). The policy, with its trust anchors, is itself a Signed
 * Statement on the log, signed by the service key: a relying party can see which policy admitted an
 * entry. The service applies the most recent committed policy.
 */
import type { JsonWebKey } from 'node:crypto';
import { type CoseKey, ScittError, loadKey } from '@scitt-actions/core';
import { fromJwk, verifySign1, thumbprint, toJwk } from '@scitt-actions/core/cose';
import { type IdentityPolicy, type TrustStore, assertPolicyConstrains, certificatesFromPem, parseCertificate, trustFromPem, verifyX509Issuer } from '@scitt-actions/core/identity';
import { type SignedStatement, parseSignedStatement, verifySignedStatement } from '@scitt-actions/core/statement';
import { statementEntry } from '@scitt-actions/core/receipt';
import { MAX_BUNDLE_ENTRY } from '@scitt-actions/core/tiles';
import { HttpProblem } from './problem.ts';

export const POLICY_SUBJECT = 'urn:scitt-actions:registration-policy';
export const POLICY_MEDIA_TYPE = 'application/vnd.scitt-actions.registration-policy+json';

export interface PolicyIssuer {
  /** a label for people */
  name?: string;
  /** when set, statements under this key must carry exactly this iss */
  iss?: string;
  /** the issuer's public key; statements name it by kid = its RFC 9679 thumbprint */
  key: JsonWebKey;
}

/** Keyless issuers: certificate chains to these anchors, leaf identity matching the policy. */
export interface PolicyX509 {
  /** PEM root certificates (e.g. the Fulcio root); PUBLIC KEY blocks among them are its CT logs' keys, which must have logged each leaf (SCT) */
  roots: string[];
  intermediates?: string[];
  /** explicit: this (private) Fulcio has no CT log, so leaves without an SCT are admitted */
  insecureIgnoreSct?: boolean;
  /** who may register, e.g. {"repo": "acme/app", "signerWorkflow": "acme/app/.github/workflows/release.yml"} */
  identity: Omit<IdentityPolicy, 'signerWorkflow'> & { signerWorkflow?: string };
}

export interface RegistrationPolicy {
  version: 1;
  issuers: PolicyIssuer[];
  x509?: PolicyX509;
  /** largest Signed Statement accepted, in bytes; whatever it says, a log entry (the statement with its unprotected header emptied) is at most 65,535 bytes (tlog-tiles) */
  maxStatementBytes: number;
}

export const DEFAULT_POLICY: RegistrationPolicy = Object.freeze({ version: 1, issuers: [], maxStatementBytes: 1024 * 1024 }) as RegistrationPolicy;

/** Parses policy JSON as written by a person: keys may be given as JWK objects or PEM strings. */
export function parsePolicy(text: string): RegistrationPolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ScittError('ERR_USAGE', `registration policy is not valid JSON: ${(e as Error).message}`);
  }
  const o = raw as Partial<Record<keyof RegistrationPolicy, unknown>>;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new ScittError('ERR_USAGE', 'registration policy must be a JSON object');
  const issuers = o.issuers ?? [];
  if (!Array.isArray(issuers)) throw new ScittError('ERR_USAGE', 'registration policy "issuers" must be an array');
  const max = o.maxStatementBytes ?? DEFAULT_POLICY.maxStatementBytes;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 256 || max > 64 * 1024 * 1024) {
    throw new ScittError('ERR_USAGE', 'registration policy "maxStatementBytes" must be an integer between 256 and 67108864');
  }
  const x509 = o.x509 === undefined ? undefined : parseX509(o.x509);
  return {
    version: 1,
    maxStatementBytes: max,
    ...(x509 ? { x509 } : {}),
    issuers: issuers.map((i: unknown, n: number) => {
      const issuer = i as { name?: unknown; iss?: unknown; key?: unknown };
      if (!issuer || typeof issuer !== 'object') throw new ScittError('ERR_USAGE', `issuers[${n}] must be an object with a "key"`);
      let key: CoseKey;
      try {
        key = typeof issuer.key === 'string' ? loadKey(issuer.key) : fromJwk(issuer.key as JsonWebKey);
      } catch (e) {
        throw new ScittError('ERR_USAGE', `issuers[${n}].key is not a usable public key (JWK or PEM): ${(e as Error).message}`);
      }
      if (issuer.iss !== undefined && typeof issuer.iss !== 'string') throw new ScittError('ERR_USAGE', `issuers[${n}].iss must be a string`);
      return {
        ...(typeof issuer.name === 'string' ? { name: issuer.name } : {}),
        ...(typeof issuer.iss === 'string' ? { iss: issuer.iss } : {}),
        key: toJwk(key),
      };
    }),
  };
}

function parseX509(v: unknown): PolicyX509 {
  const x = v as Partial<PolicyX509>;
  const pems = (list: unknown, what: string): string[] => {
    const arr = typeof list === 'string' ? [list] : list;
    if (!Array.isArray(arr) || !arr.every((p) => typeof p === 'string')) throw new ScittError('ERR_USAGE', `x509.${what} must be a PEM string or an array of them`);
    for (const p of arr) {
      try {
        const ders = certificatesFromPem(p);
        if (ders.length === 0) throw new Error('no certificate');
        for (const der of ders) parseCertificate(der, `x509.${what}`);
      } catch (e) {
        throw new ScittError('ERR_USAGE', `x509.${what} holds something that is not a PEM certificate: ${(e as Error).message}`);
      }
    }
    return arr as string[];
  };
  const roots = pems(x?.roots, 'roots');
  if (roots.length === 0) throw new ScittError('ERR_USAGE', 'x509.roots must name at least one trust anchor');
  const identity = x.identity as PolicyX509['identity'] | undefined;
  if (!identity || typeof identity !== 'object' || Array.isArray(identity)) {
    throw new ScittError('ERR_USAGE', 'x509.identity must pin who may register: repo, owner, signerWorkflow, signerRepo, did, or certificateIdentity(Regexp) with certOidcIssuer');
  }
  // the verifier's own check: pins an identity, regexps compile, issuer given once
  assertPolicyConstrains(identity);
  if (x.insecureIgnoreSct !== undefined && typeof x.insecureIgnoreSct !== 'boolean') throw new ScittError('ERR_USAGE', 'x509.insecureIgnoreSct must be true or false');
  return { roots, ...(x.intermediates ? { intermediates: pems(x.intermediates, 'intermediates') } : {}), ...(x.insecureIgnoreSct === true ? { insecureIgnoreSct: true } : {}), identity };
}

export function describePolicy(p: RegistrationPolicy): string {
  if (p.x509) {
    const who = Object.entries(p.x509.identity).map(([k, v]) => `${k}=${String(v)}`).join(' ');
    return `${p.issuers.length} trusted issuer key(s); keyless issuers chaining to ${p.x509.roots.length} root(s) with ${who}; statements up to ${p.maxStatementBytes} bytes`;
  }
  if (p.issuers.length === 0) return 'no trusted issuers: every registration is refused until a policy is set: write one with scitt policy init (--issuer-key KEY.pub.pem, or --keyless --repo OWNER/REPO), then scitt serve --policy FILE or scitt policy set';
  return `${p.issuers.length} trusted issuer key(s): ${p.issuers.map((i) => i.name ?? i.iss ?? 'unnamed').join(', ')}; statements up to ${p.maxStatementBytes} bytes`;
}

/** The policy compiled for lookups: issuer keys by kid (hex of the RFC 9679 thumbprint). */
export class CompiledPolicy {
  readonly policy: RegistrationPolicy;
  readonly #byKid = new Map<string, { key: CoseKey; iss?: string }>();
  #x509Trust: Promise<TrustStore> | undefined;

  constructor(policy: RegistrationPolicy) {
    this.policy = policy;
    for (const i of policy.issuers) {
      const key = fromJwk(i.key);
      this.#byKid.set(Buffer.from(thumbprint(key)).toString('hex'), { key, ...(i.iss ? { iss: i.iss } : {}) });
    }
  }

  /**
   * Registration checks (RFC 9943 §6.3): parse, profile, issuer key resolved from the protected kid
   * through this policy's trusted keys, signature valid. Throws an HttpProblem 400 saying which.
   */
  async check(bytes: Uint8Array): Promise<SignedStatement> {
    if (bytes.length > this.policy.maxStatementBytes) {
      throw new HttpProblem(413, 'Payload Too Large', `statement is ${bytes.length} bytes; this service's policy accepts at most ${this.policy.maxStatementBytes}`);
    }
    let statement: SignedStatement;
    try {
      statement = parseSignedStatement(bytes);
    } catch (e) {
      const code = (e as ScittError).code ?? 'ERR_COSE_MALFORMED';
      const title = code.startsWith('ERR_COSE_ALG') ? 'Bad Signature Algorithm' : 'Rejected';
      throw new HttpProblem(400, title, `not a valid Signed Statement: ${(e as Error).message} [${code}]`);
    }
    // Entries are published in c2sp.org/tlog-tiles entry bundles, each behind a 16-bit length.
    if (bytes.length > MAX_BUNDLE_ENTRY) {
      const entry = statementEntry(bytes).length;
      if (entry > MAX_BUNDLE_ENTRY) {
        throw new HttpProblem(413, 'Payload Too Large', `statement is ${entry} bytes as a log entry (unprotected header emptied); this log's entries are at most ${MAX_BUNDLE_ENTRY} bytes, the most a c2sp.org/tlog-tiles entry bundle can carry: register a Hash Envelope statement instead (scitt statement create --hash-envelope), which signs the payload's digest and leaves the payload beside the artifact`);
      }
    }
    if (statement.sign1.payload === null) {
      throw new HttpProblem(400, 'Payload Missing', 'statement payload is detached; register a statement with its payload (a hash envelope keeps it small)');
    }
    if (statement.x5chain) return this.#checkX509(statement);
    if (!statement.kid) throw new HttpProblem(400, 'Rejected', 'statement names its issuer by x5t only; send the x5chain too');
    const issuer = this.#byKid.get(Buffer.from(statement.kid).toString('hex'));
    if (!issuer) {
      const hint = this.policy.issuers.length === 0 && !this.policy.x509 ? ' (it has none yet: scitt policy init --issuer-key KEY.pub.pem, then scitt policy set or scitt serve --policy)' : '';
      throw new HttpProblem(400, 'Rejected', `issuer key ${Buffer.from(statement.kid).toString('hex')} is not trusted by this service's registration policy${hint}`);
    }
    if (issuer.iss !== undefined && issuer.iss !== statement.iss) {
      throw new HttpProblem(400, 'Rejected', `statement iss "${statement.iss}" is not the iss "${issuer.iss}" the policy binds to this key`);
    }
    try {
      verifySignedStatement(statement, issuer.key);
    } catch (e) {
      const code = (e as ScittError).code;
      throw new HttpProblem(400, code === 'ERR_COSE_ALG_KEY_MISMATCH' ? 'Bad Signature Algorithm' : 'Rejected', `${(e as Error).message} [${code}]`);
    }
    return statement;
  }

  /** Keyless issuers (RFC 9943 §5.1.1.1): a path to a registered anchor, valid now, and the identity policy. */
  async #checkX509(statement: SignedStatement): Promise<SignedStatement> {
    const x509 = this.policy.x509;
    if (!x509) throw new HttpProblem(400, 'Rejected', "statement is signed with a certificate (x5chain) but this service's policy admits no certificate issuers");
    this.#x509Trust ??= trustFromPem({ roots: x509.roots, ...(x509.intermediates ? { intermediates: x509.intermediates } : {}), ...(x509.insecureIgnoreSct ? { insecureIgnoreSct: true } : {}) });
    try {
      await verifyX509Issuer({
        x5chain: statement.x5chain!,
        iss: statement.iss,
        trust: await this.#x509Trust,
        at: new Date(),
        policy: x509.identity,
        statementKeyCheck: (k) => verifySign1(statement.sign1, k),
      });
    } catch (e) {
      throw new HttpProblem(400, 'Rejected', `${(e as Error).message} [${(e as ScittError).code ?? 'ERR_IDENTITY'}]`);
    }
    return statement;
  }
}
