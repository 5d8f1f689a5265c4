import { Context } from '@temporalio/activity';
import type { ArchiveCheckResult, BaseBackupResult, PitrRestoreResult, RecoveryPointVerification, RestorePointResult } from '../src/contracts/index.js';
import { archiveRpoMs, checkArchive } from '../src/pitr/archive-check.js';
import { runBaseBackup } from '../src/pitr/base-backup.js';
import { recoverToPoint, type RecoveryTarget } from '../src/pitr/recover.js';
import { createRestorePoint } from '../src/pitr/restore-point.js';
import { verifyRecoveryPoint } from '../src/pitr/verify-point.js';
import { walStorage } from '../src/pitr/wal-archive.js';
import { activityLogger, task, withHeartbeat, workflowRef } from './context.js';
import type { ActivityDeps } from './deps.js';

type TargetInput = { database: string; toTime?: string; toLsn?: string; toName?: string; baseBackup?: string };
const targetOf = (i: TargetInput): RecoveryTarget => ({ time: i.toTime, lsn: i.toLsn, name: i.toName });

async function archiveCheck(deps: ActivityDeps, database: string): Promise<ArchiveCheckResult> {
  const s = await checkArchive(walStorage(deps.config, database), database, archiveRpoMs(deps.config, database));
  if (!s) {
    const problem = `WAL archive of ${database} is empty and it has no base backup: point-in-time recovery is not set up`;
    return { database, ok: false, segments: 0, baseBackups: 0, newestSegment: null, newestAgeSeconds: null, rpoSeconds: 0, gaps: [], problems: [problem] };
  }
  const { ok, segments, baseBackups, newestSegment, newestAgeSeconds, rpoSeconds, gaps, problems } = s;
  return { database, ok, segments, baseBackups, newestSegment, newestAgeSeconds, rpoSeconds, gaps, problems };
}

/** Activities of point-in-time recovery: base backups, recovery into a new server, the archive check. */
export function createPitrActivities(deps: ActivityDeps) {
  const interval = deps.heartbeatIntervalMs ?? 2000;
  return {
    /** `pg_basebackup` of a database into its first storage target; a retry returns the committed backup. */
    async takeBaseBackup(input: { database: string; backupId: string; maxRate?: string }): Promise<BaseBackupResult> {
      let stored = 0;
      const ref = workflowRef();
      const m = await withHeartbeat(
        interval,
        task('base backup', () => stored),
        () =>
          runBaseBackup(deps.config, input.database, {
            backupId: input.backupId,
            attempt: ref.attempt,
            maxRate: input.maxRate,
            workflow: ref,
            signal: Context.current().cancellationSignal,
            onProgress: (p) => (stored = p.storedBytes),
          }),
      );
      activityLogger(deps.logger).info({ database: input.database, backupId: m.backupId, startLsn: m.startLsn, stopLsn: m.stopLsn }, 'base backup committed');
      return {
        database: m.database,
        backupId: m.backupId,
        startLsn: m.startLsn,
        stopLsn: m.stopLsn,
        startTimeline: m.startTimeline,
        rawBytes: m.rawBytes,
        storedBytes: m.artifact.bytes,
        sha256: m.artifact.sha256,
        durationMs: m.durationMs,
      };
    },

    /** Recovers a database to a point into a new server process, which keeps running. */
    async recoverToPoint(input: TargetInput): Promise<PitrRestoreResult> {
      let phase = 'choosing a base backup';
      let bytes = 0;
      const r = await withHeartbeat(
        interval,
        () => ({ ...task(phase, () => bytes)() }),
        () =>
          recoverToPoint(deps.config, input.database, targetOf(input), {
            backupId: input.baseBackup,
            signal: Context.current().cancellationSignal,
            onPhase: (p, b) => ((phase = p), (bytes = b ?? bytes)),
          }),
      );
      activityLogger(deps.logger).info(
        { database: input.database, backupId: r.backupId, port: r.port, recoveredTo: r.recoveredTo },
        'recovered to a point in time',
      );
      const { binDir: _bin, logFile: _log, ...result } = r;
      return result;
    },

    /** Recovers into a scratch server, checks it, stops it in every outcome. */
    async verifyRecoveryPoint(input: TargetInput): Promise<RecoveryPointVerification> {
      let phase = 'recovering';
      return withHeartbeat(interval, task(phase), () =>
        verifyRecoveryPoint(deps.config, input.database, targetOf(input), { backupId: input.baseBackup, onPhase: (p) => (phase = p) }),
      );
    },

    /** Reads the WAL archive of a database and reports gaps and staleness. */
    checkWalArchive: (input: { database: string }): Promise<ArchiveCheckResult> => archiveCheck(deps, input.database),

    /** `pg_create_restore_point` on the source, recorded next to the archive. */
    async createRestorePoint(input: { database: string; name: string }): Promise<RestorePointResult> {
      return createRestorePoint(deps.config, input.database, input.name);
    },
  };
}
