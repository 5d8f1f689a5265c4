import {
  ActivityCancellationType,
  ApplicationFailure,
  condition,
  defineQuery,
  defineUpdate,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { RestoreActivities } from '../activities/restore.js';
import {
  ApprovalSchema,
  RestoreInputSchema,
  describeIssues,
  describeRowCountMismatches,
  innermostMessage,
  parseDurationMs,
  type Approval,
  type RestoreResult,
  type RestoreState,
} from './types.js';
import { parseInput } from './validation.js';
import { NON_RETRYABLE_TYPES } from './errors.js';

/** Approves a restore that waits for one: `{ "approver": "alice", "target": "<the target typed out>" }`. */
export const approveUpdate = defineUpdate<{ approvedBy: string; target: string }, [Approval]>('approve');
/** Where a restore stands: phase, backup, target inspection, approval, result. */
export const restoreProgressQuery = defineQuery<RestoreState>('progress');

const retry = {
  initialInterval: '5 seconds',
  backoffCoefficient: 2,
  maximumInterval: '5 minutes',
  maximumAttempts: 5,
  nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
};

const { resolveRestoreBackup, inspectRestoreTarget } = proxyActivities<RestoreActivities>({
  startToCloseTimeout: '5 minutes',
  retry,
});

const { restoreBackup } = proxyActivities<RestoreActivities>({
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '30 seconds',
  // Wait until pg_restore has really stopped (and a database it created is dropped) before the workflow ends.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { ...retry, maximumAttempts: 3 },
});

/**
 * Restores a backup into a database:
 * `{ "database": "orders", "backup": "latest", "target": "orders_restore", "mode": "full" }`.
 *
 * A target that exists and is not empty, is protected, or is the source itself is only touched
 * after an `approve` update from an allowed approver who types the target out; without one before
 * `approvalTimeout`, the workflow fails with "approval required" and nothing is changed.
 * Afterwards every restored table's row count must equal the manifest's.
 */
export async function restoreDatabase(input: unknown): Promise<RestoreResult> {
  const req = parseInput(RestoreInputSchema, input, 'restoreDatabase');
  const state: RestoreState = { phase: 'resolving', database: req.database, target: req.target };
  setHandler(restoreProgressQuery, () => state);
  setHandler(
    approveUpdate,
    (approval) => {
      state.approvedBy = approval.approver;
      return { approvedBy: approval.approver, target: req.target };
    },
    {
      validator: (raw) => {
        const parsed = ApprovalSchema.safeParse(raw);
        const refuse = (why: string) => {
          throw ApplicationFailure.create({ type: 'APPROVAL_REJECTED', message: `Approval of the restore into ${req.target} rejected: ${why}`, nonRetryable: true });
        };
        if (!parsed.success) return refuse(describeIssues(parsed.error));
        if (state.phase !== 'awaiting-approval') return refuse(`no approval is pending (the restore is ${state.phase})`);
        if (parsed.data.target !== req.target) return refuse(`the target must be typed out exactly: expected "${req.target}", got "${parsed.data.target}"`);
        const allowed = state.inspection?.approvers ?? [];
        if (!allowed.includes(parsed.data.approver)) {
          return refuse(`${parsed.data.approver} is not an approver (allowed: ${allowed.length ? allowed.join(', ') : 'none configured; set approvers: in the configuration'})`);
        }
      },
    },
  );

  try {
    state.backup = await resolveRestoreBackup({ database: req.database, backup: req.backup, mode: req.mode });
    state.phase = 'inspecting';
    const inspection = await inspectRestoreTarget({ database: req.database, target: req.target, mode: req.mode });
    state.inspection = inspection;
    if (inspection.reasons.length > 0) {
      const timeoutMs = parseDurationMs(req.approvalTimeout)!;
      state.phase = 'awaiting-approval';
      state.approvalDeadline = new Date(Date.now() + timeoutMs).toISOString();
      const approved = await condition(() => state.approvedBy !== undefined, timeoutMs);
      if (!approved) {
        throw ApplicationFailure.create({
          type: 'APPROVAL_REQUIRED',
          message: `Restore of ${req.database} into ${req.target} refused: approval required (${inspection.reasons.join('; ')}); none arrived within ${req.approvalTimeout}, nothing was changed`,
          nonRetryable: true,
        });
      }
    }
    state.phase = 'restoring';
    const result = await restoreBackup({
      database: req.database,
      backupId: state.backup.backupId,
      target: req.target,
      mode: req.mode,
      tables: req.tables,
      privileges: req.privileges,
      jobs: req.jobs,
      expect: inspection.exists ? 'existing' : 'new',
      approvedBy: state.approvedBy,
    });
    state.result = result;
    if (result.rowCounts && result.rowCounts.mismatches.length > 0) {
      throw ApplicationFailure.create({
        type: 'ROW_COUNT_MISMATCH',
        message: `Restore of ${req.database} into ${req.target} failed: row counts differ from the manifest: ${describeRowCountMismatches(result.rowCounts.mismatches)}`,
        nonRetryable: true,
      });
    }
    state.phase = 'done';
    return result;
  } catch (err) {
    state.phase = 'failed';
    state.error = innermostMessage(err);
    throw err;
  }
}
