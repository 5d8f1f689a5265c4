import { log } from '@temporalio/workflow';
import type { TargetPlan } from '../src/retention/prune.js';
import { ApplyRetentionInputSchema, lifeboatFailure, type RetentionEntry, type RetentionTargetResult, type WorkflowTypes } from '../src/contracts/index.js';
import { housekeeping } from './activities.js';
import { audit } from './observe.js';
import { parseInput } from './validation.js';
import { withOutcome } from './outcome.js';

function entries(plan: TargetPlan, keep: boolean): RetentionEntry[] {
  return plan.plan.kinds.flatMap((k) =>
    k.decisions
      .filter((d) => d.keep === keep)
      .map((d) => ({ backupId: d.backupId, kind: d.kind, startedAt: d.startedAt, status: d.status, reasons: d.reasons })),
  );
}

/**
 * Applies the retention policy of a database on each of its storage targets:
 * `{ "database": "orders" }`, or `{ "database": "orders", "dryRun": true }` to only plan.
 * Backups are deleted manifest first; orphans older than the grace period are swept. When a
 * kind's backups look unhealthy (stale, or none good), nothing is deleted on that target and the
 * run fails with `RETENTION_HALTED` after the other targets are done, so the alarm is loud.
 */
export const applyRetention: WorkflowTypes['applyRetention'] = withOutcome(async (input) => {
  const { database, dryRun, storage } = parseInput(ApplyRetentionInputSchema, input, 'applyRetention');
  const { plannedAt, plans } = await housekeeping.planRetention({ database, storage });
  const targets: RetentionTargetResult[] = [];
  for (const p of plans) {
    const planned = entries(p, false);
    const result: RetentionTargetResult = {
      storage: p.storage,
      policies: p.policies,
      keep: entries(p, true),
      delete: planned,
      skipped: [],
      halted: p.plan.halted,
      warnings: p.plan.warnings,
      problems: p.problems,
      bytesFreed: dryRun ? p.bytesToFree : 0,
      orphans: { objects: 0, uploads: 0, bytes: 0, keys: [] },
    };
    if (!dryRun && planned.length > 0) {
      const out = await housekeeping.pruneBackups({ database, storage: p.storage, backupIds: planned.map((e) => e.backupId) });
      const done = new Set(out.deleted.map((d) => d.backupId));
      result.delete = planned.filter((e) => done.has(e.backupId));
      result.skipped = out.skipped;
      result.bytesFreed = out.deleted.reduce((n, d) => n + d.bytes, 0);
      for (const d of out.deleted) {
        const e = planned.find((x) => x.backupId === d.backupId);
        await audit({
          action: 'retention-delete',
          outcome: 'succeeded',
          database,
          target: { backupId: d.backupId, kind: e?.kind, storage: p.storage },
          details: { bytes: d.bytes, reasons: e?.reasons ?? [] },
        });
      }
    }
    if (p.plan.halted.length > 0) {
      result.warnings = [...result.warnings, 'orphan sweep skipped: retention is halted on this target'];
    } else {
      const orphans = await housekeeping.sweepOrphans({ database, storage: p.storage, dryRun });
      result.orphans = {
        objects: orphans.objects.length,
        uploads: orphans.uploads.length,
        bytes: orphans.objects.reduce((n, o) => n + o.bytes, 0),
        keys: [...orphans.objects.map((o) => o.key), ...orphans.uploads.map((u) => u.key)].slice(0, 20),
      };
    }
    log.info('retention target done', { storage: p.storage, deleted: result.delete.length, kept: result.keep.length, dryRun });
    targets.push(result);
  }
  const result = { database, dryRun, plannedAt, targets };
  const halts = targets.flatMap((t) => t.halted.map((h) => `${t.storage}: ${h.message}`));
  if (!dryRun && halts.length > 0) {
    throw lifeboatFailure('RETENTION_HALTED', `Retention halted for ${database}: ${halts.join('; ')}`, [result]);
  }
  return result;
});
