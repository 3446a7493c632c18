/** `scitt serve --rotate-key URL`: the admin verb rotates a running service's key; without the token it is refused. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey, publicKey } from '@scitt-actions/core';
import { decodeKeySet } from '@scitt-actions/core/cose';
import { scitt } from '../../../test/helpers/cli.ts';
import { type ServiceProcess, startService } from '../../../test/helpers/transparency-service.ts';

const dir = mkdtempSync(join(tmpdir(), 'scitt-rot-cli-'));
const tokenFile = join(dir, 'admin-token');
const wrongFile = join(dir, 'wrong-token');
writeFileSync(tokenFile, 'the-admin-token-0123456789abcdef\n', { mode: 0o600 });
writeFileSync(wrongFile, 'not-the-admin-token\n', { mode: 0o600 });

describe('scitt serve --rotate-key', () => {
  let ts: ServiceProcess;
  beforeAll(async () => {
    ts = await startService({ issuers: [publicKey(generateKey('P-256'))], args: ['--admin-token-file', tokenFile] });
  });
  afterAll(async () => {
    if (ts) await ts.stop();
  });

  it('rotates with the admin token, prints the new kid; refuses a wrong token and a missing one', async () => {
    const wrong = await scitt(['serve', '--rotate-key', ts.url, '--admin-token-file', wrongFile], dir);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/refused to rotate its key \(401 Unauthorized.*\[ERR_SCRAPI_REFUSED\]/);
    const none = await scitt(['serve', '--rotate-key', ts.url], dir, { SCITT_TS_ADMIN_TOKEN: '' });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--rotate-key needs the admin token/);

    const ok = await scitt(['serve', '--rotate-key', ts.url, '--admin-token-file', tokenFile, '--json'], dir);
    expect(ok.code, ok.stderr).toBe(0);
    const { result } = JSON.parse(ok.stdout) as { result: { kid: string; previousKid: string } };
    const keys = decodeKeySet(new Uint8Array(await (await fetch(`${ts.url}/.well-known/scitt-keys`)).arrayBuffer()));
    expect(keys.map((k) => Buffer.from(k.kid!).toString('base64url'))).toEqual([result.previousKid, result.kid]);
  });
});
