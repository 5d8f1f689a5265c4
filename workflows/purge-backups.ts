import { condition, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  PurgeApprovalSchema,
  PurgeInputSchema,
  compactTimestamp,
  describeIssues,
  lifeboatFailure,
  parseDuration,
  purgeApproveUpdate,
  purgeProgressQuery,
  type PurgeAuditRecord,
  type PurgeState,
  type WorkflowTypes,
} from '../src/contracts/index.js';
import { housekeeping } from './activities.js';
import { audit as auditLog, notify, updateId } from './observe.js';
import { parseInput } from './validation.js';
import { withOutcome } from './outcome.js';

type Approved = { approvedBy: string; approvedAt: string; updateId?: string };

/** The `approve` update's validator: a refusal names why, and the purge goes on waiting. */
function checkApproval(raw: unknown, p: { database: string; requestedBy?: string }, state: PurgeState, approval: Approved | undefined): void {
  const refuse = (why: string) => {
    throw lifeboatFailure('APPROVAL_REJECTED', `Approval rejected: ${why}`);
  };
  const parsed = PurgeApprovalSchema.safeParse(raw);
  if (!parsed.success) return refuse(describeIssues(parsed.error));
  const a = parsed.data;
  if (state.phase !== 'awaiting-approval')
    return refuse(approval ? `already approved by ${approval.approvedBy}` : `the purge is ${state.phase}, not awaiting approval`);
  if (a.database !== p.database) return refuse(`the database typed out ("${a.database}") is not "${p.database}"`);
  if (!state.approvers?.includes(a.approver))
    return refuse(`${a.approver} may not approve purges of ${p.database} (allowed: ${state.approvers?.join(', ') || 'nobody'})`);
  if (p.requestedBy && a.approver === p.requestedBy) return refuse(`${a.approver} requested this purge and may not approve it`);
}

/** Tells whoever the routes name that the purge waits for an approval. */
async function notifyWaiting(p: { database: string; before: string; reason?: string }, total: number, approvers: string[], deadline: string): Promise<void> {
  setCurrentDetails(
    `**waiting for approval** of the purge of ${total} object(s) of ${p.database} before ${p.before} by one of: ${approvers.join(', ')}; deadline ${deadline}.\n\nUse the Update form (update \`approve\`) with \`{"approver": "<your name>", "database": "${p.database}"}\`.`,
  );
  await notify({
    type: 'approval-needed',
    database: p.database,
    openedAt: workflowInfo().startTime.toISOString(),
    summary: `Purge of ${p.database} backups before ${p.before} waits for an approval`,
    details: `${total} objects to delete${p.reason ? `; reason: ${p.reason}` : ''}. Approvers: ${approvers.join(', ')}. Deadline: ${deadline}.`,
  });
}

/** The approval in the audit log: the typed approver and the identity that sent the update. */
async function auditApproval(p: { database: string; before: string; requestedBy?: string }, approval: Approved): Promise<void> {
  setCurrentDetails(`approved by ${approval.approvedBy}: purging`);
  await auditLog({
    action: 'approval',
    outcome: 'approved',
    database: p.database,
    approver: approval.approvedBy,
    updateId: approval.updateId,
    details: { workflow: 'purgeBackups', before: p.before, requestedBy: p.requestedBy ?? null },
  });
}

/**
 * GDPR purge: deletes every copy of every backup of a database taken before a time, on every
 * storage target, after an approval. Input: `{ "database": "orders", "before": "2026-01-01T00:00:00Z",
 * "reason": "erasure request 4711", "requestedBy": "carol" }`. The workflow plans, then waits for
 * the `approve` update from an allowed approver (not the requester) who types the database name;
 * without it nothing is deleted. An audit record `<db>/audit/<time>-purge.json` is written on every
 * target before deleting (approved) and after (completed).
 */
export const purgeBackups: WorkflowTypes['purgeBackups'] = withOutcome(async (input) => {
  const p = parseInput(PurgeInputSchema, input, 'purgeBackups');
  const info = workflowInfo();
  if (Date.parse(p.before) > info.startTime.getTime()) {
    throw lifeboatFailure('INVALID_INPUT', `Invalid input for purgeBackups: before: ${p.before} is in the future`);
  }
  const state: PurgeState = { phase: 'planning', database: p.database, before: p.before };
  let approval: Approved | undefined;
  setHandler(purgeProgressQuery, () => state);
  setHandler(
    purgeApproveUpdate,
    (a) => {
      approval = { approvedBy: a.approver, approvedAt: new Date().toISOString(), updateId: updateId() };
      state.approvedBy = a.approver;
      return { approvedBy: approval.approvedBy, approvedAt: approval.approvedAt };
    },
    { validator: (raw) => checkApproval(raw, p, state, approval) },
  );

  const { targets: plan, approvers } = await housekeeping.planPurge({ database: p.database, before: p.before });
  state.plan = plan;
  state.approvers = approvers;
  const total = plan.reduce((n, t) => n + t.backups.length + t.leftovers + t.uploads, 0);
  const base = { database: p.database, before: p.before, dryRun: p.dryRun, plan };
  if (p.dryRun || total === 0) {
    state.phase = 'done';
    return { ...base, targets: [] };
  }
  if (approvers.length === 0) {
    state.phase = 'done';
    throw lifeboatFailure(
      'NOT_APPROVED',
      `Purge not approved: nobody may approve purges of ${p.database} (set retention.purgeApprovers or approvers); nothing deleted`,
    );
  }
  const timeoutMs = parseDuration(p.approvalTimeout)!;
  state.phase = 'awaiting-approval';
  state.approvalDeadline = new Date(Date.now() + timeoutMs).toISOString();
  await notifyWaiting(p, total, approvers, state.approvalDeadline);
  if (!(await condition(() => approval !== undefined, timeoutMs))) {
    state.phase = 'done';
    throw lifeboatFailure('NOT_APPROVED', `Purge not approved: no approval within ${p.approvalTimeout} (approvers: ${approvers.join(', ')}); nothing deleted`);
  }
  await auditApproval(p, approval!);

  state.phase = 'purging';
  const compactTime = compactTimestamp(info.startTime);
  const record: PurgeAuditRecord = {
    formatVersion: 1,
    action: 'purge',
    database: p.database,
    before: p.before,
    reason: p.reason,
    requestedBy: p.requestedBy,
    approvedBy: approval!.approvedBy,
    approvedAt: approval!.approvedAt,
    status: 'approved',
    workflow: { workflowId: info.workflowId, runId: info.runId },
    requestedAt: info.startTime.toISOString(),
    targets: [],
  };
  // The intent is on record before anything is deleted.
  await housekeeping.writePurgeAudit({ record, compactTime });
  for (const t of plan) {
    const out = await housekeeping.executePurge({ database: p.database, before: p.before, storage: t.storage });
    record.targets.push({
      storage: out.storage,
      deleted: out.deleted,
      leftovers: out.leftovers,
      uploads: out.uploads,
      bytes: out.bytes,
      problems: out.problems,
    });
  }
  record.status = record.targets.some((t) => t.problems.length > 0) ? 'completed-with-problems' : 'completed';
  record.completedAt = new Date().toISOString();
  const audit = await housekeeping.writePurgeAudit({ record, compactTime });
  state.phase = 'done';
  return { ...base, approvedBy: record.approvedBy, audit, targets: record.targets };
});
