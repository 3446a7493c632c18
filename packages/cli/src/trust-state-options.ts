/**
 * The gate as a witness (`scitt verify --trust-state FILE`, optionally with a k-of-n witness policy):
 * flags and the check run after a statement verified. See core/checkpoint/trust-state.ts.
 */
import type { Command } from 'commander';
import { type ConsistencySource, type TrustStateCheck, type VerifiedTree, checkReceiptsAgainstState, checkVerifiedTreesAgainstState, checkWitnessedCheckpoint, emptyTrustState, loadTrustState, parseVerifierKey, saveTrustState, serviceConsistencySource, tilesConsistencySource } from '@scitt-actions/core/checkpoint';
import type { TrustedKeys } from '@scitt-actions/core/receipt';
import { intOption } from './numbers.ts';
import { UsageError } from './run.ts';

export interface TrustStateFlags {
  trustState?: string;
  logUrl?: string;
  tiles?: string;
  logKey?: string;
  witnessKey?: string[];
  minWitnesses?: string;
}

export function addTrustStateOptions(cmd: Command): Command {
  return cmd
    .option('--trust-state <FILE>', "remember each service's largest verified tree here; a receipt counts only if consistent with it (a fork is refused with ERR_EQUIVOCATION)")
    .option('--log-url <URL>', "where consistency proofs come from: the service's URL (GET /consistency); default: the receipt's issuer")
    .option('--tiles <PREFIX>', "compute consistency proofs from the service's tiles (c2sp.org/tlog-tiles) below PREFIX instead")
    .option('--log-key <VKEY>', "the service's checkpoint note key (for --min-witnesses)")
    .option('--witness-key <VKEY>', 'a witness whose cosignature counts (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
    .option('--min-witnesses <K>', 'require a checkpoint cosigned by at least K of the --witness-key witnesses, consistent with the receipt');
}

export const wantsTrustState = (o: TrustStateFlags): boolean => o.trustState !== undefined || o.minWitnesses !== undefined;

/** Runs the trust-state and witness checks for one verified statement; saves the advanced state. */
export async function enforceTrustState(statement: Uint8Array, keys: TrustedKeys, o: TrustStateFlags): Promise<TrustStateCheck[]> {
  const k = o.minWitnesses !== undefined ? intOption('--min-witnesses', o.minWitnesses, { min: 1 }) : 0;
  if (k > 0 && (!o.logKey || !o.witnessKey?.length)) throw new UsageError('--min-witnesses needs the log\'s --log-key and the witnesses\' --witness-key');
  const state = o.trustState ? loadTrustState(o.trustState) : emptyTrustState();
  const sourceFor = (iss: string): ConsistencySource => sourceOf(o, iss);
  if (k > 0) {
    const base = o.tiles ?? o.logUrl;
    if (!base) throw new UsageError('--min-witnesses needs --log-url or --tiles: where the cosigned checkpoint is served');
    const service = o.logUrl ?? 'checkpoint';
    // The checkpoint enters the state under the receipts' issuer, checked after it.
    const receiptsIss = await issuerOf(statement, keys);
    await checkWitnessedCheckpoint(state, receiptsIss ?? service, {
      checkpointUrl: new URL('checkpoint', base.endsWith('/') ? base : `${base}/`).toString(),
      logKey: parseVerifierKey(o.logKey!),
      witnesses: o.witnessKey!.map(parseVerifierKey),
      k,
      source: sourceFor(receiptsIss ?? base),
    });
  }
  const checks = await checkReceiptsAgainstState(statement, keys, state, sourceFor);
  if (o.trustState) saveTrustState(o.trustState, state);
  return checks;
}

async function issuerOf(statement: Uint8Array, keys: TrustedKeys): Promise<string | undefined> {
  const { extractReceipts, statementEntry, verifyReceipt } = await import('@scitt-actions/core/receipt');
  const entry = statementEntry(statement);
  for (const r of extractReceipts(statement)) {
    try {
      const v = verifyReceipt(r, entry, keys);
      return v.iss ?? Buffer.from(v.kid).toString('hex');
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** The gate's check: every verified receipt in the report against the state (no witness policy here). */
export async function enforceTrustStateOnTrees(trees: readonly VerifiedTree[], o: TrustStateFlags): Promise<TrustStateCheck[]> {
  if (o.minWitnesses !== undefined) throw new UsageError('--min-witnesses applies to one FILE for now; the artifact gate takes --trust-state');
  const state = o.trustState ? loadTrustState(o.trustState) : emptyTrustState();
  const checks = await checkVerifiedTreesAgainstState(trees, state, (iss) => sourceOf(o, iss));
  if (o.trustState) saveTrustState(o.trustState, state);
  return checks;
}

function sourceOf(o: TrustStateFlags, iss: string): ConsistencySource {
  if (o.tiles) return tilesConsistencySource(o.tiles);
  const base = o.logUrl ?? iss;
  if (!/^https?:\/\//.test(base)) throw new UsageError(`the receipt's issuer ${JSON.stringify(iss)} is not a URL: name where its consistency proofs come from with --log-url or --tiles`);
  return serviceConsistencySource(base);
}
