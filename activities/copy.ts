import { Context } from '@temporalio/activity';
import { databaseStorageNames } from '../src/config/load.js';
import { copyBackup, copyTargets } from '../src/copy/copy-backup.js';
import type { Logger } from '../src/logger.js';
import type { CopyResult } from '../workflows/types.js';
import { toFailure } from './failures.js';
import type { ActivityDeps } from './index.js';

/** Pino child logger carrying the Temporal identifiers of the current activity. */
export function activityLog(base: Logger): Logger {
  const info = Context.current().info;
  return base.child({
    workflowId: info.workflowExecution?.workflowId ?? 'none',
    runId: info.workflowExecution?.runId ?? 'none',
    activity: info.activityType,
    attempt: info.attempt,
  });
}

/** Runs `fn` while heartbeating `state()` every `intervalMs`; failures become Temporal failures. */
export async function heartbeating<T>(intervalMs: number, state: () => unknown, fn: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat(state());
  const timer = setInterval(() => ctx.heartbeat(state()), intervalMs);
  try {
    return await fn();
  } catch (err) {
    throw toFailure(err);
  } finally {
    clearInterval(timer);
  }
}

/** Activities of 3-2-1 copies. */
export function createCopyActivities(deps: ActivityDeps) {
  const interval = deps.heartbeatIntervalMs ?? 2000;
  return {
    /** Where a backup of `database` is copied from (default: its first target) and to (all the others). */
    async copyTargets(input: { database: string; from?: string }): Promise<{ from: string; targets: string[] }> {
      try {
        const from = input.from ?? databaseStorageNames(deps.config, input.database)[0]!;
        return { from, targets: copyTargets(deps.config, input.database, from) };
      } catch (err) {
        throw toFailure(err);
      }
    },

    /** Copies one committed backup to one target; heartbeats bytes copied. */
    async copyBackupToTarget(input: { database: string; backupId: string; from: string; to: string }): Promise<CopyResult> {
      const ctx = Context.current();
      const log = activityLog(deps.logger);
      let bytes = 0;
      return heartbeating(interval, () => ({ phase: 'copying', to: input.to, bytes }), () =>
        copyBackup(
          deps.config,
          {
            ...input,
            workflow: {
              workflowId: ctx.info.workflowExecution?.workflowId ?? 'none',
              runId: ctx.info.workflowExecution?.runId ?? 'none',
              attempt: ctx.info.attempt,
            },
          },
          log,
          { signal: ctx.cancellationSignal, onProgress: (b) => (bytes = b) },
        ),
      );
    },
  };
}
