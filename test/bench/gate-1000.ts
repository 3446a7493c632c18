/**
 * `./dev bench gate-1000`: the release gate offline (`scitt verify --artifact 'dist/*.bin'` with a
 * service key file, a child process under /usr/bin/time -v) on 1,000 artifacts with 2 Transparent
 * Statements each (an SBOM and a second SBOM revision), registered on a real `scitt serve`: wall time
 * and peak RSS, median of RUNS, against the baseline of 1 artifact with its 2 statements; beside them
 * the process's CPU time (user + system), which a loaded machine inflates far less than wall time.
 * Goal (issue #16): under 3 s and under 300 MiB on this project's 2-core machine.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey, publicKey, toPem } from '../../packages/core/src/cose/key.ts';
import { keyIssuerSigner } from '../../packages/core/src/identity/signer.ts';
import { attachReceipts } from '../../packages/core/src/receipt/transparent.ts';
import { ScrapiClient } from '../../packages/core/src/scrapi/client.ts';
import { issueSignedStatement } from '../../packages/core/src/statement/issue.ts';
import { alternateStatementName, statementName } from '../../packages/core/src/storage/naming.ts';
import { SCITT_MAIN, startService } from '../helpers/transparency-service.ts';
import { median, row, title } from './stats.ts';

const ARTIFACTS = 1000;
const RUNS = 3;
const REPO = join(import.meta.dirname, '..', '..');

function gate(cwd: string, glob: string): { rssMiB: number; seconds: number; cpuSeconds: number; exit: number } {
  const started = performance.now();
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, SCITT_MAIN, 'verify', '--artifact', glob, '--ts-keys', 'ts-keys.cbor', '--issuer-key', 'issuer.pub.pem', '--require', 'sbom'], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = (performance.now() - started) / 1000;
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const cpu = ['User', 'System'].map((k) => Number(new RegExp(`${k} time \\(seconds\\): ([\\d.]+)`).exec(r.stderr)?.[1] ?? Number.NaN));
  return { rssMiB: rss ? Number(rss[1]) / 1024 : Number.NaN, seconds, cpuSeconds: cpu[0]! + cpu[1]!, exit: r.status ?? -1 };
}

/** `n` artifacts in dir/dist, each with two registered SBOM statements beside it; the service stopped afterwards (offline gate). */
async function buildRelease(dir: string, n: number): Promise<void> {
  const key = generateKey('P-256');
  writeFileSync(join(dir, 'issuer.pub.pem'), toPem(publicKey(key)));
  mkdirSync(join(dir, 'dist'));
  const ts = await startService({ issuers: [publicKey(key)] });
  try {
    execFileSync(process.execPath, [SCITT_MAIN, 'keys', '--ts', ts.url, '--out', join(dir, 'ts-keys.cbor')]);
    const client = new ScrapiClient({ url: ts.url });
    const signer = keyIssuerSigner(key);
    const sbom = readFileSync(join(REPO, 'test/fixtures/sample-sbom.cdx.json'));
    const revised = Buffer.from(JSON.stringify({ ...JSON.parse(sbom.toString()), version: 2 }));
    const jobs: (() => Promise<void>)[] = [];
    for (let i = 0; i < n; i++) {
      const name = `pkg-${String(i).padStart(4, '0')}.bin`;
      const bytes = `artifact ${i}\n`;
      writeFileSync(join(dir, 'dist', name), bytes);
      const sub = `pkg:generic/${name}?checksum=sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      for (const [j, payload] of [sbom, revised].entries()) {
        jobs.push(async () => {
          const statement = await issueSignedStatement({ payload, contentType: 'application/vnd.cyclonedx+json', iss: 'https://acme.example/releases', sub, signer });
          const { receipt } = await client.register(statement);
          const file = j === 0 ? statementName(name) : alternateStatementName(name, createHash('sha256').update(statement).digest('hex'));
          writeFileSync(join(dir, 'dist', file), attachReceipts(statement, [receipt!]));
        });
      }
    }
    // 16 registrations in flight: the service commits them in batches
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < jobs.length) await jobs[next++]!();
    }));
  } finally {
    await ts.stop();
  }
}

export async function bench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-gate-1000-'));
  try {
    title(`release gate offline: ${ARTIFACTS.toLocaleString('en-US')} artifacts × 2 statements (scitt verify --artifact, key files only)`);
    await buildRelease(dir, ARTIFACTS);
    // baseline: one artifact with its two statements, the same way
    const one = join(dir, 'one');
    mkdirSync(join(one, 'dist'), { recursive: true });
    for (const f of ['ts-keys.cbor', 'issuer.pub.pem']) cpSync(join(dir, f), join(one, f));
    for (const f of execFileSync('ls', [join(dir, 'dist')], { encoding: 'utf8' }).split('\n').filter((f) => f.startsWith('pkg-0000.bin'))) cpSync(join(dir, 'dist', f), join(one, 'dist', f));
    const runs = { many: [] as ReturnType<typeof gate>[], one: [] as ReturnType<typeof gate>[] };
    for (let r = 0; r < RUNS; r++) {
      runs.one.push(gate(one, 'dist/*.bin'));
      runs.many.push(gate(dir, 'dist/*.bin'));
    }
    for (const x of [...runs.one, ...runs.many]) if (x.exit !== 0) throw new Error(`the gate refused the benchmark release (exit ${x.exit})`);
    const t = (xs: ReturnType<typeof gate>[]) => median(xs.map((x) => x.seconds));
    const m = (xs: ReturnType<typeof gate>[]) => median(xs.map((x) => x.rssMiB));
    const c = (xs: ReturnType<typeof gate>[]) => median(xs.map((x) => x.cpuSeconds));
    row('1 artifact, 2 statements (baseline: process start, keys)', `${t(runs.one).toFixed(2)} s`, `${m(runs.one).toFixed(0)} MiB peak RSS, ${c(runs.one).toFixed(2)} s CPU`);
    row(`${ARTIFACTS} artifacts, ${2 * ARTIFACTS} statements`, `${t(runs.many).toFixed(2)} s`, `${m(runs.many).toFixed(0)} MiB peak RSS, ${c(runs.many).toFixed(2)} s CPU (goal < 3 s, < 300 MiB)`);
    const per = (f: (xs: ReturnType<typeof gate>[]) => number) => `${(((f(runs.many) - f(runs.one)) * 1000) / (ARTIFACTS - 1)).toFixed(2)} ms`;
    row('per artifact beyond the baseline', per(t), `${per(c)} CPU`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
