/**
 * Turning what a user names (a URL, a file, a PEM bundle) into the trust a verifier needs: the
 * Transparency Service keys and the X.509 anchors. Shared by the CLI and the release gate.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { KeyError, ScittError } from '../errors.ts';
import type { TrustStore } from '../identity/trust.ts';
import { type TrustedKey, TrustedKeys, loadTrustedKeys, trustedKey } from '../receipt/keys.ts';

/**
 * Trusted Transparency Services, each a named set of keys. `--min-receipts N` counts services, not
 * keys, so what the user names decides what counts as one service:
 * - a URL: the keys it publishes at /.well-known/scitt-keys are one service (named by the URL);
 * - a key file (COSE Key Set, JWK Set, CCF trust store, PEM): all its keys are one service (a
 *   service's current and rotated keys);
 * - a services file, JSON `{"services": {"NAME": KEYS, ...}}`, names several: KEYS is a JWK Set,
 *   a JWK, a CCF trust store, a PEM string, or the service's URL.
 * A key may belong to one service only (TrustedKeys refuses it under two names).
 */
export async function loadServiceKeys(sources: string | readonly string[]): Promise<TrustedKeys> {
  const list = (typeof sources === 'string' ? [sources] : [...sources]).map((x) => x.trim()).filter(Boolean);
  if (list.length === 0) throw new ScittError('ERR_USAGE', 'no trusted Transparency Service: give its URL or a key file');
  const keys = new TrustedKeys();
  for (const source of list) {
    for (const k of await loadSource(source)) keys.add(k);
  }
  return keys;
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

/** One service per URL, whatever its spelling: scheme, host and path, without a trailing slash. */
function serviceOfUrl(source: string): string {
  try {
    const u = new URL(source);
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    throw new ScittError('ERR_USAGE', `${JSON.stringify(source.slice(0, 200))} is not a valid Transparency Service URL`);
  }
}

async function fromUrl(url: string, service: string): Promise<TrustedKey[]> {
  // the HTTP client only for a service named by URL: a key file is read without it
  const { ScrapiClient } = await import('../scrapi/client.ts');
  const keys = await new ScrapiClient({ url, retries: 2 }).keys();
  return keys.map((k) => trustedKey(k, { service }));
}

async function loadSource(source: string): Promise<TrustedKey[]> {
  if (isUrl(source)) return fromUrl(source, serviceOfUrl(source));
  // path or content: a JWK Set, services file or PEM given inline (an action input) is read as it is
  const inline = isPemText(source) || source.startsWith('{');
  const what = inline ? 'the keys given inline' : source;
  let bytes: Uint8Array;
  if (inline) bytes = new TextEncoder().encode(source);
  else {
    try {
      bytes = new Uint8Array(await readFile(source));
    } catch (e) {
      throw new ScittError('ERR_IO', `cannot read Transparency Service keys ${source}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
  }
  const services = servicesFile(bytes, what);
  if (services) {
    const out: TrustedKey[] = [];
    for (const [name, value] of services) {
      if (typeof value === 'string' && isUrl(value)) out.push(...(await fromUrl(value, name)));
      else out.push(...keysOf(typeof value === 'string' ? value : JSON.stringify(value), `${what} service ${JSON.stringify(name)}`, name));
    }
    return out;
  }
  if (inline) return keysOf(bytes, what, `inline:${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`);
  return keysOf(bytes, source, `file:${resolve(source)}`);
}

function keysOf(input: Uint8Array | string, what: string, service: string): TrustedKey[] {
  try {
    return loadTrustedKeys(input, { service });
  } catch (e) {
    if (e instanceof KeyError) throw e;
    // a file that is not a key set is the user's input, not something that failed verification
    throw new KeyError('ERR_KEY_INVALID', `${what} is not a Transparency Service key set (COSE Key Set, JWK Set or PEM): ${(e as Error).message}`, { cause: e });
  }
}

/** A services file's entries, or undefined when the input is a plain key set. */
function servicesFile(bytes: Uint8Array, source: string): [string, unknown][] | undefined {
  const text = Buffer.from(bytes.subarray(0, 1)).toString('latin1') === '{' ? Buffer.from(bytes).toString('utf8') : undefined;
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined; // loadTrustedKeys says what is wrong with it
  }
  const services = (json as { services?: unknown }).services;
  if (services === undefined) return undefined;
  if (typeof services !== 'object' || services === null || Array.isArray(services)) {
    throw new KeyError('ERR_KEY_INVALID', `${source}: "services" must map each service's name to its keys, e.g. {"services": {"ts-a": {"keys": [...]}, "ts-b": "https://ts-b.example"}}`);
  }
  const entries = Object.entries(services);
  if (entries.length === 0) throw new KeyError('ERR_KEY_INVALID', `${source}: "services" names no service`);
  for (const [name, value] of entries) {
    if (!name.trim()) throw new KeyError('ERR_KEY_INVALID', `${source}: a service needs a non-empty name`);
    if (typeof value !== 'string' && (typeof value !== 'object' || value === null)) throw new KeyError('ERR_KEY_INVALID', `${source}: service ${JSON.stringify(name)} must be a JWK Set, JWK, CCF trust store, PEM string or URL`);
  }
  return entries;
}

/**
 * X.509 trust anchors for keyless statements: a Sigstore trusted_root.json (offline), PEM roots
 * (and intermediates), or by default the Sigstore public-good root fetched through TUF.
 */
export async function loadX509Trust(o: { trustedRoot?: string; rootsPem?: string; intermediatesPem?: string; insecureIgnoreSct?: boolean }): Promise<TrustStore> {
  // certificates are parsed only for keyless statements: key-signed ones never load X.509 or TUF
  const { sigstoreTrust, trustFromPem, trustFromSigstoreTrustedRoot, withoutCtLog } = await import('../identity/trust.ts');
  // explicit only: a private Fulcio without a CT log; otherwise a leaf must carry an SCT from a CT log of the trust (identity/sct.ts)
  if (o.insecureIgnoreSct) return withoutCtLog(await loadX509Trust({ ...o, insecureIgnoreSct: false }));
  if (o.rootsPem) {
    // path or content: PEM text given inline (an action input, a secret) is used as it is
    const roots = isPemText(o.rootsPem)
      ? o.rootsPem
      : await readFile(o.rootsPem, 'utf8').catch((e: Error) => {
          throw new ScittError('ERR_IO', `cannot read trust anchors ${o.rootsPem}: ${e.message}`);
        });
    const intermediates = o.intermediatesPem ? (isPemText(o.intermediatesPem) ? o.intermediatesPem : await readFile(o.intermediatesPem, 'utf8')) : undefined;
    return trustFromPem({ roots, ...(intermediates ? { intermediates } : {}) });
  }
  if (o.trustedRoot?.trimStart().startsWith('{')) return trustFromSigstoreTrustedRoot(o.trustedRoot); // trusted_root.json given as content
  return sigstoreTrust(o.trustedRoot ? { trustedRootPath: o.trustedRoot } : {});
}

const isPemText = (v: string) => v.trimStart().startsWith('-----BEGIN ');

/**
 * The Sigstore trusted_root.json that Sigstore bundles taken in as evidence are verified against: given
 * as content or a path (as loadX509Trust reads it), else the public-good root through TUF. Read only
 * when a bundle is met: issuing from anything else never fetches it.
 */
export function sigstoreTrustedRootSource(trustedRoot?: string): () => Promise<string> {
  if (trustedRoot?.trimStart().startsWith('{')) return async () => trustedRoot;
  if (trustedRoot) {
    return () =>
      readFile(trustedRoot, 'utf8').catch((e: Error) => {
        throw new ScittError('ERR_IO', `cannot read the Sigstore trusted root ${trustedRoot}: ${e.message}`);
      });
  }
  return async () => (await import('../identity/trusted-root.ts')).fetchSigstoreTrustedRoot();
}
