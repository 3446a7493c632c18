/**
 * libpq's multi-host connection strings for the `pg` driver, which connects to one host only:
 * `postgres://user@h1:5432,h2:5433/db?target_session_attrs=read-write`. As libpq does, every new
 * connection tries the hosts in the order given and keeps the first that accepts the session the
 * attribute asks for, so after a failover (the standby promoted) new connections reach the new primary
 * and a host still in recovery is passed over. What breaks is not mended here: a connection to the old
 * primary fails, the pool drops it, and the next one is made by trying the hosts again.
 *
 * Supported: comma-separated host[:port] (IPv6 in brackets; port 5432 by default) and
 * target_session_attrs any (the default), read-write, primary. Other query parameters go to every host.
 */
import pg from 'pg';

type SessionAttrs = 'any' | 'read-write' | 'primary';

export interface PostgresTarget {
  /** one single-host connection string per host, in the order to try */
  hosts: { label: string; connectionString: string }[];
  attrs: SessionAttrs;
}

const ATTRS: readonly string[] = ['any', 'read-write', 'primary'];

/** Parses a postgres:// URL with one host or several (libpq's URI format). */
export function parsePostgresUrl(url: string): PostgresTarget {
  const m = /^(postgres(?:ql)?:\/\/)(?:([^@/?#]*)@)?([^/?#]*)(.*)$/.exec(url);
  if (!m) throw new Error('a PostgreSQL URL starts postgres:// or postgresql://');
  const [, scheme, userinfo, hostspec, rest] = m as unknown as [string, string, string | undefined, string, string];
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : rest.slice(q + 1));
  const attrs = params.get('target_session_attrs') ?? 'any';
  if (!ATTRS.includes(attrs)) throw new Error(`target_session_attrs=${attrs} is not supported: use read-write (or primary) to reach the primary of a replicated cluster, or any`);
  params.delete('target_session_attrs');
  const query = params.size > 0 ? `?${params.toString()}` : '';
  const hosts = (hostspec === '' ? ['localhost'] : hostspec.split(',')).map((h) => {
    const v6 = /^(\[[0-9a-fA-F:.]+\])(?::(\d+))?$/.exec(h);
    const v4 = /^([^:[\]]+)(?::(\d+))?$/.exec(h);
    const parts = v6 ?? v4;
    if (!parts || (parts[2] !== undefined && !(Number(parts[2]) > 0 && Number(parts[2]) < 65536))) {
      throw new Error(`the PostgreSQL URL's host list is host[:port],host[:port],…; ${JSON.stringify(h)} is not a host[:port]`);
    }
    const label = `${parts[1]}:${parts[2] ?? '5432'}`;
    return { label, connectionString: `${scheme}${userinfo !== undefined ? `${userinfo}@` : ''}${label}${path}${query}` };
  });
  return { hosts, attrs: attrs as SessionAttrs };
}

/** Whether a connected session is what the attribute asks for (libpq: read-write checks transaction_read_only, primary checks recovery). */
async function acceptable(client: pg.ClientBase, attrs: SessionAttrs): Promise<string | undefined> {
  if (attrs === 'any') return undefined;
  const r = (await client.query<{ recovery: boolean; ro: string }>("SELECT pg_is_in_recovery() AS recovery, current_setting('transaction_read_only') AS ro")).rows[0]!;
  if (r.recovery) return 'in recovery (a standby)';
  if (attrs === 'read-write' && r.ro === 'on') return 'read-only sessions';
  return undefined;
}

/** The first host, in order, that accepts a session with the attribute asked for. */
async function pickHost(t: PostgresTarget, config: pg.ClientConfig): Promise<string> {
  if (t.hosts.length === 1) return t.hosts[0]!.connectionString;
  const why: string[] = [];
  for (const h of t.hosts) {
    const probe = new pg.Client({ ...config, connectionString: h.connectionString });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      const no = await acceptable(probe, t.attrs);
      if (!no) return h.connectionString;
      why.push(`${h.label}: ${no}`);
    } catch (e) {
      why.push(`${h.label}: ${(e as Error).message}`);
    } finally {
      await probe.end().catch(() => undefined);
    }
  }
  throw new Error(`no PostgreSQL host accepts ${t.attrs} sessions (${why.join('; ')})`);
}

/**
 * A pg.Client class for a target: connect() picks the host, then checks its own session too (the
 * cluster may fail over between the two). Used directly and as pg.Pool's Client.
 */
export function targetClient(t: PostgresTarget): typeof pg.Client {
  return class TargetClient extends pg.Client {
    readonly #config: pg.ClientConfig;
    constructor(config: pg.ClientConfig = {}) {
      super({ ...config, connectionString: t.hosts[0]!.connectionString });
      this.#config = config;
    }

    override connect(): Promise<pg.Client>;
    override connect(callback: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): void;
    override connect(callback?: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): Promise<pg.Client> | undefined {
      // until the caller's own listener is on, a connection lost while checking it must not go unhandled
      const lost = () => undefined;
      this.on('error', lost);
      const connected = (async () => {
        const chosen = new pg.Client({ ...this.#config, connectionString: await pickHost(t, this.#config) });
        // pg reads host and port from connectionParameters when it connects: point this client there.
        const self = this as unknown as { host: string; port: number; connectionParameters: { host: string; port: number } };
        const cp = (chosen as unknown as { connectionParameters: { host: string; port: number } }).connectionParameters;
        self.host = self.connectionParameters.host = cp.host;
        self.port = self.connectionParameters.port = cp.port;
        await super.connect();
        const no = await acceptable(this, t.attrs);
        if (no) {
          await this.end().catch(() => undefined);
          throw new Error(`the PostgreSQL host ${cp.host}:${cp.port} does not take ${t.attrs} sessions: ${no}`);
        }
        return this;
      })().finally(() => this.removeListener('error', lost));
      if (!callback) return connected;
      connected.then(
        (c) => (callback as (err: null, c: pg.Client) => void)(null, c),
        (e: Error) => (callback as (err: Error) => void)(e),
      );
      return undefined;
    }
  };
}
