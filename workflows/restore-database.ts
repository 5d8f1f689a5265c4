import { CancellationScope, condition, isCancellation, setCurrentDetails, setHandler } from '@temporalio/workflow';
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
  type RestoreInput,
  type RestoreState,
  type TargetInspection,
  type WorkflowTypes,
} from '../src/contracts/index.js';
import { lookup, restorerOn } from './activities.js';
import { audit, notify, updateId } from './observe.js';
import { parseInput } from './validation.js';
import { withOutcome } from './outcome.js';

type Request = ReturnType<typeof parseRestore>;
const parseRestore = (input: RestoreInput) => parseInput(RestoreInputSchema, input, 'restoreDatabase');

/**
 * Waits for the `approve` update (telling whoever the routes name that it waits), then records
 * the approval with the approver's name and the identity that sent it.
 */
async function awaitApproval(req: Request, state: RestoreState, inspection: TargetInspection, approval: { updateId?: string }): Promise<void> {
  const timeoutMs = parseDuration(req.approvalTimeout)!;
  state.phase = 'awaiting-approval';
  const since = new Date().toISOString();
  state.approvalDeadline = new Date(Date.now() + timeoutMs).toISOString();
  const approvers = inspection.approvers.join(', ') || 'nobody (set approvers: in the configuration)';
  await notify({
    type: 'approval-needed',
    database: req.database,
    openedAt: since,
    summary: `Restore of ${req.database} into ${req.target} waits for an approval`.slice(0, 300),
    details: `${inspection.reasons.join('; ')}. Approvers: ${approvers}. Deadline: ${state.approvalDeadline}.`,
    facts: { target: req.target, backup: state.backup?.backupId ?? '' },
  });
  setCurrentDetails(
    `**waiting for approval** of the restore of ${req.database} into \`${req.target}\` (${inspection.reasons.join('; ')}) by one of: ${approvers}; deadline ${state.approvalDeadline}.\n\nUse the Update form (update \`approve\`) with \`{"approver": "<your name>", "target": "${req.target}"}\`.`,
  );
  const approved = await condition(() => state.approvedBy !== undefined, timeoutMs);
  setCurrentDetails(
    approved ? `approved by ${state.approvedBy}: restoring ${req.database} into \`${req.target}\`` : 'no approval arrived: nothing was changed',
  );
  if (!approved) {
    throw lifeboatFailure(
      'APPROVAL_REQUIRED',
      `Restore of ${req.database} into ${req.target} refused: approval required (${inspection.reasons.join('; ')}); none arrived within ${req.approvalTimeout}, nothing was changed`,
    );
  }
  await audit({
    action: 'approval',
    outcome: 'approved',
    database: req.database,
    target: { database: req.target, backupId: state.backup?.backupId },
    approver: state.approvedBy,
    updateId: approval.updateId,
    details: { workflow: 'restoreDatabase', reasons: inspection.reasons },
  });
}

/** Appends the restore's outcome to the audit log, with its approver when there was one. */
async function auditRestore(req: Request, state: RestoreState, approval: { updateId?: string }, err?: unknown): Promise<void> {
  const outcome = err === undefined ? 'succeeded' : isCancellation(err) ? 'cancelled' : 'failed';
  const r = state.result;
  await CancellationScope.nonCancellable(() =>
    audit({
      action: 'restore',
      outcome,
      database: req.database,
      target: { database: req.target, backupId: state.backup?.backupId, kind: state.backup?.kind },
      ...(state.approvedBy ? { approver: state.approvedBy, updateId: approval.updateId } : {}),
      details: { mode: req.mode, ...(r ? { restoreDurationMs: r.restoreDurationMs, created: r.created } : {}) },
      ...(state.error ? { message: state.error.slice(0, 2000) } : {}),
    }),
  );
}

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
export const restoreDatabase: WorkflowTypes['restoreDatabase'] = withOutcome(async (input) => {
  const req = parseRestore(input);
  const state: RestoreState = { phase: 'resolving', database: req.database, target: req.target, requestedBy: req.requestedBy };
  const approval: { updateId?: string } = {};
  setHandler(restoreProgressQuery, () => state);
  setHandler(
    approveRestoreUpdate,
    (a) => {
      state.approvedBy = a.approver;
      approval.updateId = updateId();
      return { approvedBy: a.approver, target: req.target };
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
    if (inspection.reasons.length > 0) await awaitApproval(req, state, inspection, approval);
    state.phase = 'restoring';
    const result = await restorerOn(state.backup.restoreTaskQueue).restoreBackup({
      database: req.database,
      backupId: state.backup.backupId,
      target: req.target,
      mode: req.mode,
      tables: req.tables,
      privileges: req.privileges,
      jobs: req.jobs,
      ...(req.withRoles ? { withRoles: true } : {}),
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
    await auditRestore(req, state, approval);
    return result;
  } catch (err) {
    state.phase = 'failed';
    state.error = innermostMessage(err);
    await auditRestore(req, state, approval, err);
    throw err;
  }
});
