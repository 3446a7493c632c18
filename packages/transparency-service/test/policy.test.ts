import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../src/registration-policy.ts';

describe('registration policy parsing (admin input)', () => {
  it('refuses what is not a policy object, and x509 roots that are not certificates', () => {
    expect(() => parsePolicy('[]')).toThrow(/must be a JSON object/);
    expect(() => parsePolicy('{"issuers": {}}')).toThrow(/"issuers" must be an array/);
    expect(() => parsePolicy('{"x509": {"roots": ["-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----"], "identity": {"repo": "a/b"}}}')).toThrow(/x509.roots/);
    expect(() => parsePolicy('{"x509": {"roots": [], "identity": {"repo": "a/b"}}}')).toThrow(/at least one trust anchor/);
    expect(parsePolicy('{}')).toEqual({ version: 1, issuers: [], maxStatementBytes: 1024 * 1024 });
  });
});
