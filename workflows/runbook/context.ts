// The state of one runbook run, shared by the orchestrator, the executors and the handlers.
import { CancellationScope, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import {
  lifeboatFailure,
  type AbortInput,
  type CompensationSpec,
  type LoadedRunbook,
  type RetrySpec,
  type RunbookDefinition,
  type RunbookProgress,
  type RunbookRequest,
  type StepProgress,
  type StepType,
  type StepWith,
} from '../../src/contracts/index.js';
import { render, type TemplateScope } from '../../src/contracts/template.js';
import { RecoveryLog } from './recovery.js';

export interface RunContext {
  readonly input: RunbookRequest;
  readonly workflowId: string;
  readonly def: RunbookDefinition;
  readonly roles: Record<string, string[]>;
  /** Four eyes on approval steps unless a step says otherwise (the database's `fourEyes`). */
  readonly fourEyes: boolean;
  /** What templates see: parameters, step outputs, `drill`, `run`. */
  readonly scope: TemplateScope;
  /** What the `progress` query returns. */
  readonly progress: RunbookProgress;
  readonly recovery: RecoveryLog;
  /** Compensations of completed steps, in the order the steps ran. */
  readonly compensations: Array<{ stepId: string; spec: CompensationSpec }>;
  /** Every step runs in this scope; an abort cancels it. */
  readonly stepScope: CancellationScope;
  /** Set by the `abort` signal, or when the workflow itself is cancelled. */
  aborted?: AbortInput;
  /** The decision on the step waiting for approval (steps run one at a time). */
  decision?: { kind: 'approved' | 'rejected'; step: string; by: string; reason?: string; updateId?: string };
}

/** One call of an executor: a step, or the compensation of one. */
export interface StepCall {
  /** Step id (`<id>-compensation` for a compensation): names child workflows and command runs. */
  id: string;
  timeoutMs?: number;
  retry?: RetrySpec;
  progress: StepProgress;
}

export interface StepOutcome {
  /** What later templates see as `steps.<id>.output`. */
  output: unknown;
  /** One line for the progress and the current details. */
  summary: string;
}

/** Runs one step type, typed by its rendered `with`. */
export type Executor<T extends StepType> = (w: StepWith<T>, call: StepCall, run: RunContext) => Promise<StepOutcome>;

/** The run of a loaded runbook; parameter defaults may refer to other parameters. */
export function createRun(input: RunbookRequest, loaded: LoadedRunbook): RunContext {
  const info = workflowInfo();
  const def = loaded.definition;
  const scope: TemplateScope = {
    params: { ...loaded.params },
    steps: {},
    drill: input.drill,
    run: { workflowId: info.workflowId, id: info.runId.slice(0, 8) },
  };
  // `target: "${{ params.database }}_dr"`
  for (const [k, v] of Object.entries(scope.params)) {
    if (typeof v !== 'string' || !v.includes('${{')) continue;
    try {
      scope.params[k] = render(v, scope);
    } catch (err) {
      throw lifeboatFailure('INVALID_INPUT', `Invalid parameter params.${k} of runbook ${def.name}: ${(err as Error).message}`);
    }
  }
  return {
    input,
    workflowId: info.workflowId,
    def,
    roles: loaded.roles,
    fourEyes: loaded.fourEyes ?? false,
    scope,
    progress: {
      runbook: def.name,
      drill: input.drill,
      ...(input.requestedBy !== undefined ? { requestedBy: input.requestedBy } : {}),
      status: 'running',
      steps: def.steps.map((s) => ({ id: s.id, type: s.type, state: 'pending', attempts: 0 })),
    },
    recovery: new RecoveryLog(info.startTime.getTime()),
    compensations: [],
    stepScope: new CancellationScope(),
  };
}

/** The database a run is about (its `database` parameter), if it names one: where its audit records go. */
export function runDatabase(run: RunContext): string | undefined {
  const d = run.input.database ?? run.scope.params.database;
  return typeof d === 'string' && d !== '' ? d : undefined;
}

export function stepProgress(run: RunContext, id: string): StepProgress {
  return run.progress.steps.find((s) => s.id === id)!;
}

/** The Temporal UI's *Current Details*: status, the current step, how to approve, every step. */
export function showDetails(run: RunContext): void {
  const p = run.progress;
  const current = p.steps.find((s) => s.id === p.current);
  const lines = [`**${run.def.name}**${p.drill ? ' (drill)' : ''}: ${p.status}`];
  if (current) lines.push(`step ${p.steps.indexOf(current) + 1}/${p.steps.length} \`${current.id}\` (${current.type}): ${current.state}`);
  if (p.waitingFor)
    lines.push(
      `waiting for approval by role **${p.waitingFor.role}** of step \`${p.waitingFor.step}\`: use the Update form (update \`approve\`) with \`{"step": "${p.waitingFor.step}", "by": "<your name>"}\`, or \`lifeboat runbook approve ${run.workflowId} --step ${p.waitingFor.step}\` as a role holder's OS user`,
    );
  for (const s of p.steps) lines.push(`- ${s.id}: ${s.state}${s.summary ? `: ${s.summary}` : ''}`);
  setCurrentDetails(lines.join('\n'));
}
