// Executors of the steps that run another Lifeboat workflow as a child: restore and verify.
import { executeChild, startChild } from '@temporalio/workflow';
import { WORKFLOWS, type WorkflowTypes } from '../../src/contracts/index.js';
import { bookkeeping } from '../activities.js';
import type { Executor, RunContext, StepCall } from './context.js';
import { childMetadata } from '../outcome.js';

const CHILD_TIMEOUT_MS = 12 * 3_600_000;

/** A child keeps the runbook's priority level (inherited); its database is its fairness key. */
function childOptions(run: RunContext, call: StepCall, database: string) {
  return { workflowId: `${run.workflowId}/${call.id}`, workflowExecutionTimeout: call.timeoutMs ?? CHILD_TIMEOUT_MS, priority: { fairnessKey: database } };
}

/**
 * Restores with `restoreDatabase`. A drill restores into `drillTarget` (default
 * `<target>_drill_<run>`). An approval obtained in the runbook (`approvedBy`) is passed on to
 * the restore, which checks the approver against its own allow-list.
 */
export const restoreStep: Executor<'restore'> = async (w, call, run) => {
  const { drillTarget, approvedBy, ...request } = w;
  const drill = run.input.drill;
  const target = drill ? (drillTarget ?? `${w.target}_drill_${run.scope.run.id}`) : w.target;
  const startedAt = Date.now();
  const child = await startChild<WorkflowTypes['restoreDatabase']>(WORKFLOWS.restoreDatabase, {
    args: [{ ...request, target }],
    ...childOptions(run, call, w.database),
    ...childMetadata({ database: w.database, kind: 'restore' }, `restore of ${w.database} into ${target} (runbook ${run.def.name}, step ${call.id})`),
  });
  if (approvedBy) await bookkeeping.forwardRestoreApproval({ workflowId: child.workflowId, approver: approvedBy, target });
  const result = await child.result();
  run.recovery.restored({ database: w.database, target, startedAt, backupStartedAt: result.backupStartedAt, drill });
  return { output: { ...result, target }, summary: `restored ${result.backupId} into ${target}` };
};

/** Verifies a backup with `verifyBackup` (which fails when a check fails). */
export const verifyStep: Executor<'verify'> = async (w, call, run) => {
  const result = await executeChild<WorkflowTypes['verifyBackup']>(WORKFLOWS.verifyBackup, {
    args: [w],
    ...childOptions(run, call, w.database),
    ...childMetadata({ database: w.database, kind: 'verify' }, `verification of ${w.database} (runbook ${run.def.name}, step ${call.id})`),
  });
  return { output: result, summary: `verification ${result.outcome}` };
};
