/**
 * A Docker token authentication service (distribution's docs/spec/auth/token.md and jwt.md) for a
 * real docker-registry configured with `auth.token`: GET /token?service=&scope= (Basic credentials
 * or anonymous) and POST /token (OAuth2 refresh_token grant, for docker config identity tokens)
 * answer {token, access_token, expires_in, issued_at}, a JWT signed ES256 by a self-signed
 * certificate the registry trusts (its `rootcertbundle`), carried in the JWT's x5c header. Access is
 * granted per user and repository; what is not granted is left out of the token, so the registry
 * itself refuses the request — as with a real token service.
 */
import { createPrivateKey, randomBytes, sign, webcrypto } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { x509 } from '../../src/identity/x509.ts';

export interface TokenServerOptions {
  /** directory to write the certificate bundle into */
  dir: string;
  service?: string;
  issuer?: string;
  /** user → password and the actions granted on every repository */
  users: Record<string, { password: string; actions: ('pull' | 'push')[] }>;
  /** actions granted without credentials */
  anonymous?: ('pull' | 'push')[];
  /** refresh token → user, for the OAuth2 grant */
  refreshTokens?: Record<string, string>;
}

export interface TokenRequest {
  method: string;
  user: string | undefined;
  scopes: string[];
  granted: string[];
  status: number;
}

export interface TokenServer {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  readonly rootCertBundle: string;
  readonly requests: TokenRequest[];
  close(): Promise<void>;
}

const b64url = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');

export async function startTokenServer(o: TokenServerOptions): Promise<TokenServer> {
  const service = o.service ?? 'scitt-test-registry';
  const issuer = o.issuer ?? 'scitt-test-token-issuer';
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex').replace(/^[89a-f]/, '1'),
    name: 'CN=scitt-actions test token service',
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 86_400_000),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    keys,
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true), new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const rootCertBundle = join(o.dir, 'token-root.pem');
  await writeFile(rootCertBundle, cert.toString('pem'));
  const privateKey = createPrivateKey({ key: Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), format: 'der', type: 'pkcs8' });
  const requests: TokenRequest[] = [];

  const jwt = (sub: string, access: { type: string; name: string; actions: string[] }[]) => {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'ES256', x5c: [Buffer.from(cert.rawData).toString('base64')] };
    const claims = { iss: issuer, sub, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    return `${input}.${b64url(sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }))}`;
  };

  const grant = (user: string | undefined, scopes: string[]) => {
    const allowed = new Set(user ? o.users[user]!.actions : (o.anonymous ?? []));
    return scopes
      .map((s) => /^repository:([^:]+):(.+)$/.exec(s))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ type: 'repository', name: m[1]!, actions: m[2]!.split(',').filter((a) => allowed.has(a as 'pull')) }));
  };

  const reply = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url!, 'http://x');
    if (url.pathname !== '/token') return reply(res, 404, { error: 'not found' });
    let user: string | undefined;
    let scopes: string[];
    if (req.method === 'POST') {
      let body = '';
      for await (const c of req) body += c;
      const form = new URLSearchParams(body);
      user = o.refreshTokens?.[form.get('refresh_token') ?? ''];
      scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      if (form.get('grant_type') !== 'refresh_token' || !user || form.get('service') !== service) {
        requests.push({ method: 'POST', user, scopes, granted: [], status: 401 });
        return reply(res, 401, { error: 'invalid_grant' });
      }
      const access = grant(user, scopes);
      requests.push({ method: 'POST', user, scopes, granted: access.map((a) => `${a.name}:${a.actions.join(',')}`), status: 200 });
      return reply(res, 200, { access_token: jwt(user, access), expires_in: 300, scope: scopes.join(' ') });
    }
    scopes = url.searchParams.getAll('scope');
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (basic) {
      const [name, password] = Buffer.from(basic[1]!, 'base64').toString().split(/:(.*)/s) as [string, string];
      if (o.users[name]?.password !== password) {
        requests.push({ method: 'GET', user: name, scopes, granted: [], status: 401 });
        return reply(res, 401, { details: 'incorrect username or password' });
      }
      user = name;
    }
    if (url.searchParams.get('service') !== service) return reply(res, 400, { details: 'unknown service' });
    const access = grant(user, scopes);
    requests.push({ method: 'GET', user, scopes, granted: access.map((a) => `${a.name}:${a.actions.join(',')}`), status: 200 });
    const token = jwt(user ?? '', access);
    reply(res, 200, { token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => reply(res, 500, { error: e.message }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const realm = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  return {
    realm,
    service,
    issuer,
    rootCertBundle,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
