import { proxyActivities, uuid4, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { BackupInputSchema, compactTimestamp, type BackupWithCopiesResult } from './types.js';
import { copyToTargets } from './copy-backup.js';
import { parseInput } from './validation.js';
import { DATA_ACTIVITY_RETRY, NON_RETRYABLE_TYPES } from './errors.js';

const { runBackup } = proxyActivities<Activities>({
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '1 minute',
  retry: { ...DATA_ACTIVITY_RETRY, nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] },
});

/**
 * Backs up one configured database: `{ "database": "orders", "kind": "full" }`.
 * The backup exists once its manifest is committed; the result names where it went, and where
 * it was copied when the database lists several storage targets (a failed copy fails the run).
 */
export async function backupDatabase(input: unknown): Promise<BackupWithCopiesResult> {
  const { database, kind } = parseInput(BackupInputSchema, input, 'backupDatabase');
  const backupId = `${compactTimestamp(workflowInfo().startTime)}-${kind}-${uuid4().slice(0, 8)}`;
  const result = await runBackup({ database, kind, backupId });
  // 3-2-1: once committed on its first target, the backup is copied to the database's other targets.
  const { copies } = await copyToTargets(database, result.backupId, result.storage);
  return copies.length > 0 ? { ...result, copies } : result;
}
