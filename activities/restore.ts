import { Context } from '@temporalio/activity';
import { selectBackup, summarize } from '../src/restore/select.js';
import { dropScratchDatabase, inspectTarget } from '../src/restore/target.js';
import { restoreBackup, type RestoreRequest } from '../src/restore/restore.js';
import { runVerifyChecks } from '../src/restore/checks.js';
import { writeVerificationToTargets } from '../src/restore/verification.js';
import type {
  BackupSelector,
  BackupSummary,
  RestoreHeartbeat,
  RestoreMode,
  RestoreResult,
  TargetInspection,
  VerificationCheck,
  VerificationRecord,
} from '../src/contracts/index.js';
import type { ActivityDeps } from './deps.js';
import { activityLogger, withHeartbeat, workflowRef } from './context.js';

export type RestoreActivityInput = Omit<RestoreRequest, 'owner'>;

/** Restore and verification activities. Workflows import their types only. */
export function createRestoreActivities(deps: ActivityDeps) {
  const interval = deps.heartbeatIntervalMs ?? 2000;
  const cfg = deps.config;
  return {
    /** Finds the committed backup a selector names (manifests only). */
    async resolveRestoreBackup(input: { database: string; backup: BackupSelector; mode: RestoreMode; action?: string }): Promise<BackupSummary> {
      const { manifest, storage } = await selectBackup(cfg, input.database, input.backup, input.mode, input.action);
      const restoreTaskQueue = cfg.temporal.restoreTaskQueue;
      return { ...summarize(manifest, storage), ...(restoreTaskQueue ? { restoreTaskQueue } : {}) };
    },

    /** Looks at a restore target without changing it: exists, empty, protected, the source itself. */
    async inspectRestoreTarget(input: { database: string; target: string; mode: RestoreMode }): Promise<TargetInspection> {
      return inspectTarget(cfg, input.database, input.target, input.mode);
    },

    /**
     * Downloads, verifies and restores a backup into a database, then compares row counts.
     * Heartbeats the phase and bytes so far; cancellation stops pg_restore and drops a database
     * the restore created.
     */
    async restoreBackup(input: RestoreActivityInput): Promise<RestoreResult> {
      const ctx = Context.current();
      const started = Date.now();
      let hb: RestoreHeartbeat = { activity: 'restore', phase: 'starting', rawBytes: 0, storedBytes: 0, elapsedMs: 0 };
      const { workflowId, runId } = workflowRef();
      return withHeartbeat(
        interval,
        () => ({ ...hb, elapsedMs: Date.now() - started }),
        () =>
          restoreBackup(cfg, { ...input, owner: `${workflowId}:${runId}` }, activityLogger(deps.logger), {
            signal: ctx.cancellationSignal,
            onProgress: (p) => {
              hb = { ...hb, ...p };
            },
          }),
      );
    },

    /** Runs the database's `verify.checks` in a scratch database. */
    async runVerificationChecks(input: { database: string; scratch: string }): Promise<VerificationCheck[]> {
      return runVerifyChecks(cfg, input.database, input.scratch);
    },

    /** Drops a verification's scratch database; idempotent, and only for databases Lifeboat created. */
    async dropScratchDatabase(input: { database: string; scratch: string }): Promise<{ dropped: boolean }> {
      return dropScratchDatabase(cfg, input.database, input.scratch);
    },

    /** Writes a verification record next to the backup's manifest on every target holding it; returns its key. */
    async recordVerification(input: { record: VerificationRecord; storage: string }): Promise<string> {
      return writeVerificationToTargets(cfg, input.record, input.storage, activityLogger(deps.logger));
    },
  };
}

export type RestoreActivities = ReturnType<typeof createRestoreActivities>;
