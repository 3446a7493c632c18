/** libpq's multi-host URL as the PostgreSQL store reads it (store/postgres-connect.ts); the failover itself is postgres-standby.test.ts. */
import { describe, expect, it } from 'vitest';
import { parsePostgresUrl } from '../src/store/postgres-connect.ts';

describe('parsePostgresUrl', () => {
  it('splits the host list into one URL per host, in order, with the rest of the URL on each', () => {
    const t = parsePostgresUrl('postgres://scitt:pw@db1:5433,[::1],10.0.0.2/log?sslmode=require&target_session_attrs=read-write');
    expect(t.attrs).toBe('read-write');
    expect(t.hosts).toEqual([
      { label: 'db1:5433', connectionString: 'postgres://scitt:pw@db1:5433/log?sslmode=require' },
      { label: '[::1]:5432', connectionString: 'postgres://scitt:pw@[::1]:5432/log?sslmode=require' },
      { label: '10.0.0.2:5432', connectionString: 'postgres://scitt:pw@10.0.0.2:5432/log?sslmode=require' },
    ]);
  });

  it('reads one host as before, target_session_attrs any by default', () => {
    expect(parsePostgresUrl('postgresql://scitt@127.0.0.1:6000/postgres')).toEqual({ attrs: 'any', hosts: [{ label: '127.0.0.1:6000', connectionString: 'postgresql://scitt@127.0.0.1:6000/postgres' }] });
  });

  it('refuses what it would not honour', () => {
    expect(() => parsePostgresUrl('postgres://a,b/db?target_session_attrs=prefer-standby')).toThrow(/target_session_attrs=prefer-standby is not supported/);
    expect(() => parsePostgresUrl('postgres://a:99999,b/db')).toThrow(/"a:99999" is not a host\[:port\]/);
    expect(() => parsePostgresUrl('postgres://a,,b/db')).toThrow(/"" is not a host\[:port\]/);
  });
});
