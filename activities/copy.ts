import { Context } from '@temporalio/activity';
import { databaseStorageNames } from '../src/config/load.js';
import { copyBackup, copyTargets } from '../src/copy/copy-backup.js';
import type { CopyResult } from '../workflows/types.js';
import { toFailure } from './failures.js';
import { activityLogger, withHeartbeat, workflowRef } from './context.js';
import type { ActivityDeps } from './index.js';

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
      const log = activityLogger(deps.logger);
      let bytes = 0;
      return withHeartbeat(interval, () => ({ phase: 'copying', to: input.to, bytes }), () =>
        copyBackup(
          deps.config,
          {
            ...input,
            workflow: workflowRef(),
          },
          log,
          { signal: ctx.cancellationSignal, onProgress: (b) => (bytes = b) },
        ),
      );
    },
  };
}
