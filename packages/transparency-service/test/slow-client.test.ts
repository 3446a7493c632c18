/** Slow-loris: a client that trickles its request never gets the whole of it accepted, and is cut off. */
import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ServiceProcess, startService } from '../../../test/helpers/transparency-service.ts';

let ts: ServiceProcess;
beforeAll(async () => {
  ts = await startService();
});
afterAll(async () => {
  await ts.stop();
});

it('a request that dribbles one header line a second is closed by the 10 s request timeout', async () => {
  const { hostname, port } = new URL(ts.url);
  const started = Date.now();
  const closedAfter = await new Promise<number>((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write('POST /entries HTTP/1.1\r\nHost: x\r\n'));
    let n = 0;
    const drip = setInterval(() => socket.writable && socket.write(`X-Slow-${n++}: a\r\n`), 1000);
    socket.on('data', () => undefined);
    socket.on('close', () => {
      clearInterval(drip);
      resolve(Date.now() - started);
    });
    socket.on('error', () => undefined);
    setTimeout(() => {
      clearInterval(drip);
      socket.destroy();
      reject(new Error('the service kept a dribbling client for 25 s'));
    }, 25_000).unref();
  });
  expect(closedAfter).toBeGreaterThan(9_000);
  expect(closedAfter).toBeLessThan(20_000);
  // and the service still serves everyone else
  expect((await fetch(`${ts.url}/health`)).status).toBe(200);
}, 30_000);
