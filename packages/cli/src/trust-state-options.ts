/**
 * The gate as a witness (`scitt verify … --trust-state FILE`, optionally with a k-of-n witness
 * policy): flags, and the checks run once the receipts verified, for one FILE or the artifact gate
 * alike. The checks are core's (core/checkpoint/trust-state.ts checkTreesWithTrustPolicy).
 */
import type { Command } from 'commander';
import type { TrustStateCheck, VerifiedTree } from '@scitt-actions/core/checkpoint';
import { intOption } from './numbers.ts';
import { UsageError } from './run.ts';

export interface TrustStateFlags {
  trustState?: string;
  logUrl?: string;
  tiles?: string;
  logKey?: string[];
  witnessKey?: string[];
  minWitnesses?: string;
}

const repeat = (v: string, acc: string[] = []) => [...acc, v];

export function addTrustStateOptions(cmd: Command): Command {
  return cmd
    .option('--trust-state <FILE>', "remember each service's largest verified tree here; a receipt counts only if consistent with it (a fork is refused with ERR_EQUIVOCATION)")
    .option('--log-url <URL>', "where consistency proofs and the cosigned checkpoint come from: the service's URL (GET /consistency, /checkpoint); default: the receipt's issuer")
    .option('--tiles <PREFIX>', "compute consistency proofs from the service's tiles (c2sp.org/tlog-tiles) below PREFIX instead, and read its checkpoint there")
    .option('--log-key <VKEY>', "the service's checkpoint note key, for --min-witnesses (repeatable: one per service)", repeat)
    .option('--witness-key <VKEY>', 'a witness whose cosignature counts (repeatable)', repeat)
    .option('--min-witnesses <K>', "require each service's checkpoint to be cosigned by at least K of the --witness-key witnesses, to cover the receipts' trees and be consistent with them");
}

export const wantsTrustState = (o: TrustStateFlags): boolean => o.trustState !== undefined || o.minWitnesses !== undefined;

/** Checks the flags before anything is verified: the quorum, its keys, and that the keys parse. Returns K (0: none). */
export async function checkTrustStateFlags(o: TrustStateFlags): Promise<number> {
  const k = o.minWitnesses !== undefined ? intOption('--min-witnesses', o.minWitnesses, { min: 1 }) : 0;
  if (k > 0 && (!o.logKey?.length || !o.witnessKey?.length)) throw new UsageError("--min-witnesses needs the service's --log-key and the witnesses' --witness-key");
  if (k === 0 && (o.logKey?.length || o.witnessKey?.length)) throw new UsageError('--log-key and --witness-key apply with --min-witnesses K: add it, or drop them');
  if (k > (o.witnessKey?.length ?? 0)) throw new UsageError(`--min-witnesses ${k} cannot be met by the ${o.witnessKey!.length} --witness-key given`);
  if (k === 0) return 0;
  // checkpoints, notes and tiles are loaded only when a trust state is asked for: a plain verify never reads them
  const { parseVerifierKey } = await import('@scitt-actions/core/checkpoint');
  for (const [flag, keys] of [['--log-key', o.logKey], ['--witness-key', o.witnessKey]] as const) {
    for (const key of keys ?? []) {
      try {
        parseVerifierKey(key);
      } catch (e) {
        throw new UsageError(`${flag}: ${(e as Error).message}`);
      }
    }
  }
  return k;
}

/** Every verified receipt's tree against the state (and the witness policy); saves the advanced state. */
export async function enforceTrustStateOnTrees(trees: readonly VerifiedTree[], o: TrustStateFlags): Promise<TrustStateCheck[]> {
  const k = await checkTrustStateFlags(o);
  const { checkTreesWithTrustPolicy } = await import('@scitt-actions/core/checkpoint');
  return checkTreesWithTrustPolicy(trees, {
    statePath: o.trustState,
    logUrl: o.logUrl,
    tiles: o.tiles,
    ...(k > 0 ? { logKeys: o.logKey!, witnessKeys: o.witnessKey!, minWitnesses: k } : {}),
  });
}
