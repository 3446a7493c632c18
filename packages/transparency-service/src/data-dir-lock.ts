/**
 * One `scitt serve` per data directory: two processes appending to one log would fork it (two
 * leaves at one index, two tree heads of one size under one key). The lock is an exclusive SQLite
 * transaction held on a file of its own; the OS drops it when the process dies, even by SIGKILL,
 * so a crashed service never leaves a stale lock behind.
 */
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { ScittError } from '@scitt-actions/core';

const LOCK_FILE = 'serve.lock';

export interface DataDirLock {
  release(): void;
}

export function lockDataDir(dataDir: string): DataDirLock {
  const db = new DatabaseSync(join(dataDir, LOCK_FILE));
  try {
    db.exec('PRAGMA busy_timeout = 0; BEGIN EXCLUSIVE');
  } catch (e) {
    db.close();
    throw new ScittError(
      'ERR_DATA_DIR_IN_USE',
      `the data directory ${dataDir} is in use by another scitt serve (${(e as Error).message}); stop it first, or give this one its own --data (replicas of one log share a postgres:// --store, never a directory)`,
      { cause: e },
    );
  }
  return {
    release() {
      if (!db.isOpen) return;
      db.exec('ROLLBACK');
      db.close();
    },
  };
}
