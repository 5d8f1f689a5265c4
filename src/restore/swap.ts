// Restore-and-swap over an existing database: the backup is restored into a new database next to
// it, proven by its row counts, and only then swapped in under the old name; the old database is
// kept as `<name>_before_<time>`.
import { LifeboatError } from '../errors.js';
import {
  compactTimestamp,
  describeRowCountMismatches,
  type OverwriteMode,
  type RestoreMode,
  type RowCountComparison,
  type VerificationCheck,
} from '../contracts/index.js';
import type { ResolvedTarget } from './target.js';

/** How long the swap waits for a lock before it fails (the old database is then left as it was). */
export const SWAP_LOCK_TIMEOUT_MS = 30_000;

export interface SwapPlan {
  /** The database the backup is restored into first. */
  incoming: string;
  /** The name the current database is kept under. */
  keepAs: string;
}

/** `orders` -> `orders_lbnew_20261203t101500z`; at most 63 characters. */
function sideName(database: string, tag: string, at: Date): string {
  const suffix = `_${tag}_${compactTimestamp(at).toLowerCase()}`;
  return `${database.slice(0, 63 - suffix.length)}${suffix}`;
}

/** The swap a restore does, or undefined when it writes in place (a new target, another mode, `in-place`, an engine that cannot rename). */
export function planSwap(
  req: { expect: 'new' | 'existing'; scratch?: boolean; mode: RestoreMode; overwrite?: OverwriteMode },
  target: ResolvedTarget,
  canSwap: boolean,
  at = new Date(),
): SwapPlan | undefined {
  if (req.expect !== 'existing' || req.scratch || req.mode !== 'full' || (req.overwrite ?? 'swap') !== 'swap' || !canSwap) return undefined;
  const name = target.conn.database;
  return { incoming: sideName(name, 'lbnew', at), keepAs: sideName(name, 'before', at) };
}

/** A swap only goes ahead with every row count equal to the manifest's. */
export function checkBeforeSwap(rowCounts: RowCountComparison | null, label: string, subject: string): void {
  if (rowCounts && rowCounts.mismatches.length > 0) {
    throw new LifeboatError(
      'ROW_COUNT_MISMATCH',
      `Restore of ${label} failed: row counts of the restored database differ from the manifest, nothing was swapped: ${describeRowCountMismatches(rowCounts.mismatches)}`,
      { subject },
    );
  }
}

/** A swap only goes ahead with every configured `verify.checks` assertion true in the restored database. */
export function checkAssertionsBeforeSwap(checks: VerificationCheck[], label: string, subject: string): void {
  const failed = checks.filter((c) => !c.ok);
  if (failed.length > 0) {
    throw new LifeboatError(
      'VERIFICATION_FAILED',
      `Restore of ${label} failed: ${failed.length} of ${checks.length} checks failed in the restored database, nothing was swapped: ${failed.map((c) => `${c.name} (${String(c.value)})`).join(', ')}`,
      { subject },
    );
  }
}
