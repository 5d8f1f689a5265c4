import { uuid4 } from '@temporalio/workflow';
import {
  ArchiveCheckInputSchema,
  BaseBackupInputSchema,
  PitrRestoreInputSchema,
  RestorePointInputSchema,
  VerifyRecoveryPointInputSchema,
  compactTimestamp,
  lifeboatFailure,
  type WorkflowTypes,
} from '../src/contracts/index.js';
import { dataMover, lookup, restorer } from './activities.js';
import { parseInput } from './validation.js';
import { withOutcome } from './outcome.js';

/** A base backup for point-in-time recovery: `{ "database": "orders" }`. */
export const baseBackup: WorkflowTypes['baseBackup'] = withOutcome(async (raw) => {
  const input = parseInput(BaseBackupInputSchema, raw, 'baseBackup');
  const backupId = `${compactTimestamp(new Date())}-base-${uuid4().slice(0, 8)}`;
  return dataMover.takeBaseBackup({ database: input.database, backupId, ...(input.maxRate ? { maxRate: input.maxRate } : {}) });
});

/** Recovery to a time, LSN or restore point into a new server: `{ "database": "orders", "toTime": "…" }`. */
export const pointInTimeRestore: WorkflowTypes['pointInTimeRestore'] = withOutcome(async (raw) => {
  const input = parseInput(PitrRestoreInputSchema, raw, 'pointInTimeRestore');
  return restorer.recoverToPoint(input);
});

/** Proves a recovery point in a scratch server (RTO, achieved RPO); fails when a check failed. */
export const verifyRecoveryPoint: WorkflowTypes['verifyRecoveryPoint'] = withOutcome(async (raw) => {
  const input = parseInput(VerifyRecoveryPointInputSchema, raw, 'verifyRecoveryPoint');
  const toTime = input.toTime ?? (input.toLsn || input.toName ? undefined : new Date().toISOString());
  const record = await restorer.verifyRecoveryPoint({ ...input, toTime });
  if (record.outcome === 'failed') {
    const failed = record.checks.filter((c) => !c.ok).map((c) => `check "${c.name}" returned ${String(c.value)}`);
    throw lifeboatFailure('VERIFICATION_FAILED', `Verification of recovery point of ${input.database} failed: ${record.error ?? failed.join('; ')}`, [record]);
  }
  return record;
});

/** Checks the WAL archive; fails loudly (`ARCHIVE_INCOMPLETE`) on a gap or a stale archive. */
export const checkWalArchive: WorkflowTypes['checkWalArchive'] = withOutcome(async (raw) => {
  const input = parseInput(ArchiveCheckInputSchema, raw, 'checkWalArchive');
  const result = await lookup.checkWalArchive(input);
  if (!result.ok) throw lifeboatFailure('ARCHIVE_INCOMPLETE', result.problems.join('; '), [result]);
  return result;
});

/** `pg_create_restore_point(name)` on the source: `{ "database": "orders", "name": "before-migration" }`. */
export const createRestorePoint: WorkflowTypes['createRestorePoint'] = withOutcome(async (raw) => {
  const input = parseInput(RestorePointInputSchema, raw, 'createRestorePoint');
  return lookup.createRestorePoint(input);
});
