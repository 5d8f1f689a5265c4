// Task priority and fairness of the runs Lifeboat starts. Temporal dispatches a backlogged task
// queue by priority key first (1 before 5; 3 when unset), then fairly across fairness keys within
// one level. Activities and child workflows inherit their workflow's priority. A server without
// the new matcher (priority) or fairness enabled ignores these fields: nothing fails.
import type { Priority } from '@temporalio/common';
import type { WorkflowName } from '../contracts/workflows.js';

/** Priority levels, lower first. */
export const PRIORITY_KEYS = {
  /** A restore, or a proof that one works, started by hand: someone is waiting on recovery. */
  recovery: 1,
  /** Any other run started by hand (a backup before a migration, a purge): someone waits for it. */
  adHoc: 2,
  /** Every scheduled run: routine work, Temporal's default level, behind all work started by hand. */
  scheduled: 3,
} as const;

/** Workflows that restore, or prove a restore works: first in line when started by hand. */
const RECOVERY: ReadonlySet<WorkflowName> = new Set<WorkflowName>([
  'restoreDatabase',
  'pointInTimeRestore',
  'verifyBackup',
  'verifyRecoveryPoint',
  'runRunbook',
]);

/** How a run was started: by a Lifeboat schedule, or by hand (CLI, Web UI, API). */
export type RunOrigin = 'schedule' | 'ad-hoc';

/**
 * The priority of a run of `type` with `input`: its level by {@link PRIORITY_KEYS}, and the
 * database as fairness key, so one database with many queued runs (or one long one) cannot
 * starve the others of its level.
 */
export function runPriority(type: WorkflowName, input: unknown, origin: RunOrigin): Priority {
  const priorityKey = origin === 'schedule' ? PRIORITY_KEYS.scheduled : RECOVERY.has(type) ? PRIORITY_KEYS.recovery : PRIORITY_KEYS.adHoc;
  const i = (input ?? {}) as { database?: unknown; runbook?: unknown };
  const fairnessKey = typeof i.database === 'string' ? i.database : typeof i.runbook === 'string' ? `runbook:${i.runbook}` : undefined;
  return fairnessKey ? { priorityKey, fairnessKey: fairnessKey.slice(0, 64) } : { priorityKey };
}

/** A priority with Temporal's "inherit/default" zero values dropped: equal priorities compare equal. */
export function normalPriority(p: Priority | undefined): Priority | undefined {
  if (!p) return undefined;
  const out: Priority = {};
  if (p.priorityKey) out.priorityKey = p.priorityKey;
  if (p.fairnessKey) out.fairnessKey = p.fairnessKey;
  if (p.fairnessWeight) out.fairnessWeight = p.fairnessWeight;
  return Object.keys(out).length ? out : undefined;
}

/** `3 (fairness orders)`, or `default` when unset. */
export function describePriority(p: Priority | undefined): string {
  const n = normalPriority(p);
  if (!n) return 'default';
  return `${n.priorityKey ?? 'default'}${n.fairnessKey ? ` (fairness ${n.fairnessKey}${n.fairnessWeight ? ` x${n.fairnessWeight}` : ''})` : ''}`;
}
