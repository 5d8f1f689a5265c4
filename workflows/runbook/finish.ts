// How a run ends: compensations after a failure, rejection or abort; the run record (drills and
// live runs); dropping a drill's scratch databases; the result or the failure.
import { CancellationScope, log } from '@temporalio/workflow';
import { failureCause, innermostMessage, lifeboatFailure, type RunbookResult } from '../../src/contracts/index.js';
import { bookkeeping } from '../activities.js';
import { notify } from '../observe.js';
import { runDatabase, showDetails, type RunContext } from './context.js';
import type { Measured } from './recovery.js';
import { compensate } from './steps.js';

type EndStatus = 'succeeded' | 'failed' | 'rejected' | 'aborted';

/** Records the run and drops a drill's scratch databases; a problem here never changes the outcome. */
async function closeRun(run: RunContext, status: EndStatus, measured: Measured, finishedAt: string): Promise<{ record?: string; notes: string[] }> {
  const notes: string[] = [];
  let record: string | undefined;
  const { def, input, progress } = run;
  try {
    record = await bookkeeping.recordRunbookRun({
      runbook: def.name,
      workflowId: run.workflowId,
      drill: input.drill,
      ...(input.requestedBy !== undefined ? { requestedBy: input.requestedBy } : {}),
      status,
      startedAt: new Date(run.recovery.startedAt).toISOString(),
      finishedAt,
      rtoMs: measured.rtoMs,
      rpoMs: measured.rpoMs,
      targets: def.targets,
      steps: progress.steps,
    });
  } catch (err) {
    notes.push(`The run record was not written: ${innermostMessage(err)}`);
  }
  const scratch = run.recovery.scratch;
  if (input.drill && scratch.length) {
    try {
      await bookkeeping.dropDrillDatabases({ databases: scratch });
    } catch (err) {
      notes.push(`The drill databases ${scratch.map((s) => s.dbname).join(', ')} were not dropped: ${innermostMessage(err)}`);
    }
  }
  for (const note of notes) log.warn(note, { runbook: def.name });
  return { record, notes };
}

function failureMessage(run: RunContext, status: EndStatus, failure: unknown): string {
  const a = run.aborted;
  if (a) return `Runbook ${run.def.name} aborted${a.by ? ` by ${a.by}` : ''}${a.reason ? `: ${a.reason}` : ''}`;
  const failed = run.progress.steps.find((s) => s.state === 'failed');
  return `Runbook ${run.def.name} ${status}: ${failed ? `step ${failed.id}: ` : ''}${innermostMessage(failure, 300)}`;
}

/**
 * Ends a run, in a scope the abort (or a cancelled workflow) cannot cancel: returns the result
 * of a run whose steps all succeeded, else compensates and throws `RUNBOOK_FAILED`,
 * `RUNBOOK_REJECTED` or `RUNBOOK_ABORTED` with the progress as details.
 */
export function finish(run: RunContext, failure: unknown): Promise<RunbookResult> {
  return CancellationScope.nonCancellable(async () => {
    const { progress, def } = run;
    const ok = failure === undefined && !run.aborted;
    if (!ok) await compensate(run);
    const status: EndStatus = ok ? 'succeeded' : run.aborted ? 'aborted' : failureCause(failure).type === 'RUNBOOK_REJECTED' ? 'rejected' : 'failed';
    progress.status = status;
    progress.current = undefined;
    const finishedAt = new Date().toISOString();
    const measured: Measured = ok ? run.recovery.measure(def.targets) : { rtoMs: null, rpoMs: null, met: { rto: null, rpo: null } };
    showDetails(run);
    const { record, notes } = await closeRun(run, status, measured, finishedAt);
    const kind = run.input.drill ? 'Drill' : 'Runbook';
    await notify({
      type: 'runbook-finished',
      database: runDatabase(run),
      runbook: def.name,
      openedAt: new Date(run.recovery.startedAt).toISOString(),
      summary: (ok ? `${kind} ${def.name} succeeded` : failureMessage(run, status, failure)).slice(0, 300),
      details: progress.steps
        .map((s) => `${s.id}: ${s.state}${s.summary ? `: ${s.summary}` : ''}`)
        .join('\n')
        .slice(0, 4000),
      facts: {
        status,
        drill: run.input.drill,
        ...(measured.rtoMs !== null ? { rtoMs: measured.rtoMs } : {}),
        ...(measured.rpoMs !== null ? { rpoMs: measured.rpoMs } : {}),
      },
    });
    if (!ok) {
      const code = status === 'aborted' ? 'RUNBOOK_ABORTED' : status === 'rejected' ? 'RUNBOOK_REJECTED' : 'RUNBOOK_FAILED';
      throw lifeboatFailure(code, failureMessage(run, status, failure), [progress]);
    }
    return {
      runbook: def.name,
      drill: run.input.drill,
      status: 'succeeded',
      startedAt: new Date(run.recovery.startedAt).toISOString(),
      finishedAt,
      ...measured,
      targets: def.targets,
      steps: progress.steps,
      ...(record ? { record } : {}),
      ...(notes.length ? { notes } : {}),
    };
  });
}
