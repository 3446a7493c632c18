/**
 * Discovery of the statements beside each artifact file, for one gate: one store per directory,
 * listed once, so a release directory of N artifacts is not listed N times (storage/files.ts listOnce).
 */
import { resolve } from 'node:path';
import { artifactRef } from '../storage/artifact.ts';
import { FileStatementStore } from '../storage/files.ts';
import { type Discovered, type GateArtifact, asDiscovered } from './gate.ts';

/** A discover function for runGate over artifacts named by path; make one per gate run. */
export function discoverBeside(): (a: GateArtifact) => Promise<Discovered> {
  const stores = new Map<string, FileStatementStore>();
  return async (a) => {
    const directory = resolve(a.path!, '..');
    let store = stores.get(directory);
    if (!store) stores.set(directory, (store = new FileStatementStore({ directory, listOnce: true })));
    return asDiscovered(await store.discover(artifactRef(a.name, a.sha256), { evidence: true }));
  };
}
