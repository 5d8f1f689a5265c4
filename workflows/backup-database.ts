import { CancellationScope, isCancellation, uuid4, workflowInfo } from '@temporalio/workflow';
import { BackupInputSchema, compactTimestamp, innermostMessage, type WorkflowTypes } from '../src/contracts/index.js';
import { dataMover } from './activities.js';
import { copyToTargets } from './copy-backup.js';
import { audit, notify, startedAt } from './observe.js';
import { parseInput } from './validation.js';
import { withOutcome } from './outcome.js';

/**
 * Backs up one configured database: `{ "database": "orders", "kind": "full" }`.
 * The backup exists once its manifest is committed; the result names where it went, and where
 * it was copied when the database lists several storage targets (a failed copy fails the run).
 * The outcome is appended to the audit log; a failure is notified (`backup-failed`).
 */
export const backupDatabase: WorkflowTypes['backupDatabase'] = withOutcome(async (input) => {
  const { database, kind } = parseInput(BackupInputSchema, input, 'backupDatabase');
  const backupId = `${compactTimestamp(workflowInfo().startTime)}-${kind}-${uuid4().slice(0, 8)}`;
  try {
    const result = await dataMover.runBackup({ database, kind, backupId });
    // 3-2-1: once committed on its first target, the backup is copied to the database's other targets.
    const { copies } = await copyToTargets(database, result.backupId, result.storage);
    await audit({
      action: 'backup',
      outcome: 'succeeded',
      database,
      target: { backupId: result.backupId, kind, storage: result.storage },
      details: { bytes: result.bytes, rawBytes: result.rawBytes, durationMs: result.durationMs, copies: copies.map((c) => c.storage) },
    });
    return copies.length > 0 ? { ...result, copies } : result;
  } catch (err) {
    const reason = innermostMessage(err);
    await CancellationScope.nonCancellable(async () => {
      const cancelled = isCancellation(err);
      await audit({ action: 'backup', outcome: cancelled ? 'cancelled' : 'failed', database, target: { backupId, kind }, message: reason });
      if (!cancelled)
        await notify({
          type: 'backup-failed',
          database,
          openedAt: startedAt(),
          summary: `Backup of ${database} (${kind}) failed: ${reason}`.slice(0, 300),
          details: reason,
          facts: { kind, backup: backupId },
        });
    });
    throw err;
  }
});
