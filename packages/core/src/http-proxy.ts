/**
 * HTTPS_PROXY, HTTP_PROXY and NO_PROXY (or their lower-case forms) for every client of this library:
 * SCRAPI, TUF, Fulcio and the OIDC token, OCI registries and the GitHub API all go through Node's
 * fetch, whose dispatcher this sets once, from the environment, with Node's own proxy support
 * (http.setGlobalProxyFromEnv, Node ≥ 24.14: CONNECT tunnels for HTTPS, NO_PROXY honoured). Each
 * client calls it when it is made, so a library user behind a proxy needs no set-up of their own.
 * Without a proxy variable nothing changes: a dispatcher the embedding program set stays.
 */

const VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'] as const;

let applied: string | undefined;

export interface ProxyState {
  /** the proxy URL(s) in force, or undefined when none is configured */
  readonly proxy?: string;
  readonly noProxy?: string;
}

/** Applies the proxy variables of `env` to fetch and http(s).request, once per distinct setting; returns what is in force. */
export function useProxyFromEnvironment(env: NodeJS.ProcessEnv = process.env): ProxyState {
  const https = env.HTTPS_PROXY ?? env.https_proxy;
  const plain = env.HTTP_PROXY ?? env.http_proxy;
  if (!VARIABLES.some((v) => env[v])) return {};
  const noProxy = env.NO_PROXY ?? env.no_proxy;
  const key = JSON.stringify([https, plain, noProxy]);
  const proxy = [https, plain].filter(Boolean).join(' ');
  if (applied === key) return { proxy, ...(noProxy ? { noProxy } : {}) };
  // NODE_USE_ENV_PROXY=1 (or --use-env-proxy) already made Node do this at start
  if (env.NODE_USE_ENV_PROXY !== '1') {
    // on first use, not imported: an ES import of node:http reads every export, which loads fetch's
    // undici with http2, tls and zlib, a fifth of `scitt verify`'s start-up even when no proxy is set
    const http = process.getBuiltinModule('node:http');
    if (typeof http.setGlobalProxyFromEnv === 'function') {
      http.setGlobalProxyFromEnv({
        ...(https ? { HTTPS_PROXY: https } : {}),
        ...(plain ? { HTTP_PROXY: plain } : {}),
        ...(noProxy ? { NO_PROXY: noProxy } : {}),
      });
    } else {
      // never ignored silently: an older Node applies the variables only when told so at start
      process.emitWarning(`a proxy is configured (${proxy}) but Node ${process.version} cannot apply it from here: run with NODE_USE_ENV_PROXY=1 (Node >= 22.21) or on Node >= 24.14`, { code: 'SCITT_PROXY_UNSUPPORTED' });
    }
  }
  applied = key;
  return { proxy, ...(noProxy ? { noProxy } : {}) };
}
