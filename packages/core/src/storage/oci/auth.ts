/**
 * Registry credentials and authentication challenges. Credentials come from the caller or from the
 * Docker client configuration (`$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`):
 * a credential helper (`credHelpers`, `credsStore`: `docker-credential-<name> get`) or an `auths`
 * entry (`auth` = base64 user:password, or username/password, or an `identitytoken`). A 401 answer's
 * `WWW-Authenticate` says how to use them (RFC 9110 §11.6.1): Basic goes straight to the registry,
 * Bearer asks the token service at `realm` for a token scoped to the repository (Docker token
 * authentication; OAuth2 refresh-token grant for identity tokens).
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { StorageError } from '../../errors.ts';

export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** an OAuth2 refresh token for the registry's token service (docker config `identitytoken`) */
  identityToken?: string;
  /** a registry bearer token to send as is */
  registryToken?: string;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate value into challenges: `Bearer realm="…",service="…",scope="…"`, `Basic realm="…"`. */
export function parseChallenges(header: string | null): Challenge[] {
  if (!header) return [];
  const out: Challenge[] = [];
  // tokens: a scheme, or name=value / name="quoted value" pairs, separated by commas and spaces
  const re = /\s*(?:([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))|([!#$%&'*+.^_`|~0-9A-Za-z-]+))\s*,?/gy;
  let m: RegExpExecArray | null;
  let current: Challenge | undefined;
  while (re.lastIndex < header.length && (m = re.exec(header))) {
    if (m[4] !== undefined) {
      current = { scheme: m[4].toLowerCase(), params: {} };
      out.push(current);
    } else if (current && m[1] !== undefined) {
      current.params[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
    }
    if (m[0] === '') break;
  }
  return out;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** Keys docker uses for a registry in config.json: Docker Hub's is the legacy index URL. */
function configKeys(registry: string): string[] {
  if (registry === 'docker.io' || registry === 'registry-1.docker.io' || registry === 'index.docker.io') {
    return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];
  }
  return [registry];
}

function normaliseKey(key: string): string {
  return key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
}

function runHelper(helper: string, serverUrl: string, timeoutMs = 10_000): Promise<{ Username?: string; Secret?: string } | undefined> {
  return new Promise((resolve) => {
    // node:child_process on first use: an ES import of it loads net and dgram at every start
    const child = process.getBuiltinModule('node:child_process').spawn(`docker-credential-${helper}`, ['get'], { stdio: ['pipe', 'pipe', 'ignore'], timeout: timeoutMs });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      if (out.length < 64 * 1024) out += c;
    });
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => {
      if (code !== 0) return resolve(undefined);
      try {
        resolve(JSON.parse(out) as { Username?: string; Secret?: string });
      } catch {
        resolve(undefined);
      }
    });
    child.stdin.end(serverUrl);
  });
}

export interface DockerConfigOptions {
  /** directory holding config.json; default $DOCKER_CONFIG, else ~/.docker */
  configDir?: string;
}

/** Credentials for `registry` from the Docker client configuration, if it has any. */
export async function dockerCredentials(registry: string, options: DockerConfigOptions = {}): Promise<RegistryCredentials | undefined> {
  const dir = options.configDir ?? process.env.DOCKER_CONFIG ?? join(homedir(), '.docker');
  let config: DockerConfig;
  try {
    config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as DockerConfig;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StorageError('ERR_STORAGE_AUTH', `cannot read ${join(dir, 'config.json')}: ${(e as Error).message}`, { cause: e });
  }
  const keys = configKeys(registry);
  const helper = keys.map((k) => config.credHelpers?.[k]).find(Boolean) ?? config.credsStore;
  if (helper) {
    const got = await runHelper(helper, keys[0]!);
    if (got?.Secret) return got.Username === '<token>' ? { identityToken: got.Secret } : { username: got.Username ?? '', password: got.Secret };
  }
  const entry = Object.entries(config.auths ?? {}).find(([k]) => keys.includes(k) || keys.includes(normaliseKey(k)))?.[1];
  if (!entry) return undefined;
  if (entry.identitytoken) return { identityToken: entry.identitytoken };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) throw new StorageError('ERR_STORAGE_AUTH', `the docker config entry for ${registry} has an auth value that is not base64 of user:password`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
  return undefined;
}

export function basicAuthorization(c: RegistryCredentials): string | undefined {
  return c.username !== undefined && c.password !== undefined ? `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` : undefined;
}
