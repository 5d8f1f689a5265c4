import { condition, setHandler } from '@temporalio/workflow';
import {
  ApprovalSchema,
  RestoreInputSchema,
  approvalRefusal,
  approveRestoreUpdate,
  describeIssues,
  describeRowCountMismatches,
  innermostMessage,
  lifeboatFailure,
  parseDuration,
  restoreProgressQuery,
  type RestoreState,
  type WorkflowTypes,
} from '../src/contracts/index.js';
import { lookup, restorerOn } from './activities.js';
import { parseInput } from './validation.js';

/**
 * Restores a backup into a database:
 * `{ "database": "orders", "backup": "latest", "target": "orders_restore", "mode": "full" }`.
 *
 * A target that exists and is not empty, is protected, or is the source itself is only touched
 * after an `approve` update from an allowed approver who types the target out (with four eyes, not
 * the requester: a protected target or the source itself of a production database); without one before
 * `approvalTimeout`, the workflow fails with "approval required" and nothing is changed.
 * Afterwards every restored table's row count must equal the manifest's.
 */
export const restoreDatabase: WorkflowTypes['restoreDatabase'] = async (input) => {
  const req = parseInput(RestoreInputSchema, input, 'restoreDatabase');
  const state: RestoreState = { phase: 'resolving', database: req.database, target: req.target, requestedBy: req.requestedBy };
  setHandler(restoreProgressQuery, () => state);
  setHandler(
    approveRestoreUpdate,
    (approval) => {
      state.approvedBy = approval.approver;
      return { approvedBy: approval.approver, target: req.target };
    },
    {
      validator: (raw) => {
        const refuse = (why: string) => {
          throw lifeboatFailure('APPROVAL_REJECTED', `Approval of the restore into ${req.target} rejected: ${why}`);
        };
        const parsed = ApprovalSchema.safeParse(raw);
        if (!parsed.success) return refuse(describeIssues(parsed.error));
        if (state.phase !== 'awaiting-approval') return refuse(`no approval is pending (the restore is ${state.phase})`);
        if (parsed.data.target !== req.target) return refuse(`the target must be typed out exactly: expected "${req.target}", got "${parsed.data.target}"`);
        const why = approvalRefusal(req.database, state.inspection ?? { approvers: [] }, parsed.data.approver, req.requestedBy);
        if (why) return refuse(why);
      },
    },
  );

  try {
    state.backup = await lookup.resolveRestoreBackup({ database: req.database, backup: req.backup, mode: req.mode });
    state.phase = 'inspecting';
    const inspection = await lookup.inspectRestoreTarget({ database: req.database, target: req.target, mode: req.mode });
    state.inspection = inspection;
    if (inspection.reasons.length > 0) {
      const timeoutMs = parseDuration(req.approvalTimeout)!;
      state.phase = 'awaiting-approval';
      state.approvalDeadline = new Date(Date.now() + timeoutMs).toISOString();
      if (!(await condition(() => state.approvedBy !== undefined, timeoutMs))) {
        throw lifeboatFailure(
          'APPROVAL_REQUIRED',
          `Restore of ${req.database} into ${req.target} refused: approval required (${inspection.reasons.join('; ')}); none arrived within ${req.approvalTimeout}, nothing was changed`,
        );
      }
    }
    state.phase = 'restoring';
    const result = await restorerOn(state.backup.restoreTaskQueue).restoreBackup({
      database: req.database,
      backupId: state.backup.backupId,
      target: req.target,
      mode: req.mode,
      tables: req.tables,
      privileges: req.privileges,
      jobs: req.jobs,
      expect: inspection.exists ? 'existing' : 'new',
      overwrite: req.overwrite,
      approvedBy: state.approvedBy,
    });
    state.result = result;
    if (result.rowCounts && result.rowCounts.mismatches.length > 0) {
      throw lifeboatFailure(
        'ROW_COUNT_MISMATCH',
        `Restore of ${req.database} into ${req.target} failed: row counts differ from the manifest: ${describeRowCountMismatches(result.rowCounts.mismatches)}`,
      );
    }
    state.phase = 'done';
    return result;
  } catch (err) {
    state.phase = 'failed';
    state.error = innermostMessage(err);
    throw err;
  }
};
