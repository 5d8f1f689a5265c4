import { Context } from '@temporalio/activity';
import { takeBackup } from '../src/backup/backup.js';
import { DumpSlots } from '../src/backup/dump-slots.js';
import { workerMetrics } from '../src/observability/metrics.js';
import type { BackupHeartbeat, BackupKind, BackupResult } from '../src/contracts/index.js';
import { activityLogger, previousHeartbeat, withHeartbeat, workflowRef } from './context.js';
import type { ActivityDeps } from './deps.js';

/** Backup activities. */
export function createBackupActivities(deps: ActivityDeps) {
  const interval = deps.heartbeatIntervalMs ?? 2000;
  const limits = deps.config.worker;
  // One set of slots per worker process: its dumps in all, and per database host.
  const slots =
    limits?.maxConcurrentDumps || limits?.perHostDumps
      ? new DumpSlots({ total: limits.maxConcurrentDumps, perHost: limits.perHostDumps }, (st) => {
          workerMetrics.dumps.set({ state: 'running' }, st.running);
          workerMetrics.dumps.set({ state: 'waiting' }, st.waiting);
        })
      : undefined;
  return {
    /** Streams one backup into storage and commits its manifest. Heartbeats bytes so far. */
    async runBackup(input: { database: string; kind: BackupKind; backupId: string }): Promise<BackupResult> {
      const ctx = Context.current();
      const log = activityLogger(deps.logger);
      const started = Date.now();
      const previous = previousHeartbeat<BackupHeartbeat>();
      // A dump stream cannot resume mid-way: a retry starts over on a fresh staging key.
      if (previous) log.warn({ previous }, 'retrying a backup attempt that did not finish');
      let hb: BackupHeartbeat = { activity: 'backup', phase: 'starting', rawBytes: 0, storedBytes: 0, elapsedMs: 0 };
      return withHeartbeat(
        interval,
        () => ({ ...hb, elapsedMs: Date.now() - started }),
        () =>
          takeBackup(deps.config, { ...input, workflow: workflowRef() }, log, {
            signal: ctx.cancellationSignal,
            slots,
            onProgress: (p) => {
              hb = { ...hb, ...p };
            },
          }),
      );
    },
  };
}
