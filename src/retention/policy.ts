import { getDatabase, databaseStorageNames } from '../config/load.js';
import { RETENTION_KEEP_RULES, type LifeboatConfig, type RetentionPolicyConfig } from '../config/schema.js';
import type { BackupKind } from '../contracts/index.js';
import { backupGapMs } from '../schedules/desired.js';
import { durationMs, formatDurationShort } from '../contracts/duration.js';
import { ENVIRONMENT_PRESETS } from '../schedules/presets.js';
import type { RetentionPolicy } from './planner.js';

/** Artifacts without a manifest younger than this are left alone (a backup may still be running). */
export const DEFAULT_ORPHAN_GRACE = '48h';
const FRESHNESS_SLACK_MS = 12 * 3_600_000;

/**
 * The retention policy of one database, backup kind and storage target. Levels, each overriding the
 * one before: environment preset, `retention`, `retention.kinds.<kind>`, `retention.storage.<target>`,
 * `retention.storage.<target>.kinds.<kind>`. A level with any keep rule replaces the keep rules as a
 * whole; `minKeep`, `freshness` and `timezone` are inherited one by one. Without an explicit
 * `freshness`, the bound is the longest gap between two scheduled backups of that kind plus half
 * of it (at least 12 hours more); an unscheduled kind has no freshness bound.
 */
export function resolveRetentionPolicy(cfg: LifeboatConfig, database: string, kind: BackupKind, storage: string): RetentionPolicy {
  const db = getDatabase(cfg, database);
  const r = db.retention;
  const levels: Array<RetentionPolicyConfig | undefined> = [
    ENVIRONMENT_PRESETS[db.environment].retention,
    r,
    r?.kinds?.[kind],
    r?.storage?.[storage],
    r?.storage?.[storage]?.kinds?.[kind],
  ];
  let rules: RetentionPolicyConfig = {};
  const safety: Pick<RetentionPolicyConfig, 'minKeep' | 'freshness' | 'timezone'> = {};
  for (const level of levels) {
    if (!level) continue;
    if (RETENTION_KEEP_RULES.some((k) => level[k] !== undefined)) {
      rules = Object.fromEntries(RETENTION_KEEP_RULES.filter((k) => level[k] !== undefined).map((k) => [k, level[k]]));
    }
    if (level.minKeep !== undefined) safety.minKeep = level.minKeep;
    if (level.freshness !== undefined) safety.freshness = level.freshness;
    if (level.timezone !== undefined) safety.timezone = level.timezone;
  }
  let freshnessMs = safety.freshness ? durationMs(safety.freshness) : undefined;
  if (freshnessMs === undefined) {
    const gap = backupGapMs(cfg, database, kind);
    if (gap !== undefined) freshnessMs = Math.max(Math.round(gap * 1.5), gap + FRESHNESS_SLACK_MS);
  }
  return {
    keepLast: rules.keepLast,
    keepWithinMs: rules.keepWithin ? durationMs(rules.keepWithin) : undefined,
    hourly: rules.hourly,
    daily: rules.daily,
    weekly: rules.weekly,
    monthly: rules.monthly,
    yearly: rules.yearly,
    minKeep: Math.max(1, safety.minKeep ?? 1),
    freshnessMs,
    timezone: safety.timezone ?? 'UTC',
  };
}

/** Policies of every backup kind on one storage target. */
export function retentionPolicies(cfg: LifeboatConfig, database: string, storage: string): Record<BackupKind, RetentionPolicy> {
  return {
    full: resolveRetentionPolicy(cfg, database, 'full', storage),
    schema: resolveRetentionPolicy(cfg, database, 'schema', storage),
    data: resolveRetentionPolicy(cfg, database, 'data', storage),
  };
}

export function orphanGraceMs(cfg: LifeboatConfig, database: string): number {
  return durationMs(getDatabase(cfg, database).retention?.orphanGrace ?? DEFAULT_ORPHAN_GRACE);
}

/** `daily 30, weekly 12, monthly 12; minKeep 3; fresh 36h` */
export function describePolicy(p: RetentionPolicy): string {
  const rules: string[] = [];
  if (p.keepLast !== undefined) rules.push(`last ${p.keepLast}`);
  if (p.keepWithinMs !== undefined) rules.push(`within ${formatDurationShort(p.keepWithinMs)}`);
  for (const k of ['hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const) if (p[k] !== undefined) rules.push(`${k} ${p[k]}`);
  const tail = [`minKeep ${p.minKeep}`, p.freshnessMs !== undefined ? `fresh ${formatDurationShort(p.freshnessMs)}` : 'no freshness bound'];
  if (p.timezone !== 'UTC') tail.push(p.timezone);
  return `${rules.length ? rules.join(', ') : 'keep everything'}; ${tail.join(', ')}`;
}

/** The storage targets a database's backups live on (the first is where backups are written). */
export function retentionTargets(cfg: LifeboatConfig, database: string): string[] {
  return databaseStorageNames(cfg, database);
}
