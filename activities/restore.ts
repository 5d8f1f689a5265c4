import { CancelledFailure, Context } from '@temporalio/activity';
import type { Logger } from '../src/logger.js';
import { databaseStorageNames } from '../src/config/load.js';
import { openStorage } from '../src/storage/index.js';
import { selectBackup, summarize } from '../src/restore/select.js';
import { dropScratchDatabase, inspectTarget } from '../src/restore/target.js';
import { restoreBackup, type RestoreRequest } from '../src/restore/postgres.js';
import { runVerifyChecks } from '../src/restore/checks.js';
import { writeVerification } from '../src/restore/verification.js';
import type {
  BackupSelector,
  BackupSummary,
  RestoreHeartbeat,
  RestoreMode,
  RestoreResult,
  TargetInspection,
  VerificationCheck,
  VerificationRecord,
} from '../workflows/types.js';
import type { ActivityDeps } from './index.js';
import { toFailure } from './failures.js';
import { activityLogger, workflowRef } from './context.js';

/** Rethrows a cancellation as such (so Temporal records the activity as cancelled), anything else as a safe failure. */
function failure(err: unknown): unknown {
  const signal = Context.current().cancellationSignal;
  if (signal.aborted && signal.reason instanceof CancelledFailure) return signal.reason;
  return toFailure(err);
}

async function guarded<T>(fn: (log: Logger) => Promise<T>, base: Logger): Promise<T> {
  const log = activityLogger(base);
  try {
    return await fn(log);
  } catch (err) {
    log.error({ err: (err as Error).message }, 'activity failed');
    throw failure(err);
  }
}

export type RestoreActivityInput = Omit<RestoreRequest, 'owner'>;

/** Restore and verification activities. Workflows import their types only. */
export function createRestoreActivities(deps: ActivityDeps) {
  const interval = deps.heartbeatIntervalMs ?? 2000;
  const cfg = deps.config;
  return {
    /** Finds the committed backup a selector names (manifests only). */
    async resolveRestoreBackup(input: { database: string; backup: BackupSelector; mode: RestoreMode; action?: string }): Promise<BackupSummary> {
      return guarded(async () => {
        const { manifest, storage } = await selectBackup(cfg, input.database, input.backup, input.mode, input.action);
        return summarize(manifest, storage);
      }, deps.logger);
    },

    /** Looks at a restore target without changing it: exists, empty, protected, the source itself. */
    async inspectRestoreTarget(input: { database: string; target: string; mode: RestoreMode }): Promise<TargetInspection> {
      return guarded(() => inspectTarget(cfg, input.database, input.target, input.mode), deps.logger);
    },

    /**
     * Downloads, verifies and restores a backup into a database, then compares row counts.
     * Heartbeats the phase and bytes so far; cancellation stops pg_restore and drops a database
     * the restore created.
     */
    async restoreBackup(input: RestoreActivityInput): Promise<RestoreResult> {
      const ctx = Context.current();
      const started = Date.now();
      let hb: RestoreHeartbeat = { phase: 'starting', rawBytes: 0, storedBytes: 0, elapsedMs: 0 };
      const { workflowId, runId } = workflowRef();
      const owner = `${workflowId}:${runId}`;
      return guarded(async (log) => {
        ctx.heartbeat(hb);
        const timer = setInterval(() => ctx.heartbeat({ ...hb, elapsedMs: Date.now() - started }), interval);
        try {
          return await restoreBackup(cfg, { ...input, owner }, log, {
            signal: ctx.cancellationSignal,
            onProgress: (p) => {
              hb = { ...p, elapsedMs: Date.now() - started };
            },
          });
        } finally {
          clearInterval(timer);
        }
      }, deps.logger);
    },

    /** Runs the database's `verify.checks` in a scratch database. */
    async runVerificationChecks(input: { database: string; scratch: string }): Promise<VerificationCheck[]> {
      return guarded(() => runVerifyChecks(cfg, input.database, input.scratch), deps.logger);
    },

    /** Drops a verification's scratch database; idempotent, and only for databases Lifeboat created. */
    async dropScratchDatabase(input: { database: string; scratch: string }): Promise<{ dropped: boolean }> {
      return guarded(() => dropScratchDatabase(cfg, input.database, input.scratch), deps.logger);
    },

    /** Writes a verification record next to the backup's manifest; returns its key. */
    async recordVerification(input: { record: VerificationRecord; storage: string }): Promise<string> {
      return guarded(async () => {
        const names = databaseStorageNames(cfg, input.record.database);
        const storage = openStorage(cfg, names.includes(input.storage) ? input.storage : names[0]!);
        return writeVerification(storage, input.record);
      }, deps.logger);
    },
  };
}

export type RestoreActivities = ReturnType<typeof createRestoreActivities>;
