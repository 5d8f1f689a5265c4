import { createHash } from 'node:crypto';
import { getDatabase } from '../config/load.js';
import { type BACKUP_KINDS, SCHEDULE_KINDS, type LifeboatConfig, type OVERLAP_POLICIES, type ScheduleEntry, type ScheduleKind } from '../config/schema.js';
import { longestGapMs } from './cron.js';
import { durationMs, formatDurationShort } from '../contracts/duration.js';
import { WORKFLOWS, type WorkflowName } from '../contracts/workflows.js';
import { ENVIRONMENT_PRESETS } from './presets.js';
import { runPriority } from '../temporal/priority.js';
import type { Priority } from '@temporalio/common';

/** Every schedule Lifeboat manages has an id starting with this, and a memo marker. */
export const SCHEDULE_ID_PREFIX = 'lifeboat:';
/** Schedule-level memo key marking a schedule as Lifeboat's (set at creation; Temporal cannot update it). */
export const MANAGED_MEMO_KEY = 'lifeboat';
/** Catch-up window when a schedule does not set one: a run missed by up to this much still starts. */
export const DEFAULT_CATCHUP_WINDOW = '12h';

export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** A database's schedule of one kind after merging its environment preset and its own entries. */
export interface EffectiveSchedule {
  kind: ScheduleKind;
  crons: string[];
  intervals: Array<{ every: number; offset: number }>;
  timezone: string;
  jitterMs: number;
  catchupWindowMs: number;
  overlap: OverlapPolicy;
  pauseOnFailure: boolean;
  /** `preset` when it comes unchanged from the environment preset. */
  source: 'preset' | 'config';
}

/**
 * The schedules of one database: the environment preset's, each kind replaced by the database's
 * own entry of that kind (`enabled: false` removes it); none when `schedules: false`.
 */
export function effectiveSchedules(cfg: LifeboatConfig, database: string): EffectiveSchedule[] {
  const db = getDatabase(cfg, database);
  if (db.schedules === false) return [];
  const byKind = new Map<ScheduleKind, { entry: Omit<ScheduleEntry, 'enabled'>; source: 'preset' | 'config' }>();
  for (const entry of ENVIRONMENT_PRESETS[db.environment].schedules) byKind.set(entry.kind, { entry, source: 'preset' });
  for (const entry of db.schedules ?? []) {
    if (!entry.enabled) byKind.delete(entry.kind);
    else byKind.set(entry.kind, { entry, source: 'config' });
  }
  return SCHEDULE_KINDS.filter((k) => byKind.has(k)).map((kind) => {
    const { entry, source } = byKind.get(kind)!;
    return {
      kind,
      crons: entry.cron === undefined ? [] : Array.isArray(entry.cron) ? [...entry.cron] : [entry.cron],
      intervals: entry.every === undefined ? [] : [{ every: durationMs(entry.every), offset: entry.offset ? durationMs(entry.offset) : 0 }],
      timezone: entry.timezone ?? 'UTC',
      jitterMs: entry.jitter ? durationMs(entry.jitter) : 0,
      catchupWindowMs: durationMs(entry.catchupWindow ?? DEFAULT_CATCHUP_WINDOW),
      overlap: entry.overlap ?? 'SKIP',
      pauseOnFailure: entry.pauseOnFailure ?? false,
      source,
    };
  });
}

/**
 * The longest time between two scheduled backups of `kind` (ms), or undefined when that kind is
 * not scheduled. Retention's default freshness bound is derived from it.
 */
export function backupGapMs(cfg: LifeboatConfig, database: string, kind: (typeof BACKUP_KINDS)[number]): number | undefined {
  const s = effectiveSchedules(cfg, database).find((e) => e.kind === kind);
  if (!s) return undefined;
  const gap = longestGapMs(s.crons, s.intervals);
  // Daylight saving can stretch a local-time gap by an hour.
  return gap === undefined ? undefined : gap + (s.timezone === 'UTC' ? 0 : 3_600_000);
}

/** The Temporal Schedule that Lifeboat wants for one database and kind. */
export interface DesiredSchedule {
  scheduleId: string;
  database: string;
  /** `drill`: a scheduled runbook drill (`database` is then `runbook:<name>`). */
  kind: ScheduleKind | 'drill';
  workflowType: Extract<WorkflowName, 'backupDatabase' | 'verifyBackup' | 'applyRetention' | 'runRunbook' | 'baseBackup' | 'checkWalArchive'>;
  args: [Record<string, unknown>];
  /** Temporal appends the scheduled time: `backup:orders:full-2026-11-23T02:00:00Z`. */
  workflowId: string;
  taskQueue: string;
  spec: { cronExpressions: string[]; intervals: Array<{ every: number; offset: number }>; timezone: string; jitterMs: number };
  policies: { overlap: OverlapPolicy; catchupWindowMs: number; pauseOnFailure: boolean };
  /** Task priority of the runs (scheduled level, the database as fairness key): src/temporal/priority.ts. */
  priority: Priority;
  /** sha256 of everything above, in canonical form; stored with the schedule to detect changes. */
  hash: string;
}

/** JSON with object keys sorted, so equal values always give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>)
            .filter(([, x]) => x !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function scheduleId(database: string, kind: ScheduleKind): string {
  return `${SCHEDULE_ID_PREFIX}${database}:${kind}`;
}

function action(database: string, kind: ScheduleKind): Pick<DesiredSchedule, 'workflowType' | 'args' | 'workflowId'> {
  if (kind === 'verify') return { workflowType: WORKFLOWS.verifyBackup, args: [{ database, backup: 'latest' }], workflowId: `verify:${database}` };
  if (kind === 'retention') return { workflowType: WORKFLOWS.applyRetention, args: [{ database }], workflowId: `retention:${database}` };
  if (kind === 'base') return { workflowType: WORKFLOWS.baseBackup, args: [{ database }], workflowId: `base:${database}` };
  if (kind === 'wal-check') return { workflowType: WORKFLOWS.checkWalArchive, args: [{ database }], workflowId: `wal-check:${database}` };
  return { workflowType: WORKFLOWS.backupDatabase, args: [{ database, kind }], workflowId: `backup:${database}:${kind}` };
}

/** Every schedule the configuration asks for, sorted by id. Pure apart from hashing. */
export function desiredSchedules(cfg: LifeboatConfig): DesiredSchedule[] {
  const out: DesiredSchedule[] = [];
  for (const database of Object.keys(cfg.databases).sort()) {
    for (const s of effectiveSchedules(cfg, database)) {
      const act = action(database, s.kind);
      const body: Omit<DesiredSchedule, 'hash'> = {
        scheduleId: scheduleId(database, s.kind),
        database,
        kind: s.kind,
        ...act,
        taskQueue: cfg.temporal.taskQueue,
        spec: { cronExpressions: s.crons, intervals: s.intervals, timezone: s.timezone, jitterMs: s.jitterMs },
        policies: { overlap: s.overlap, catchupWindowMs: s.catchupWindowMs, pauseOnFailure: s.pauseOnFailure },
        priority: runPriority(act.workflowType, act.args[0], 'schedule'),
      };
      out.push({ ...body, hash: sha256Hex(canonicalJson(body)) });
    }
  }
  for (const d of cfg.runbooks?.drills ?? []) {
    const body: Omit<DesiredSchedule, 'hash'> = {
      scheduleId: `${SCHEDULE_ID_PREFIX}drill:${d.runbook}`,
      database: `runbook:${d.runbook}`,
      kind: 'drill',
      workflowType: WORKFLOWS.runRunbook,
      args: [{ runbook: d.runbook, params: d.params, drill: true }],
      workflowId: `drill:${d.runbook}`,
      taskQueue: cfg.temporal.taskQueue,
      spec: { cronExpressions: [d.cron], intervals: [], timezone: d.timezone, jitterMs: 0 },
      policies: { overlap: 'SKIP', catchupWindowMs: durationMs(DEFAULT_CATCHUP_WINDOW), pauseOnFailure: false },
      priority: runPriority(WORKFLOWS.runRunbook, { runbook: d.runbook }, 'schedule'),
    };
    out.push({ ...body, hash: sha256Hex(canonicalJson(body)) });
  }
  return out.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

/** One line describing when a schedule runs: `cron "0 2 * * *" UTC, overlap SKIP, catch-up 12h`. */
export function describeTiming(d: Pick<DesiredSchedule, 'spec' | 'policies'>): string {
  const when = [
    ...d.spec.cronExpressions.map((c) => `cron "${c}"`),
    ...d.spec.intervals.map((i) => `every ${formatDurationShort(i.every)}${i.offset ? ` +${formatDurationShort(i.offset)}` : ''}`),
  ].join(' + ');
  const parts = [`${when} ${d.spec.timezone}`, `overlap ${d.policies.overlap}`, `catch-up ${formatDurationShort(d.policies.catchupWindowMs)}`];
  if (d.spec.jitterMs) parts.push(`jitter ${formatDurationShort(d.spec.jitterMs)}`);
  if (d.policies.pauseOnFailure) parts.push('pause on failure');
  return parts.join(', ');
}
