/** Prometheus /metrics of a running service: registrations by status, batch sizes, commit latency, queue depth, tree size. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey, publicKey } from '@scitt-actions/core';
import { type ServiceProcess, startService } from '../../../test/helpers/transparency-service.ts';
import { post, statementBy } from './helpers.ts';

const issuer = generateKey('P-256');
const stranger = generateKey('P-256');

/** `name{labels} value` lines of the text exposition format, by series. */
async function scrape(url: string): Promise<Map<string, number>> {
  const r = await fetch(`${url}/metrics`);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const series = new Map<string, number>();
  for (const line of (await r.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

describe('GET /metrics', () => {
  let ts: ServiceProcess;
  beforeAll(async () => {
    ts = await startService({ issuers: [publicKey(issuer)], args: ['--rate', '0'] });
  });
  afterAll(async () => {
    if (ts) await ts.stop();
  });

  it('counts registrations by status and observes batches', async () => {
    const before = await scrape(ts.url);
    const size0 = before.get('scitt_ts_tree_size')!;
    const statements = await Promise.all(Array.from({ length: 20 }, () => statementBy(issuer)));
    const answers = await Promise.all(statements.map((s) => post(ts.url, s)));
    expect(answers.every((a) => a.status === 201)).toBe(true);
    const refused = await post(ts.url, await statementBy(stranger));
    expect(refused.status).toBe(400);
    const after = await scrape(ts.url);
    expect(after.get('scitt_ts_registrations_total{status="201"}')! - (before.get('scitt_ts_registrations_total{status="201"}') ?? 0)).toBe(20);
    expect(after.get('scitt_ts_registrations_total{status="400"}')).toBe(1);
    expect(after.get('scitt_ts_tree_size')).toBe(size0 + 20);
    expect(after.get('scitt_ts_queue_depth')).toBe(0);
    expect(after.get('scitt_ts_service_keys')).toBe(1);
    // 20 registrations in at least one and at most 20 batches; every batch has a commit time
    const batches = after.get('scitt_ts_batch_size_count')! - (before.get('scitt_ts_batch_size_count') ?? 0);
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(batches).toBeLessThanOrEqual(20);
    expect(after.get('scitt_ts_batch_size_sum')! - (before.get('scitt_ts_batch_size_sum') ?? 0)).toBe(20);
    expect(after.get('scitt_ts_commit_duration_seconds_count')).toBe(after.get('scitt_ts_batch_size_count'));
    expect(after.get('scitt_ts_commit_duration_seconds_bucket{le="+Inf"}')).toBe(after.get('scitt_ts_batch_size_count'));
  });
});
