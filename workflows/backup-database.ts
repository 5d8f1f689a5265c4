import { proxyActivities, uuid4, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { BackupInputSchema, compactTimestamp, type BackupResult } from './types.js';
import { parseInput } from './validation.js';
import { NON_RETRYABLE_TYPES } from './errors.js';

const { runBackup } = proxyActivities<Activities>({
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '10 seconds',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    maximumAttempts: 4,
    nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
  },
});

/**
 * Backs up one configured database: `{ "database": "orders", "kind": "full" }`.
 * The backup exists once its manifest is committed; the result names where it went.
 */
export async function backupDatabase(input: unknown): Promise<BackupResult> {
  const { database, kind } = parseInput(BackupInputSchema, input, 'backupDatabase');
  const backupId = `${compactTimestamp(workflowInfo().startTime)}-${kind}-${uuid4().slice(0, 8)}`;
  return await runBackup({ database, kind, backupId });
}
