// Approval steps and the handlers people reach a run with: the `approve`/`reject` updates, the
// `abort` signal and the `progress` query.
import { condition, setHandler } from '@temporalio/workflow';
import {
  ApprovalInputSchema,
  RejectInputSchema,
  describeIssues,
  formatDurationShort,
  lifeboatFailure,
  runbookAbortSignal,
  runbookApproveUpdate,
  runbookProgressQuery,
  runbookRejectUpdate,
  type AbortInput,
  type ApprovalInput,
  type RejectInput,
} from '../../src/contracts/index.js';
import type { z } from 'zod';
import { bookkeeping } from '../activities.js';
import { audit, notify, updateId } from '../observe.js';
import { runDatabase, showDetails, type Executor, type RunContext } from './context.js';
import { ms } from './options.js';

const APPROVAL_TIMEOUT_MS = 4 * 3_600_000;

/**
 * Why `by` may not approve `step` under four eyes (the step's `fourEyes`, else its database's), or
 * undefined: whoever started a live run does not approve its protected steps; drills rehearse alone.
 */
function selfApprovalRefusal(run: RunContext, step: string, by: string): string | undefined {
  if (run.input.drill || !run.progress.waitingFor?.fourEyes) return undefined;
  const starter = run.input.requestedBy;
  if (starter === undefined) return `four eyes apply to step "${step}" and the starter of this run is unknown: start it with requestedBy, as the CLI does`;
  if (starter === by) return `${by} started this run and may not approve step "${step}": four eyes apply, another holder of the role must approve`;
  return undefined;
}

/** Refuses a decision unless `step` is the one waiting and `by` holds its role. */
function checkDecider(run: RunContext, action: 'approve' | 'reject', schema: z.ZodType<{ step: string; by: string }>, raw: unknown): void {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw lifeboatFailure('INVALID_INPUT', `Invalid ${action}: ${describeIssues(parsed.error)}`);
  const { step, by } = parsed.data;
  const waiting = run.progress.steps.find((s) => s.state === 'waiting-approval');
  if (!waiting || waiting.id !== step || !run.progress.waitingFor) {
    throw lifeboatFailure('INVALID_INPUT', `Cannot ${action} step "${step}": it is not waiting for approval${waiting ? ` (waiting: ${waiting.id})` : ''}`);
  }
  if (action === 'approve') {
    const why = selfApprovalRefusal(run, step, by);
    if (why) throw lifeboatFailure('NOT_APPROVED', why);
  }
  const role = run.progress.waitingFor.role;
  const holders = run.roles[role] ?? [];
  if (!holders.includes(by)) {
    throw lifeboatFailure('NOT_APPROVED', `${by} may not ${action} step "${step}": it requires role ${role} (held by: ${holders.join(', ') || 'nobody'})`);
  }
}

/** Installs the query, updates and signal of a run. */
export function installHandlers(run: RunContext): void {
  setHandler(runbookProgressQuery, () => run.progress);
  const approve = ({ step, by }: ApprovalInput) => {
    run.decision = { kind: 'approved', step, by, updateId: updateId() };
    return { step, approvedBy: by };
  };
  const reject = ({ step, by, reason }: RejectInput) => {
    run.decision = { kind: 'rejected', step, by, reason, updateId: updateId() };
    return { step, rejectedBy: by };
  };
  setHandler(runbookApproveUpdate, approve, { validator: (a) => checkDecider(run, 'approve', ApprovalInputSchema, a) });
  setHandler(runbookRejectUpdate, reject, { validator: (r) => checkDecider(run, 'reject', RejectInputSchema, r) });
  setHandler(runbookAbortSignal, (a?: AbortInput) => {
    const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v.slice(0, 500) : undefined);
    run.aborted = { by: text(a?.by), reason: text(a?.reason) };
    run.stepScope.cancel();
  });
}

/**
 * Waits for a holder of `role` to approve or reject, up to the step's timeout (default 4 hours).
 * After `escalateAfter` it notifies `escalateTo` once and keeps waiting.
 */
export const approvalStep: Executor<'approval'> = async (w, call, run) => {
  const sp = call.progress;
  const timeoutMs = call.timeoutMs ?? APPROVAL_TIMEOUT_MS;
  run.progress.waitingFor = { step: call.id, role: w.role, since: new Date().toISOString(), fourEyes: w.fourEyes ?? run.fourEyes };
  sp.state = 'waiting-approval';
  run.progress.status = 'waiting-approval';
  showDetails(run);
  run.decision = undefined;
  const database = runDatabase(run);
  await notify({
    type: 'approval-needed',
    database,
    runbook: run.def.name,
    openedAt: run.progress.waitingFor.since,
    summary: `Runbook ${run.def.name}${run.input.drill ? ' (drill)' : ''} waits for approval of step ${call.id} by role ${w.role}`.slice(0, 300),
    details: `Approve with the Update form (update "approve") and {"step": "${call.id}", "by": "<your name>"}, or: lifeboat runbook approve ${run.workflowId} --step ${call.id} (run by a holder of the role as their OS user)`,
    facts: { step: call.id, role: w.role, drill: run.input.drill },
  });
  const decided = () => run.decision?.step === call.id;
  const deadline = Date.now() + timeoutMs;
  let done = false;
  try {
    const escalateMs = ms(w.escalateAfter, 'with.escalateAfter');
    if (escalateMs !== undefined && escalateMs < timeoutMs) {
      done = await condition(decided, escalateMs);
      if (!done) {
        await bookkeeping.notify({
          channel: w.escalateTo,
          runbook: run.def.name,
          step: call.id,
          message: `Approval of ${call.id} by ${w.role} is overdue (escalated)`,
        });
        sp.summary = `escalated to ${w.escalateTo}`;
      }
    }
    if (!done) done = await condition(decided, Math.max(1, deadline - Date.now()));
  } finally {
    run.progress.waitingFor = undefined;
    run.progress.status = 'running';
  }
  if (!done)
    throw lifeboatFailure(
      'APPROVAL_TIMEOUT',
      `Approval of step ${call.id} timed out after ${formatDurationShort(timeoutMs)}: approval required from role ${w.role}`,
    );
  const d = run.decision!;
  const because = d.reason ? `: ${d.reason}` : '';
  if (database)
    await audit({
      action: 'approval',
      outcome: d.kind,
      database,
      approver: d.by,
      updateId: d.updateId,
      target: { runbook: run.def.name, step: call.id },
      details: { role: w.role, drill: run.input.drill, requestedBy: run.input.requestedBy ?? null, ...(d.reason ? { reason: d.reason.slice(0, 500) } : {}) },
    });
  if (d.kind === 'rejected') {
    sp.summary = `rejected by ${d.by}${because}`;
    throw lifeboatFailure('RUNBOOK_REJECTED', `Step ${call.id} rejected by ${d.by}${because}`);
  }
  sp.approvedBy = d.by;
  return { output: { approvedBy: d.by }, summary: `approved by ${d.by}` };
};
