/** Statement names say what they hold (issue #15), and discovery keeps reading the names written before. */
import { describe, expect, it } from 'vitest';
import { generateKey } from '../src/cose/key.ts';
import { keyIssuerSigner } from '../src/identity/signer.ts';
import { issueSignedStatement } from '../src/statement/issue.ts';
import { parseSignedStatement } from '../src/statement/signed-statement.ts';
import { candidateNames, isStatementNameFor, kindStatementName, statementKindForName } from '../src/storage/naming.ts';

const signer = keyIssuerSigner(generateKey('P-256'));
const id = 'ab'.repeat(32);
const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const provenance = json({ _type: 'https://in-toto.io/Statement/v1', subject: [], predicateType: 'https://slsa.dev/provenance/v1', predicate: {} });
const vsa = json({ _type: 'https://in-toto.io/Statement/v1', subject: [], predicateType: 'https://slsa.dev/verification_summary/v1', predicate: {} });

async function statement(payload: Uint8Array, contentType: string | undefined, hashEnvelope = false) {
  return parseSignedStatement(
    await issueSignedStatement({
      payload: hashEnvelope ? new Uint8Array(32) : payload,
      signer,
      iss: 'https://e.x',
      sub: 'pkg:generic/app.tgz@1',
      ...(hashEnvelope ? { hashEnvelope: { hashAlg: -16, ...(contentType ? { preimageContentType: contentType } : {}) } } : contentType ? { contentType } : {}),
    }),
  );
}

describe('statement names', () => {
  it('name the kind, and a second statement of one kind by a short id', () => {
    expect(candidateNames('app.tgz', id, 'sbom')).toEqual(['app.tgz.sbom.scitt', `app.tgz.sbom.${id.slice(0, 12)}.scitt`]);
    expect(candidateNames('app.tgz', id, 'provenance')).toEqual(['app.tgz.provenance.scitt', `app.tgz.provenance.${id.slice(0, 12)}.scitt`]);
    expect(candidateNames('app.tgz', id)).toEqual(['app.tgz.scitt', `app.tgz.${id.slice(0, 16)}.scitt`]);
  });

  it('are all found by discovery, old and new, and nothing else is', () => {
    for (const n of ['app.tgz.scitt', `app.tgz.${id.slice(0, 16)}.scitt`, 'app.tgz.sbom.scitt', kindStatementName('app.tgz', 'scan', id), 'app.tgz.in-toto.scitt']) {
      expect(isStatementNameFor('app.tgz', n), n).toBe(true);
    }
    for (const n of ['app.tgz.pdf.scitt', 'app.tgz.sbom.xyz.scitt', `app.tgz.sbom.${id.slice(0, 16)}.scitt`, 'app.tgz.sbom.scitt.bak', 'other.tgz.sbom.scitt', 'app.tgz.sbom.a.b.scitt']) {
      expect(isStatementNameFor('app.tgz', n), n).toBe(false);
    }
  });

  it('take the kind from the content type, and provenance from the in-toto predicate type', async () => {
    expect(statementKindForName(await statement(json({ bomFormat: 'CycloneDX' }), 'application/vnd.cyclonedx+json'))).toBe('sbom');
    expect(statementKindForName(await statement(json({}), 'application/spdx+json; charset=utf-8'))).toBe('sbom');
    expect(statementKindForName(await statement(json({}), 'application/sarif+json'))).toBe('scan');
    expect(statementKindForName(await statement(provenance, 'application/vnd.in-toto+json'))).toBe('provenance');
    expect(statementKindForName(await statement(vsa, 'application/vnd.in-toto+json'))).toBe('in-toto');
    expect(statementKindForName(await statement(json({}), 'application/json'))).toBeUndefined();
    expect(statementKindForName(await statement(json({}), undefined))).toBeUndefined();
  });

  it('for a hash envelope, from the preimage content type, and the evidence given with it', async () => {
    expect(statementKindForName(await statement(provenance, 'application/vnd.cyclonedx+json', true))).toBe('sbom');
    const envelope = await statement(provenance, 'application/vnd.in-toto+json', true);
    expect(statementKindForName(envelope, provenance)).toBe('provenance');
    expect(statementKindForName(envelope)).toBe('in-toto'); // without the evidence, only what the statement says
  });
});
