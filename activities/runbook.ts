import { Context } from '@temporalio/activity';
import type { LoadedRunbook } from '../src/contracts/runbook.js';
import { writeRunbookRun, type RunbookRunRecord } from '../src/runbooks/history.js';
import { loadRunbook } from '../src/runbooks/load.js';
import {
  dropDrillDatabases,
  forwardRestoreApproval,
  httpCheck,
  notify,
  runCommand,
  runSql,
  type CommandStepInput,
  type HttpCheckInput,
  type NotifyInput,
  type SqlStepInput,
  type StepRuntime,
} from '../src/runbooks/steps.js';
import { providerSnapshot, type ProviderStepInput } from '../src/runbooks/provider-snapshots.js';
import { activityLogger } from './context.js';
import type { ActivityDeps } from './deps.js';

/** The current activity's cancellation, heartbeat, timer and deadline, for step I/O. */
function stepRuntime(): StepRuntime {
  const ctx = Context.current();
  return {
    signal: ctx.cancellationSignal,
    heartbeat: (details) => ctx.heartbeat(details),
    sleep: (ms) => ctx.sleep(ms),
    deadline: Date.now() + (ctx.info.startToCloseTimeoutMs || 300_000) - 1000,
  };
}

/** Activities of runbook steps (the I/O is in src/runbooks/steps.ts). Workflows import their types only. */
export function createRunbookActivities(deps: ActivityDeps) {
  const cfg = deps.config;
  return {
    /** Loads a runbook and resolves its parameters (names only; no secrets). */
    async loadRunbook(input: { runbook: string; params: Record<string, string | number | boolean>; drill: boolean }): Promise<LoadedRunbook> {
      return loadRunbook(cfg, input.runbook, input.params);
    },
    async runbookSql(input: SqlStepInput) {
      return runSql(cfg, input);
    },
    async runbookCommand(input: CommandStepInput) {
      return runCommand(cfg, activityLogger(deps.logger), input, stepRuntime());
    },
    async httpCheck(input: HttpCheckInput) {
      return httpCheck(input, stepRuntime());
    },
    /** A provider-native snapshot step (Neon branch, RDS snapshot, PlanetScale branch); tokens are resolved here. */
    async providerSnapshot(input: ProviderStepInput) {
      const result = await providerSnapshot(input, Context.current().cancellationSignal);
      activityLogger(deps.logger).info({ step: input.step, provider: result.provider, id: result.id, status: result.status }, result.summary);
      return result;
    },
    async notify(input: NotifyInput): Promise<void> {
      return notify(cfg, activityLogger(deps.logger), input);
    },
    async forwardRestoreApproval(input: { workflowId: string; approver: string; target: string }): Promise<string> {
      return forwardRestoreApproval(cfg, input, stepRuntime());
    },
    async dropDrillDatabases(input: { databases: Array<{ database: string; dbname: string }> }): Promise<string[]> {
      return dropDrillDatabases(cfg, input.databases);
    },
    /** Keeps the record of a run, drill or live (`lifeboat drills` shows them). */
    async recordRunbookRun(record: RunbookRunRecord): Promise<string> {
      return writeRunbookRun(cfg, record);
    },
  };
}
