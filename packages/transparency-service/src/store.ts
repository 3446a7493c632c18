/**
 * Where the log keeps its state, and what the HTTP layer may ask of a log whatever the store.
 *
 * Two stores: SQLite (the embedded default: one process, one file, database.ts and log.ts, reads are
 * synchronous on node:sqlite) and PostgreSQL (any number of replicas on one shared database,
 * store/postgres-log.ts, reads are asynchronous). The server awaits every read, so it serves either.
 */
import type { RotationTarget } from './key-rotation.ts';
import type { Queued, Registration } from './log.ts';
import type { RegistrationPolicy } from './registration-policy.ts';
import type { ServiceKey } from './service-key.ts';
import type { HttpProblem } from './problem.ts';

type MaybeAsync<T> = T | Promise<T>;

/** The log as the service's routes use it: implemented by TransparencyLog (SQLite) and PostgresLog. */
export interface LogService {
  /** iss of receipts; set once the URL is known, before the first request */
  iss: string;
  readonly serviceKey: ServiceKey;
  /** every key that signed the log, oldest first */
  readonly keys: readonly ServiceKey[];
  readonly policy: { policy: RegistrationPolicy; leafIndex: number | undefined };
  readonly queueLength: number;
  /** observes each committed batch: registrations in it, seconds it took (metrics.ts) */
  onBatch?: (size: number, seconds: number) => void;
  register(bytes: Uint8Array): Promise<Queued>;
  setPolicy(policy: RegistrationPolicy): Promise<Registration>;
  rotateKey(target: RotationTarget): Promise<Registration>;
  /** the committed tree size this replica knows */
  size(): number;
  receipt(id: string): MaybeAsync<Uint8Array | undefined>;
  isPending(id: string): MaybeAsync<boolean>;
  refusal(id: string): MaybeAsync<HttpProblem | undefined>;
  statement(id: string): MaybeAsync<Uint8Array | undefined>;
  treeHead(): MaybeAsync<Uint8Array | undefined>;
  consistency(from: number, to: number): MaybeAsync<Uint8Array>;
  duplicateEntries(): MaybeAsync<number>;
  drain(): Promise<void>;
  close(): void | Promise<void>;
}

export type StoreKind = { kind: 'sqlite' } | { kind: 'postgres'; url: string };

/** `--store`: absent or "sqlite" for the embedded file in the data directory, or a postgres:// URL. */
export function parseStore(value: string | undefined): StoreKind {
  if (value === undefined || value === '' || value === 'sqlite') return { kind: 'sqlite' };
  if (/^postgres(ql)?:\/\//.test(value)) return { kind: 'postgres', url: value };
  throw new Error(`--store must be "sqlite" (the default: a file in the data directory) or a PostgreSQL connection URL postgres://user@host:port/db, not ${JSON.stringify(value.replace(/:[^:@/]*@/, ':…@'))}`);
}
