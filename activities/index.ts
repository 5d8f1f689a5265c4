import { Context } from '@temporalio/activity';
import type { LifeboatConfig } from '../src/config/schema.js';
import type { Logger } from '../src/logger.js';
import { backupPostgres } from '../src/backup/postgres.js';
import type { BackupHeartbeat, BackupKind, BackupResult } from '../workflows/types.js';
import { toFailure } from './failures.js';
import { activityLogger, withHeartbeat, workflowRef } from './context.js';
import { createRestoreActivities } from './restore.js';
import { createRunbookActivities } from './runbook.js';
import { createRetentionActivities } from './retention.js';
import { createCopyActivities } from './copy.js';

export interface ActivityDeps {
  config: LifeboatConfig;
  logger: Logger;
  /** How often a long activity heartbeats its progress. */
  heartbeatIntervalMs?: number;
}

/** Activities bound to a worker's configuration. Workflows import their types only. */
export function createActivities(deps: ActivityDeps) {
  const interval = deps.heartbeatIntervalMs ?? 2000;
  return {
    ...createRunbookActivities(deps),
    ...createRestoreActivities(deps),
    ...createRetentionActivities(deps),
    ...createCopyActivities(deps),
    /** Streams one backup into storage and commits its manifest. Heartbeats bytes so far. */
    async runBackup(input: { database: string; kind: BackupKind; backupId: string }): Promise<BackupResult> {
      const ctx = Context.current();
      const log = activityLogger(deps.logger);
      const started = Date.now();
      const previous = ctx.info.heartbeatDetails as BackupHeartbeat | undefined;
      if (previous) {
        // A dump stream cannot resume mid-way: this attempt starts over on a fresh staging key.
        log.warn({ previous }, 'retrying a backup attempt that did not finish');
      }
      let hb: BackupHeartbeat = { phase: 'starting', rawBytes: 0, storedBytes: 0, elapsedMs: 0 };
      try {
        return await withHeartbeat(interval, () => ({ ...hb, elapsedMs: Date.now() - started }), () =>
          backupPostgres(
            deps.config,
            {
              ...input,
              workflow: workflowRef(),
            },
            log,
            {
              signal: ctx.cancellationSignal,
              onProgress: (p) => {
                hb = { ...p, elapsedMs: Date.now() - started };
              },
            },
          ),
        );
      } catch (err) {
        log.error({ err: (err as Error).message }, 'backup attempt failed');
        throw toFailure(err);
      }
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
