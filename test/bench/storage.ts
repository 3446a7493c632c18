/**
 * Statement discovery from a real OCI registry (Debian's docker-registry, started and stopped here):
 * an image with 10 Transparent Statements attached as referrers; discover + fetch them all. Latency
 * is the median of 15 runs (the fastest run in brackets); HTTP round trips are counted by the client, against the statement count.
 *
 *   - docker-registry has no referrers API: a fresh client asks the API (404), reads the referrers
 *     tag index, then fetches each statement blob named in the index annotations;
 *   - a client that already knows the API is missing skips the 404;
 *   - the same registry behind a proxy that adds the referrers API (distribution-spec 1.1);
 *   - baseline: the same discovery without this project's annotations (as for referrers pushed by
 *     other tools): one manifest fetch more per statement.
 */
import { fileURLToPath } from 'node:url';
import { OciStatementStore } from '../../packages/core/src/storage/oci/store.ts';
import { pushTestImage, rawPutManifest, startRegistry } from '../../packages/core/test/helpers/storage-registry.ts';
import { startReferrersProxy } from '../../packages/core/test/helpers/storage-referrers-server.ts';
import { ociSub, statementItem, transparentStatement } from '../../packages/core/test/helpers/storage-statements.ts';
import { median, row, title } from './stats.ts';

const STATEMENTS = 10;
const RUNS = 15;

async function measure(discover: () => Promise<{ statements: unknown[]; requests: number }>): Promise<{ ms: number; min: number; requests: number }> {
  await discover(); // warm up connections
  const times: number[] = [];
  let requests = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    const r = await discover();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.statements.length !== STATEMENTS) throw new Error(`benchmark setup: discovered ${r.statements.length} statements, expected ${STATEMENTS}`);
    requests = r.requests;
  }
  return { ms: median(times), min: Math.min(...times), requests };
}

export async function bench(): Promise<void> {
  title(`OCI referrers: discover + fetch ${STATEMENTS} Transparent Statements from a local docker-registry (medians of ${RUNS} runs)`);
  const registry = await startRegistry();
  const proxy = await startReferrersProxy({ upstream: registry.url });
  try {
    const setup = async (host: string, url: string, repository: string) => {
      const subject = await pushTestImage(url, repository, 'v1');
      const sha256 = subject.digest.slice(7);
      const artifact = { name: `${host}/${repository}`, sha256 };
      const items = [];
      for (let i = 0; i < STATEMENTS; i++) items.push(statementItem((await transparentStatement(ociSub('app', sha256, `${host}/${repository}`))).transparent));
      const t0 = process.hrtime.bigint();
      const store = new OciStatementStore({ registry: host, repository });
      await store.attach(artifact, items);
      return { artifact, subject, attachMs: Number(process.hrtime.bigint() - t0) / 1e6, attachRequests: store.requests };
    };

    const plain = await setup(registry.host, registry.url, 'bench/tag-schema');
    const fresh = await measure(() => new OciStatementStore({ registry: registry.host, repository: 'bench/tag-schema' }).discover(plain.artifact));
    const known = new OciStatementStore({ registry: registry.host, repository: 'bench/tag-schema', tagSchemaOnly: true });
    const warm = await measure(() => known.discover(plain.artifact));

    const api = await setup(proxy.host, proxy.url, 'bench/api');
    const viaApi = await measure(() => new OciStatementStore({ registry: proxy.host, repository: 'bench/api' }).discover(api.artifact));

    // the tag index without this project's annotations: what referrers pushed by other tools cost
    const index = (await (await fetch(`${registry.url}/v2/bench/tag-schema/manifests/${plain.subject.digest.replace(':', '-')}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } })).json()) as {
      manifests: { annotations?: unknown }[];
    };
    await rawPutManifest(registry.url, 'bench/tag-schema', { ...index, manifests: index.manifests.map(({ annotations: _, ...d }) => d) }, plain.subject.digest.replace(':', '-'));
    const bare = await measure(() => new OciStatementStore({ registry: registry.host, repository: 'bench/tag-schema', tagSchemaOnly: true }).discover(plain.artifact));

    const per = (r: { requests: number }) => `${(r.requests / STATEMENTS).toFixed(1)} per statement`;
    const ms = (r: { ms: number; min: number }) => `${r.ms.toFixed(1)} ms (${r.min.toFixed(1)})`;
    row(`attach ${STATEMENTS} statements (tag schema; one call)`, `${plain.attachMs.toFixed(1)} ms`, `${plain.attachRequests} requests`);
    row('discover, new client: API 404, tag index, blobs', ms(fresh), `${fresh.requests} requests (${per(fresh)})`);
    row('discover, client knows no API: tag index, blobs', ms(warm), `${warm.requests} requests (${per(warm)})`);
    row('discover via the referrers API (proxy adds it)', ms(viaApi), `${viaApi.requests} requests (${per(viaApi)})`);
    row('baseline, no annotations: tag index, manifest+blob each', ms(bare), `${bare.requests} requests (${per(bare)}), ${(bare.ms / warm.ms).toFixed(2)}x the time`);
  } finally {
    await proxy.close();
    await registry.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
