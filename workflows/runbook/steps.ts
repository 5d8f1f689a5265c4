// Running one step: skip it (drill cutover, `when`), render and re-check its `with`, dispatch it
// to its type's executor, and keep its progress. Compensations go through the same executors.
import { CancellationScope, isCancellation } from '@temporalio/workflow';
import {
  checkStepWith,
  describeWithIssues,
  failureCause,
  innermostMessage,
  lifeboatFailure,
  type StepSpec,
  type StepType,
  type StepWith,
} from '../../src/contracts/index.js';
import { condition as whenCondition, render, type TemplateScope } from '../../src/contracts/template.js';
import { approvalStep } from './approvals.js';
import { restoreStep, verifyStep } from './children.js';
import { commandStep, httpCheckStep, neonBranchStep, notifyStep, planetScaleBranchStep, rdsSnapshotStep, sqlStep, waitStep } from './actions.js';
import { audit } from '../observe.js';
import { runDatabase, showDetails, stepProgress, type Executor, type RunContext, type StepCall, type StepOutcome } from './context.js';
import { ms } from './options.js';

/** One executor per step type. */
const EXECUTORS: { [T in StepType]: Executor<T> } = {
  restore: restoreStep,
  verify: verifyStep,
  sql: sqlStep,
  command: commandStep,
  'http-check': httpCheckStep,
  approval: approvalStep,
  notify: notifyStep,
  wait: waitStep,
  'neon-branch': neonBranchStep,
  'rds-snapshot': rdsSnapshotStep,
  'planetscale-branch': planetScaleBranchStep,
};

/**
 * Renders the templates of a step's `with` and checks the result against the step type's
 * schema: a template that fails or renders a bad value is an `INVALID_INPUT` naming the field.
 */
export function renderWith<T extends StepType>(type: T, stepId: string, raw: Record<string, unknown>, scope: TemplateScope): StepWith<T> {
  const rendered: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    try {
      rendered[key] = render(value, scope);
    } catch (err) {
      throw lifeboatFailure('INVALID_INPUT', `Invalid step ${stepId}: with.${key}: ${(err as Error).message}`);
    }
  }
  const checked = checkStepWith(type, rendered);
  if (!checked.ok) throw lifeboatFailure('INVALID_INPUT', `Invalid step ${stepId}: ${describeWithIssues(checked.issues)} (after rendering templates)`);
  return checked.with;
}

/** Runs a rendered step with its type's executor. */
function execute<T extends StepType>(type: T, w: StepWith<T>, call: StepCall, run: RunContext): Promise<StepOutcome> {
  const executor: Executor<T> = EXECUTORS[type];
  return executor(w, call, run);
}

function skipReason(run: RunContext, step: StepSpec): string | undefined {
  if (run.input.drill && step.cutover) return 'cutover steps do not run in drills';
  if (step.when === undefined) return undefined;
  let go: boolean;
  try {
    go = whenCondition(step.when, run.scope);
  } catch (err) {
    throw lifeboatFailure('INVALID_INPUT', `Invalid step ${step.id}: when: ${(err as Error).message}`);
  }
  return go ? undefined : `when: ${step.when}`;
}

/** Appends a step's outcome to the audit log of the run's database (a run without one keeps its run record only). */
async function auditStep(run: RunContext, step: StepSpec, outcome: 'succeeded' | 'failed' | 'cancelled'): Promise<void> {
  const database = runDatabase(run);
  if (!database) return;
  const sp = stepProgress(run, step.id);
  await CancellationScope.nonCancellable(() =>
    audit({
      action: 'runbook-step',
      outcome,
      database,
      target: { runbook: run.def.name, step: step.id },
      details: { type: step.type, attempts: sp.attempts, drill: run.input.drill, ...(sp.approvedBy ? { approvedBy: sp.approvedBy } : {}) },
      ...(sp.summary ? { message: sp.summary.slice(0, 2000) } : {}),
    }),
  );
}

/** Runs one step; returns its failure, or undefined when it succeeded or was skipped. */
export async function runStep(run: RunContext, step: StepSpec): Promise<unknown> {
  const sp = stepProgress(run, step.id);
  run.progress.current = step.id;
  try {
    const skipped = skipReason(run, step);
    if (skipped) {
      sp.state = 'skipped';
      sp.skippedBecause = skipped;
      run.scope.steps[step.id] = { state: 'skipped' };
      return undefined;
    }
    const w = renderWith(step.type, step.id, step.with, run.scope);
    sp.state = 'running';
    sp.startedAt = new Date().toISOString();
    sp.attempts += 1;
    showDetails(run);
    const call: StepCall = { id: step.id, timeoutMs: ms(step.timeout, 'timeout'), retry: step.retry, progress: sp };
    // Steps run in the scope an abort cancels; compensations (below) do not.
    const outcome = await run.stepScope.run(() => execute(step.type, w, call, run));
    sp.state = 'succeeded';
    sp.finishedAt = new Date().toISOString();
    sp.summary = outcome.summary;
    run.scope.steps[step.id] = { state: 'succeeded', output: outcome.output };
    if (step.type === 'restore' || step.cutover) run.recovery.recovered(Date.now());
    if (step.compensation) run.compensations.push({ stepId: step.id, spec: step.compensation });
    await auditStep(run, step, 'succeeded');
    return undefined;
  } catch (err) {
    // A cancelled workflow (the UI's Cancel) stops like an abort: compensations run.
    if (!run.aborted && isCancellation(err) && CancellationScope.current().consideredCancelled) run.aborted = { reason: 'the workflow was cancelled' };
    sp.state = 'failed';
    sp.finishedAt = new Date().toISOString();
    sp.summary ??= run.aborted ? 'cancelled by abort' : innermostMessage(err, 300);
    sp.failureType = run.aborted ? 'RUNBOOK_ABORTED' : failureCause(err).type;
    await auditStep(run, step, run.aborted ? 'cancelled' : 'failed');
    return err;
  } finally {
    showDetails(run);
  }
}

/**
 * Runs the compensations of completed steps in reverse order; a failed one does not stop the
 * others. The caller runs it in a non-cancellable scope.
 */
export async function compensate(run: RunContext): Promise<void> {
  run.progress.status = 'compensating';
  showDetails(run);
  for (const { stepId, spec } of [...run.compensations].reverse()) {
    const sp = stepProgress(run, stepId);
    try {
      const id = `${stepId}-compensation`;
      const w = renderWith(spec.type, id, spec.with, run.scope);
      await execute(spec.type, w, { id, timeoutMs: ms(spec.timeout, 'compensation.timeout'), progress: sp }, run);
      sp.state = 'compensated';
    } catch (err) {
      sp.state = 'compensation-failed';
      sp.summary = `compensation failed: ${innermostMessage(err, 300)}`;
    }
    showDetails(run);
  }
}
