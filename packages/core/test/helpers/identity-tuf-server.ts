/**
 * A TUF repository (@tufjs/repo-mock's signed metadata) served over loopback HTTP, laid out like the
 * Sigstore mirror: metadata at the root, targets under /targets. It serves a given trusted_root.json
 * so the @sigstore/tuf code path runs without the network.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { initializeTUFRepo, tufHandlers } from '@tufjs/repo-mock';

export interface TufServer {
  readonly mirrorURL: string;
  /** the repository's initial root.json on disk (what a client must trust first) */
  readonly rootPath: string;
  /** a fresh, empty cache directory */
  readonly cachePath: string;
  /** a scratch directory removed on close */
  readonly dir: string;
  readonly requests: readonly string[];
  close(): Promise<void>;
}

export async function startTufServer(trustedRootJson: string): Promise<TufServer> {
  const repo = initializeTUFRepo([{ name: 'trusted_root.json', content: trustedRootJson }]);
  const handlers = new Map(tufHandlers(repo, { metadataPathPrefix: '', targetPathPrefix: '/targets' }).map((h) => [h.path, h.fn]));
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const fn = req.method === 'GET' ? handlers.get(req.url ?? '') : undefined;
    const out = fn ? fn() : { statusCode: 404, response: '' };
    res.writeHead(out.statusCode, { 'content-type': out.contentType ?? 'application/octet-stream' });
    res.end(out.response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'scitt-tuf-'));
  const rootPath = join(dir, 'root.json');
  writeFileSync(rootPath, JSON.stringify(repo.rootMeta.toJSON()));
  return {
    mirrorURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    rootPath,
    cachePath: join(dir, 'cache'),
    dir,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }).finally(() => rmSync(dir, { recursive: true, force: true })),
  };
}
