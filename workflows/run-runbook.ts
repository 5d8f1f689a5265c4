import { RunbookInputSchema, type WorkflowTypes } from '../src/contracts/index.js';
import { lookup } from './activities.js';
import { installHandlers } from './runbook/approvals.js';
import { createRun, showDetails } from './runbook/context.js';
import { finish } from './runbook/finish.js';
import { runStep } from './runbook/steps.js';
import { parseInput } from './validation.js';
import { withOutcome } from './outcome.js';

/**
 * Runs a disaster-recovery runbook: `{ "runbook": "provider-outage", "params": { "database": "orders" }, "drill": false }`.
 * Steps run in order, each by its type's executor (workflows/runbook/); approvals wait for the
 * `approve` update from someone holding the role. Rejection, abort or a failed step runs the
 * compensations of completed steps in reverse order. Every run is recorded with its RTO and RPO.
 */
export const runRunbook: WorkflowTypes['runRunbook'] = withOutcome(async (raw) => {
  const input = parseInput(RunbookInputSchema, raw, 'runRunbook');
  const params = { ...input.params, ...(input.database !== undefined ? { database: input.database } : {}) };
  const run = createRun(input, await lookup.loadRunbook({ runbook: input.runbook, params, drill: input.drill }));
  installHandlers(run);
  showDetails(run);
  let failure: unknown;
  for (const step of run.def.steps) {
    if (run.aborted) break;
    failure = await runStep(run, step);
    if (failure !== undefined) break;
  }
  return finish(run, failure);
});
