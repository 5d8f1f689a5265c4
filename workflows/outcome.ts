// The `LifeboatOutcome` search attribute at a run's end, and the attributes a child run starts
// with. Only runs started with Lifeboat's attributes (a namespace that has them registered)
// upsert: a run started without them, or on a namespace without them, is left as it is.
import { ContinueAsNew, isCancellation, upsertSearchAttributes, workflowInfo, type ChildWorkflowOptions } from '@temporalio/workflow';
import { SEARCH_ATTRIBUTES, startAttributes, type RunAttributes, type RunOutcome } from '../src/contracts/index.js';

function hasAttributes(): boolean {
  return workflowInfo().typedSearchAttributes.get(SEARCH_ATTRIBUTES.outcome) !== undefined;
}

function setOutcome(outcome: RunOutcome): void {
  if (hasAttributes()) upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.outcome, value: outcome }]);
}

/** Wraps a workflow so that it upserts `LifeboatOutcome` (succeeded, failed, cancelled) as it ends. */
export function withOutcome<I, R>(run: (input: I) => Promise<R>): (input: I) => Promise<R> {
  return async (input) => {
    try {
      const result = await run(input);
      setOutcome('succeeded');
      return result;
    } catch (err) {
      if (!(err instanceof ContinueAsNew)) setOutcome(isCancellation(err) ? 'cancelled' : 'failed');
      throw err;
    }
  };
}

/** Start options of a child run: its summary, and the attributes when this run has them. */
export function childMetadata(a: RunAttributes, summary: string): Pick<ChildWorkflowOptions, 'typedSearchAttributes' | 'staticSummary'> {
  if (!hasAttributes()) return {};
  const runbook = workflowInfo().typedSearchAttributes.get(SEARCH_ATTRIBUTES.runbook);
  return { staticSummary: summary, typedSearchAttributes: startAttributes({ runbook, ...a }) };
}
