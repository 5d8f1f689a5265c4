import { Context } from '@temporalio/activity';
import { databaseStorageNames } from '../src/config/load.js';
import type { CopyHeartbeat, CopyResult } from '../src/contracts/index.js';
import { copyBackup, copyTargets } from '../src/copy/copy-backup.js';
import { activityLogger, withHeartbeat, workflowRef } from './context.js';
import type { ActivityDeps } from './deps.js';

/** Activities of 3-2-1 copies. */
export function createCopyActivities(deps: ActivityDeps) {
  const interval = deps.heartbeatIntervalMs ?? 2000;
  return {
    /** Where a backup of `database` is copied from (default: its first target) and to (all the others). */
    async copyTargets(input: { database: string; from?: string }): Promise<{ from: string; targets: string[] }> {
      const from = input.from ?? databaseStorageNames(deps.config, input.database)[0]!;
      return { from, targets: copyTargets(deps.config, input.database, from) };
    },

    /** Copies one committed backup to one target; heartbeats bytes copied of the artifact's size. */
    async copyBackupToTarget(input: { database: string; backupId: string; from: string; to: string }): Promise<CopyResult> {
      const ctx = Context.current();
      const started = Date.now();
      const hb: CopyHeartbeat = { activity: 'copy', phase: 'copying', to: input.to, bytes: 0, totalBytes: 0, elapsedMs: 0 };
      return withHeartbeat(
        interval,
        () => ({ ...hb, elapsedMs: Date.now() - started }),
        () =>
          copyBackup(deps.config, { ...input, workflow: workflowRef() }, activityLogger(deps.logger), {
            signal: ctx.cancellationSignal,
            onProgress: (bytes, total) => {
              hb.bytes = bytes;
              hb.totalBytes = total;
            },
          }),
      );
    },
  };
}
