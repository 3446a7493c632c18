/**
 * Registration policy (RFC 9943 §5.1.1, §6.3). The policy, with its trust anchors, is itself a Signed
 * Statement on the log, signed by the service key: a relying party can see which policy admitted an
 * entry. The service applies the most recent committed policy.
 */
import type { JsonWebKey } from 'node:crypto';
import {
  type CoseKey,
  type SignedStatement,
  ScittError,
  fromJwk,
  loadKey,
  parseSignedStatement,
  thumbprint,
  toJwk,
  verifySignedStatement,
} from '@scitt-actions/core';
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

export interface RegistrationPolicy {
  version: 1;
  issuers: PolicyIssuer[];
  /** largest Signed Statement accepted, in bytes */
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
  if (!o || typeof o !== 'object') throw new ScittError('ERR_USAGE', 'registration policy must be a JSON object');
  const issuers = o.issuers ?? [];
  if (!Array.isArray(issuers)) throw new ScittError('ERR_USAGE', 'registration policy "issuers" must be an array');
  const max = o.maxStatementBytes ?? DEFAULT_POLICY.maxStatementBytes;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 256 || max > 64 * 1024 * 1024) {
    throw new ScittError('ERR_USAGE', 'registration policy "maxStatementBytes" must be an integer between 256 and 67108864');
  }
  return {
    version: 1,
    maxStatementBytes: max,
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

export function describePolicy(p: RegistrationPolicy): string {
  if (p.issuers.length === 0) return 'no trusted issuers: every registration is refused until a policy is set (scitt policy set, or scitt serve --policy FILE)';
  return `${p.issuers.length} trusted issuer key(s): ${p.issuers.map((i) => i.name ?? i.iss ?? 'unnamed').join(', ')}; statements up to ${p.maxStatementBytes} bytes`;
}

/** The policy compiled for lookups: issuer keys by kid (hex of the RFC 9679 thumbprint). */
export class CompiledPolicy {
  readonly policy: RegistrationPolicy;
  readonly #byKid = new Map<string, { key: CoseKey; iss?: string }>();

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
  check(bytes: Uint8Array): SignedStatement {
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
    if (!statement.kid) {
      throw new HttpProblem(400, 'Rejected', 'statement is identified by x5chain/x5t; this service\'s policy trusts issuers by kid only');
    }
    const issuer = this.#byKid.get(Buffer.from(statement.kid).toString('hex'));
    if (!issuer) {
      throw new HttpProblem(400, 'Rejected', `issuer key ${Buffer.from(statement.kid).toString('hex')} is not trusted by this service's registration policy`);
    }
    if (issuer.iss !== undefined && issuer.iss !== statement.iss) {
      throw new HttpProblem(400, 'Rejected', `statement iss "${statement.iss}" is not the iss "${issuer.iss}" the policy binds to this key`);
    }
    if (statement.sign1.payload === null) {
      throw new HttpProblem(400, 'Payload Missing', 'statement payload is detached; register a statement with its payload (a hash envelope keeps it small)');
    }
    try {
      verifySignedStatement(statement, issuer.key);
    } catch (e) {
      const code = (e as ScittError).code;
      throw new HttpProblem(400, code === 'ERR_COSE_ALG_KEY_MISMATCH' ? 'Bad Signature Algorithm' : 'Rejected', `${(e as Error).message} [${code}]`);
    }
    return statement;
  }
}
