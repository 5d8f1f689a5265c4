import { uuid4, workflowInfo } from '@temporalio/workflow';
import { BackupInputSchema, compactTimestamp, type WorkflowTypes } from '../src/contracts/index.js';
import { dataMover } from './activities.js';
import { copyToTargets } from './copy-backup.js';
import { parseInput } from './validation.js';

/**
 * Backs up one configured database: `{ "database": "orders", "kind": "full" }`.
 * The backup exists once its manifest is committed; the result names where it went, and where
 * it was copied when the database lists several storage targets (a failed copy fails the run).
 */
export const backupDatabase: WorkflowTypes['backupDatabase'] = async (input) => {
  const { database, kind } = parseInput(BackupInputSchema, input, 'backupDatabase');
  const backupId = `${compactTimestamp(workflowInfo().startTime)}-${kind}-${uuid4().slice(0, 8)}`;
  const result = await dataMover.runBackup({ database, kind, backupId });
  // 3-2-1: once committed on its first target, the backup is copied to the database's other targets.
  const { copies } = await copyToTargets(database, result.backupId, result.storage);
  return copies.length > 0 ? { ...result, copies } : result;
};
