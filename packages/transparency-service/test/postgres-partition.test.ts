/**
 * A network partition between one replica and the database (issue #18): replica A reaches PostgreSQL
 * through a TCP relay in this process, replica B directly. A integrates first; then the relay silently
 * drops every byte both ways (no reset: what a partition looks like). While cut off, A acknowledges
 * nothing (no 201, no 303: it never acknowledges what it could not write), B takes over integration once
 * the server ends A's silent session, and everything acknowledged by either is on the log and verifies.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { generateKey, toPem } from '@scitt-actions/core';
import { statementEntry, verifyReceipt } from '@scitt-actions/core/receipt';
import { parseSignedStatement } from '@scitt-actions/core/statement';
import { KEY_FILE } from '../src/service-key.ts';
import { type ServiceProcess, startService } from '../../../test/helpers/transparency-service.ts';
import { type PostgresServer, startPostgres } from '../../../test/helpers/postgres.ts';
import { serviceKeys } from '../../../test/helpers/ts-tools.ts';
import { outcome, post, statementBy } from './helpers.ts';

/** A TCP relay to the database that can be cut (bytes dropped both ways, connections left open). */
async function relay(port: number): Promise<{ url: (db: PostgresServer) => string; cut: () => void; close: () => void }> {
  let cut = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (d) => !cut && upstream.write(d));
    upstream.on('data', (d) => !cut && client.write(d));
    client.on('end', () => !cut && upstream.end());
    upstream.on('end', () => !cut && client.end());
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const relayPort = (server.address() as { port: number }).port;
  return {
    url: (db) => db.url.replace(`:${db.port}/`, `:${relayPort}/`),
    cut: () => (cut = true),
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

const entryIdOf = (s: Uint8Array) => createHash('sha256').update(statementEntry(parseSignedStatement(s))).digest('hex');

describe('PostgreSQL store: a replica partitioned from the database', () => {
  let db: PostgresServer | undefined;
  const replicas: ServiceProcess[] = [];
  let close = () => undefined as void;
  afterAll(async () => {
    close();
    await Promise.allSettled(replicas.map((r) => r.kill()));
    await db?.stop();
  });

  it('acknowledges nothing while cut off; the other replica takes over; nothing acknowledged is lost', async () => {
    db = await startPostgres();
    const r = await relay(db.port);
    close = r.close;
    const keyPem = toPem(generateKey('P-256'), { includePrivate: true });
    const dir = () => {
      const d = mkdtempSync(join(tmpdir(), 'scitt-replica-'));
      writeFileSync(join(d, KEY_FILE), keyPem, { mode: 0o600 });
      return d;
    };
    const issuer = generateKey('P-256');
    const args = (url: string) => ['--store', url, '--iss', 'https://ts.example', '--rate', '0', '--sync-wait', '3000'];
    const a = await startService({ dataDir: dir(), args: args(r.url(db)), issuers: [issuer] });
    replicas.push(a);
    const b = await startService({ dataDir: dir(), args: args(db.url) });
    replicas.push(b);
    expect(a.stderr()).toContain('took the integrator lock');
    const keys = await serviceKeys(b.url);

    const acked: Uint8Array[] = [];
    for (let i = 0; i < 10; i++) {
      const s = await statementBy(issuer);
      const res = await post(i % 2 ? a.url : b.url, s);
      expect(res.status).toBe(201);
      acked.push(s);
    }

    r.cut();
    // Registrations sent to A while it is cut off: each answered, none acknowledged.
    const cutOff = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const s = await statementBy(issuer);
        const res = await post(a.url, s);
        await res.arrayBuffer();
        return res.status;
      }),
    );
    for (const status of cutOff) expect([201, 303]).not.toContain(status);
    // B integrates now (the server ended A's silent session and its lock).
    const deadline = Date.now() + 30_000;
    while (!b.stderr().includes('took the integrator lock')) {
      if (Date.now() > deadline) throw new Error(`replica B did not take over:\n${b.stderr()}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    for (let i = 0; i < 5; i++) {
      const s = await statementBy(issuer);
      const res = await post(b.url, s);
      expect(res.status).toBe(201);
      acked.push(s);
    }
    for (const s of acked) {
      const res = await outcome(b.url, `/entries/${entryIdOf(s)}`);
      expect(res.status).toBe(200);
      verifyReceipt(new Uint8Array(await res.arrayBuffer()), statementEntry(parseSignedStatement(s)), keys);
    }
    process.stdout.write(`postgres partition: replica cut off answered ${cutOff.join(', ')}; the other took over and integrated\n`);
  }, 300_000);
});
