import { openStorage } from '../src/storage/index.js';
import { orphanGraceMs } from '../src/retention/policy.js';
import { planTargets, pruneTarget, sweepOrphans, type OrphanReport, type PruneOutcome, type TargetPlan } from '../src/retention/prune.js';
import { executePurge, planPurge, purgeApprovers, writePurgeAudit, type PurgeOutcome } from '../src/retention/purge.js';
import type { PurgeAuditRecord, PurgeTargetPlan } from '../src/contracts/index.js';
import { activityLogger, task, withHeartbeat } from './context.js';
import type { ActivityDeps } from './deps.js';

/** Activities of retention and purge: planning reads storage, the others delete. */
export function createRetentionActivities(deps: ActivityDeps) {
  const interval = deps.heartbeatIntervalMs ?? 2000;
  return {
    /** Plans retention on every target of a database (or one); deletes nothing. */
    async planRetention(input: { database: string; storage?: string }): Promise<{ plannedAt: string; plans: TargetPlan[] }> {
      const now = Date.now();
      return withHeartbeat(interval, task('planning'), async () => {
        const { plans } = await planTargets(deps.config, input.database, now, input.storage);
        return { plannedAt: new Date(now).toISOString(), plans };
      });
    },

    /** Deletes planned backups from one target, manifest first; re-checks each against a fresh plan. */
    async pruneBackups(input: { database: string; storage: string; backupIds: string[] }): Promise<PruneOutcome> {
      const log = activityLogger(deps.logger);
      let done = 0;
      return withHeartbeat(
        interval,
        task('deleting', () => done, input.backupIds.length),
        async () => {
          const out = await pruneTarget(deps.config, input.database, input.storage, input.backupIds, (n) => (done = n));
          log.info({ database: input.database, storage: input.storage, deleted: out.deleted.length, skipped: out.skipped.length }, 'retention applied');
          return out;
        },
      );
    },

    /** Removes (or lists, in a dry run) orphan artifacts and stale unfinished uploads on one target. */
    async sweepOrphans(input: { database: string; storage: string; dryRun: boolean }): Promise<OrphanReport> {
      return withHeartbeat(interval, task('sweeping'), () =>
        sweepOrphans(openStorage(deps.config, input.storage), input.database, {
          now: Date.now(),
          graceMs: orphanGraceMs(deps.config, input.database),
          dryRun: input.dryRun,
        }),
      );
    },

    /** What a purge would delete on each target, and who may approve it. */
    async planPurge(input: { database: string; before: string }): Promise<{ targets: PurgeTargetPlan[]; approvers: string[] }> {
      return withHeartbeat(interval, task('planning'), async () => ({
        targets: await planPurge(deps.config, input.database, input.before),
        approvers: purgeApprovers(deps.config, input.database),
      }));
    },

    /** Deletes every backup of a database started before a time from one target. */
    async executePurge(input: { database: string; before: string; storage: string }): Promise<PurgeOutcome> {
      const log = activityLogger(deps.logger);
      let done = 0;
      return withHeartbeat(
        interval,
        task('purging', () => done),
        async () => {
          const out = await executePurge(deps.config, input.database, input.before, input.storage, (n) => (done = n));
          log.warn({ database: input.database, storage: input.storage, before: input.before, deleted: out.deleted.length }, 'backups purged');
          return out;
        },
      );
    },

    /** Writes the purge's audit record on every target; returns where. */
    async writePurgeAudit(input: { record: PurgeAuditRecord; compactTime: string }): Promise<string[]> {
      return withHeartbeat(interval, task('audit'), () => writePurgeAudit(deps.config, input.record, input.compactTime));
    },
  };
}

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
