/**
 * An HTTP proxy as its own process, recording what it carries: one stdout line per request, "CONNECT
 * host:port" for a tunnel (HTTPS, or HTTP through Node's proxy support) and "GET http://…" for a
 * forwarded request. Its first line is its URL. Run directly (`node recording-proxy.ts`), or started
 * from a test with startRecordingProxy().
 */
import { spawn } from 'node:child_process';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface RecordingProxy {
  readonly url: string;
  /** every request carried so far, in order */
  carried(): string[];
  stop(): Promise<void>;
}

export async function startRecordingProxy(): Promise<RecordingProxy> {
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buf = '';
  const url = await new Promise<string>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`recording proxy exited ${code}`)));
    proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (lines.length === 1) resolve(lines[0]!);
      }
    });
  });
  return {
    url,
    carried: () => lines.slice(1),
    stop: () =>
      new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

function serve(): void {
  const record = (line: string) => process.stdout.write(`${line}\n`);
  const server = createServer((req, res) => {
    record(`${req.method} ${req.url}`);
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('absolute URL expected');
      return;
    }
    const upstream = request({ host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.on('connect', (req, socket, head) => {
    record(`CONNECT ${req.url}`);
    const at = (req.url ?? '').lastIndexOf(':');
    const upstream = connect(Number((req.url ?? '').slice(at + 1)), (req.url ?? '').slice(0, at).replace(/^\[|\]$/g, ''), () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  server.listen(0, '127.0.0.1', () => {
    const a = server.address() as { port: number };
    record(`http://127.0.0.1:${a.port}`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) serve();
