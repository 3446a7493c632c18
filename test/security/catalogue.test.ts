/** One test per row of the hostile-input catalogue (catalogue.ts); see CATALOGUE.md. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PostgresServer, replicaDataDir, startPostgres } from '../helpers/postgres.ts';
import { type ServiceProcess, startService } from '../helpers/transparency-service.ts';
import { ADMIN_TOKEN, CATALOGUE, type Ctx, type Outcome } from './catalogue.ts';
import { CATALOGUE_MD, renderCatalogue } from './render-catalogue.ts';
import { issuer } from './helpers.ts';

let ts: ServiceProcess;
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'scitt-catalogue-'));
  ts = await startService({ issuers: [issuer.pub], env: { SCITT_TS_ADMIN_TOKEN: ADMIN_TOKEN } });
});

afterAll(async () => {
  expect(await ts.stop()).toBe(0);
  rmSync(tmp, { recursive: true, force: true });
});

const show = (o: Outcome) => JSON.stringify(o, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v)).slice(0, 600);

describe('hostile input catalogue', () => {
  it('CATALOGUE.md is generated from the table (node test/security/render-catalogue.ts)', () => {
    expect(readFileSync(CATALOGUE_MD, 'utf8')).toBe(renderCatalogue());
    expect(new Set(CATALOGUE.map((r) => r.id)).size).toBe(CATALOGUE.length);
  });

  for (const r of CATALOGUE) {
    it(`${r.id}: ${r.what} → ${r.entry.label}`, () => checkRow(r, ts.url, join(tmp, r.id)));
  }
});

describe('hostile input catalogue: the HTTP rows against the PostgreSQL store', () => {
  let db: PostgresServer | undefined;
  let pg: ServiceProcess | undefined;
  beforeAll(async () => {
    db = await startPostgres();
    pg = await startService({ dataDir: replicaDataDir(), issuers: [issuer.pub], args: ['--store', db.url], env: { SCITT_TS_ADMIN_TOKEN: ADMIN_TOKEN } });
  });
  afterAll(async () => {
    if (pg) expect(await pg.stop()).toBe(0);
    await db?.stop();
  });

  for (const r of CATALOGUE.filter((row) => row.entry.kind === 'http')) {
    it(`${r.id}: ${r.what} → ${r.entry.label}`, () => checkRow(r, pg!.url, join(tmp, `pg-${r.id}`)));
  }
});

async function checkRow(r: (typeof CATALOGUE)[number], url: string, dir: string): Promise<void> {
  mkdirSync(dir);
  const ctx: Ctx = { dir, ts: { url, adminToken: ADMIN_TOKEN } };
  const input = await r.build(ctx);
  const o = await r.entry.run(input, ctx);
  const e = r.expect;
  if ('ok' in e) {
    expect(o.kind, show(o)).toBe('ok');
  } else if ('code' in e && !('exit' in e)) {
    expect(o.kind, show(o)).toBe('error');
    if (o.kind !== 'error') return;
    expect(o.typed, `not a ScittError: ${o.code}: ${o.message}`).toBe(true);
    expect(o.code, o.message).toBe(e.code);
  } else if ('exit' in e) {
    expect(o.kind).toBe('exit');
    if (o.kind !== 'exit') return;
    expect(o.exit, `${o.stdout}\n${o.stderr}`).toBe(e.exit);
    if (e.code) expect(`${o.stdout}\n${o.stderr}`).toContain(e.code);
  } else {
    expect(o.kind).toBe('http');
    if (o.kind !== 'http') return;
    expect(o.status, show(o)).toBe(e.status);
    if (e.status >= 400) {
      expect(o.headers['content-type']).toBe('application/concise-problem-details+cbor');
      expect(typeof o.title === 'string' && o.title.length > 0, 'problem details carry a title').toBe(true);
      expect(typeof o.detail).toBe('string');
    }
    if (e.title) expect(o.title).toBe(e.title);
    expect(o.sizeAfter - o.sizeBefore, 'tree size change').toBe(e.sizeDelta ?? 0);
  }
  await r.check?.(o, ctx, input);
}
