import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  condition,
  executeChild,
  startChild,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { WORKFLOWS, lifeboatFailure, runbookAbortSignal as abortSignal, runbookApproveUpdate as approveUpdate, runbookProgressQuery as progressQuery, runbookRejectUpdate as rejectUpdate, type WorkflowTypes } from '../src/contracts/index.js';
import { bookkeeping, lookup } from './activities.js';
import {
  RunbookInputSchema,
  type CompensationSpec,
  type LoadedRunbook,
  type RunbookProgress,
  type RunbookResult,
  type StepProgress,
  type StepSpec,
} from '../src/contracts/runbook.js';
import { condition as whenCondition, render, type TemplateScope } from '../src/contracts/template.js';
import { parseInput } from './validation.js';

const { loadRunbook } = lookup;

function stepActivities(step: { timeout?: string; retry?: StepSpec['retry'] }, heartbeat: boolean): Activities {
  const options: ActivityOptions = {
    startToCloseTimeout: (step.timeout ?? '30 minutes') as ActivityOptions['startToCloseTimeout'],
    retry: {
      maximumAttempts: step.retry?.maximumAttempts ?? 1,
      initialInterval: (step.retry?.initialInterval ?? '5s') as '5s',
      backoffCoefficient: step.retry?.backoffCoefficient ?? 2,
    },
  };
  if (heartbeat) options.heartbeatTimeout = '30 seconds';
  return proxyActivities<Activities>(options);
}

function oneLine(err: unknown): string {
  let e: unknown = err;
  let msg = (err as Error)?.message ?? String(err);
  while (e instanceof ActivityFailure || e instanceof ChildWorkflowFailure) {
    e = e.cause;
    if ((e as Error)?.message) msg = (e as Error).message;
  }
  return msg.length > 300 ? `${msg.slice(0, 299)}…` : msg;
}

/**
 * Runs a disaster-recovery runbook: `{ "runbook": "provider-outage", "params": { "database": "orders" }, "drill": false }`.
 * Steps run in order; approvals wait for the `approve` update from someone holding the role.
 * Rejection, abort or a failed step runs the compensations of completed steps in reverse order.
 */
export async function runRunbook(raw: unknown): Promise<RunbookResult> {
  const input = parseInput(RunbookInputSchema, raw, 'runRunbook');
  const info = workflowInfo();
  const startedAt = new Date(info.startTime.getTime());
  const params = { ...input.params, ...(input.database !== undefined ? { database: input.database } : {}) };
  const loaded: LoadedRunbook = await loadRunbook({ runbook: input.runbook, params, drill: input.drill });
  const def = loaded.definition;

  const progress: RunbookProgress = {
    runbook: def.name,
    drill: input.drill,
    status: 'running',
    steps: def.steps.map((s) => ({ id: s.id, type: s.type, state: 'pending', attempts: 0 })),
  };
  const scope: TemplateScope = { params: { ...loaded.params }, steps: {}, drill: input.drill, run: { workflowId: info.workflowId, id: info.runId.slice(0, 8) } };
  // Parameter defaults may refer to other parameters: `target: "${{ params.database }}_dr"`.
  for (const [k, v] of Object.entries(scope.params)) if (typeof v === 'string' && v.includes('${{')) scope.params[k] = render(v, scope);
  let decision: { kind: 'approved' | 'rejected'; step: string; by: string; reason?: string } | undefined;
  let aborted: { by?: string; reason?: string } | undefined;
  const stepScope = new CancellationScope();
  const compensations: Array<{ stepId: string; spec: CompensationSpec }> = [];
  const rpoSamples: number[] = [];
  let lastRecoveryEnd: number | undefined;

  const details = () => {
    const current = progress.steps.find((s) => s.id === progress.current);
    const idx = current ? progress.steps.indexOf(current) + 1 : progress.steps.length;
    const lines = [`**${def.name}**${input.drill ? ' (drill)' : ''}: ${progress.status}`];
    if (current) lines.push(`step ${idx}/${progress.steps.length} \`${current.id}\` (${current.type}): ${current.state}`);
    if (progress.waitingFor) lines.push(`waiting for approval by role **${progress.waitingFor.role}**: \`lifeboat runbook approve ${info.workflowId} --step ${progress.waitingFor.step} --as <name>\``);
    for (const s of progress.steps) lines.push(`- ${s.id}: ${s.state}${s.summary ? `: ${s.summary}` : ''}`);
    setCurrentDetails(lines.join('\n'));
  };

  const waitingStep = () => progress.steps.find((s) => s.state === 'waiting-approval');
  const checkApprover = (step: string, by: string, action: string) => {
    const waiting = waitingStep();
    if (!waiting || waiting.id !== step) {
      throw new Error(`Cannot ${action} step "${step}": it is not waiting for approval${waiting ? ` (waiting: ${waiting.id})` : ''}`);
    }
    const role = progress.waitingFor!.role;
    const holders = loaded.roles[role] ?? [];
    if (!holders.includes(by)) {
      throw new Error(`${by} may not ${action} step "${step}": it requires role ${role} (held by: ${holders.join(', ') || 'nobody'})`);
    }
  };

  setHandler(progressQuery, () => progress);
  setHandler(
    approveUpdate,
    ({ step, by }) => {
      decision = { kind: 'approved', step, by };
      return { step, approvedBy: by };
    },
    { validator: ({ step, by }) => checkApprover(step, by, 'approve') },
  );
  setHandler(
    rejectUpdate,
    ({ step, by, reason }) => {
      decision = { kind: 'rejected', step, by, reason };
      return { step, rejectedBy: by };
    },
    { validator: ({ step, by }) => checkApprover(step, by, 'reject') },
  );
  setHandler(abortSignal, (a) => {
    aborted = a ?? {};
    stepScope.cancel();
  });

  async function runApproval(step: StepSpec, sp: StepProgress, w: Record<string, unknown>): Promise<void> {
    const role = String(w.role);
    const timeout = (step.timeout ?? '4 hours') as '4h';
    progress.waitingFor = { step: step.id, role, since: new Date().toISOString() };
    sp.state = 'waiting-approval';
    progress.status = 'waiting-approval';
    details();
    decision = undefined;
    const until = () => (decision !== undefined && decision.step === step.id) || aborted !== undefined;
    let done = false;
    if (w.escalateAfter) {
      done = await condition(until, w.escalateAfter as '1h');
      if (!done) {
        const escalation = String(w.escalateTo ?? 'log');
        await bookkeeping.notify({ channel: escalation, runbook: def.name, step: step.id, message: `Approval of ${step.id} by ${role} is overdue (escalated)` });
        sp.summary = `escalated to ${escalation}`;
      }
    }
    if (!done) done = await condition(until, timeout);
    progress.waitingFor = undefined;
    progress.status = 'running';
    if (aborted) throw lifeboatFailure('RUNBOOK_ABORTED', `Runbook ${def.name} aborted`);
    if (!done) {
      throw lifeboatFailure('APPROVAL_TIMEOUT', `Approval of step ${step.id} timed out after ${timeout}: approval required from role ${role}`);
    }
    if (decision!.kind === 'rejected') {
      sp.summary = `rejected by ${decision!.by}${decision!.reason ? `: ${decision!.reason}` : ''}`;
      throw lifeboatFailure('RUNBOOK_REJECTED', `Step ${step.id} rejected by ${decision!.by}${decision!.reason ? `: ${decision!.reason}` : ''}`);
    }
    sp.approvedBy = decision!.by;
    sp.summary = `approved by ${decision!.by}`;
  }

  async function execute(type: StepSpec['type'], id: string, w: Record<string, unknown>, opts: { timeout?: string; retry?: StepSpec['retry'] }): Promise<{ output: unknown; summary: string }> {
    switch (type) {
      case 'restore': {
        const childInput: Record<string, unknown> = { ...w };
        delete childInput.drillTarget;
        delete childInput.approvedBy;
        if (typeof childInput.tables === 'string') childInput.tables = childInput.tables.split(',').map((t) => t.trim()).filter(Boolean);
        if (input.drill) childInput.target = w.drillTarget ?? `${String(w.target)}_drill_${scope.run.id}`;
        const started = Date.now();
        const child = await startChild<WorkflowTypes['restoreDatabase']>(WORKFLOWS.restoreDatabase, {
          args: [childInput as Parameters<WorkflowTypes['restoreDatabase']>[0]],
          workflowId: `${info.workflowId}/${id}`,
          workflowExecutionTimeout: (opts.timeout ?? '12 hours') as '12h',
        });
        // An approval given in the runbook (e.g. to copy tables back into production) is passed on
        // to the restore, which checks the approver against its own allow-list.
        if (w.approvedBy) await bookkeeping.forwardRestoreApproval({ workflowId: child.workflowId, approver: String(w.approvedBy), target: String(childInput.target) });
        const result = (await child.result()) as unknown as Record<string, unknown>;
        const backupId = String(result.backupId ?? '');
        const backupStartedAt = typeof result.backupStartedAt === 'string' ? result.backupStartedAt : backupId ? await bookkeeping.backupStartedAt({ database: String(w.database), backupId }) : null;
        if (backupStartedAt) rpoSamples.push(started - Date.parse(backupStartedAt));
        return { output: { ...result, target: childInput.target }, summary: `restored ${backupId || 'backup'} into ${String(childInput.target)}` };
      }
      case 'verify': {
        const result = (await executeChild<WorkflowTypes['verifyBackup']>(WORKFLOWS.verifyBackup, { args: [w as Parameters<WorkflowTypes['verifyBackup']>[0]], workflowId: `${info.workflowId}/${id}`, workflowExecutionTimeout: (opts.timeout ?? '12 hours') as '12h' })) as unknown as Record<string, unknown>;
        return { output: result, summary: `verification ${String(result.outcome ?? 'done')}` };
      }
      case 'sql': {
        const r = await stepActivities(opts, false).runbookSql({ database: String(w.database), dbname: w.dbname === undefined ? undefined : String(w.dbname), sql: String(w.sql), assert: Boolean(w.assert) });
        return { output: r, summary: r.summary };
      }
      case 'command': {
        const r = await stepActivities(opts, true).runbookCommand({ command: String(w.command), args: Array.isArray(w.args) ? w.args.map(String) : [], runbook: def.name, step: id });
        return { output: r, summary: r.summary };
      }
      case 'http-check': {
        const r = await stepActivities(opts, true).httpCheck({
          url: String(w.url),
          expectStatus: w.expectStatus === undefined ? 200 : Number(w.expectStatus),
          bodyContains: w.bodyContains === undefined ? undefined : String(w.bodyContains),
          interval: String(w.interval ?? '2s'),
        });
        return { output: r, summary: r.summary };
      }
      case 'notify': {
        await stepActivities(opts, false).notify({ channel: String(w.channel ?? 'log'), runbook: def.name, step: id, message: String(w.message) });
        return { output: null, summary: `notified ${String(w.channel ?? 'log')}` };
      }
      case 'wait': {
        await sleep(String(w.duration) as '1s');
        return { output: null, summary: `waited ${String(w.duration)}` };
      }
      default:
        throw lifeboatFailure('INVALID_INPUT', `Unknown step type ${type}`);
    }
  }

  async function compensate(): Promise<void> {
    progress.status = 'compensating';
    details();
    await CancellationScope.nonCancellable(async () => {
      for (const { stepId, spec } of [...compensations].reverse()) {
        const sp = progress.steps.find((s) => s.id === stepId)!;
        try {
          const w = render(spec.with, scope) as Record<string, unknown>;
          await execute(spec.type, `${stepId}-compensation`, w, { timeout: spec.timeout });
          sp.state = 'compensated';
        } catch (err) {
          sp.state = 'compensation-failed';
          sp.summary = `compensation failed: ${oneLine(err)}`;
        }
        details();
      }
    });
  }

  details();
  let failure: unknown;
  for (const step of def.steps) {
    const sp = progress.steps.find((s) => s.id === step.id)!;
    if (aborted) break;
    progress.current = step.id;
    if (input.drill && step.cutover) {
      sp.state = 'skipped';
      sp.skippedBecause = 'cutover steps do not run in drills';
      scope.steps[step.id] = { state: 'skipped' };
      details();
      continue;
    }
    try {
      if (step.when !== undefined && !whenCondition(step.when, scope)) {
        sp.state = 'skipped';
        sp.skippedBecause = `when: ${step.when}`;
        scope.steps[step.id] = { state: 'skipped' };
        details();
        continue;
      }
      const w = render(step.with, scope) as Record<string, unknown>;
      sp.state = 'running';
      sp.startedAt = new Date().toISOString();
      sp.attempts += 1;
      details();
      if (step.type === 'approval') {
        await runApproval(step, sp, w);
        scope.steps[step.id] = { state: 'succeeded', output: { approvedBy: sp.approvedBy } };
      } else {
        const { output, summary } = await stepScope.run(() => execute(step.type, step.id, w, step));
        sp.summary = summary;
        scope.steps[step.id] = { state: 'succeeded', output };
      }
      sp.state = 'succeeded';
      sp.finishedAt = new Date().toISOString();
      if (step.type === 'restore' || step.cutover) lastRecoveryEnd = Date.now();
      if (step.compensation) compensations.push({ stepId: step.id, spec: step.compensation });
      details();
    } catch (err) {
      sp.state = 'failed';
      sp.finishedAt = new Date().toISOString();
      sp.summary ??= aborted || isCancellation(err) ? 'cancelled by abort' : oneLine(err);
      failure = err;
      details();
      break;
    }
  }

  if (failure !== undefined || aborted) {
    await compensate();
    const kind = aborted ? 'aborted' : (failure as ApplicationFailure)?.type === 'RUNBOOK_REJECTED' ? 'rejected' : 'failed';
    progress.status = kind;
    progress.current = undefined;
    details();
    if (input.drill) await bookkeeping.recordRunbookRun({ runbook: def.name, workflowId: info.workflowId, drill: true, status: kind, startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), rtoMs: null, rpoMs: null, targets: def.targets, steps: progress.steps });
    const failedStep = progress.steps.find((s) => s.state === 'failed' || s.state === 'compensated' || s.state === 'compensation-failed');
    const why = aborted ? `aborted${aborted.by ? ` by ${aborted.by}` : ''}${aborted.reason ? `: ${aborted.reason}` : ''}` : `${failedStep ? `step ${progress.steps.find((s) => s.state === 'failed')?.id ?? failedStep.id}: ` : ''}${oneLine(failure)}`;
    throw lifeboatFailure(aborted ? 'RUNBOOK_ABORTED' : kind === 'rejected' ? 'RUNBOOK_REJECTED' : 'RUNBOOK_FAILED', `Runbook ${def.name} ${kind}: ${why}`, [progress]);
  }

  progress.status = 'succeeded';
  progress.current = undefined;
  const finishedAt = new Date();
  const rtoMs = lastRecoveryEnd === undefined ? null : lastRecoveryEnd - startedAt.getTime();
  const rpoMs = rpoSamples.length ? Math.max(...rpoSamples) : null;
  const result: RunbookResult = {
    runbook: def.name,
    drill: input.drill,
    status: 'succeeded',
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    rtoMs,
    rpoMs,
    targets: def.targets,
    met: {
      rto: rtoMs === null || def.targets.rtoMinutes === undefined ? null : rtoMs <= def.targets.rtoMinutes * 60_000,
      rpo: rpoMs === null || def.targets.rpoMinutes === undefined ? null : rpoMs <= def.targets.rpoMinutes * 60_000,
    },
    steps: progress.steps,
  };
  details();
  if (input.drill) {
    await bookkeeping.recordRunbookRun({ ...result, workflowId: info.workflowId });
    await bookkeeping.dropDrillDatabases({
      databases: progress.steps
        .filter((s) => s.type === 'restore' && s.state === 'succeeded')
        .map((s) => {
          const out = scope.steps[s.id]?.output as { target?: string } | undefined;
          const w = def.steps.find((d) => d.id === s.id)!.with;
          return { database: String(render(w.database, scope)), dbname: String(out?.target ?? '') };
        }),
    });
  }
  return result;
}
