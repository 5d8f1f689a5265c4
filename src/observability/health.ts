// Health of the fleet from its catalog: is the newest backup within the RPO bound, did the newest
// verification pass and is it recent enough, did a backup shrink suspiciously? Evaluation is pure
// (catalog + bounds + now); it needs storage only, never Temporal.
import { getDatabase } from '../config/load.js';
import type { LifeboatConfig } from '../config/schema.js';
import { durationMs, formatDurationShort } from '../contracts/duration.js';
import { longestGapMs } from '../schedules/cron.js';
import { backupGapMs, effectiveSchedules } from '../schedules/desired.js';
import type { Manifest } from '../catalog/manifest.js';
import type { ArchiveStatus } from '../pitr/archive-check.js';
import type { DatabaseCatalog } from './catalog.js';

const HOUR = 3_600_000;
/** Time a scheduled backup may take to run and commit after its slot. */
export const BACKUP_GRACE_MS = 2 * HOUR;
/** Time a scheduled verification may take (a restore is slower than a dump). */
export const VERIFY_GRACE_MS = 12 * HOUR;
/** RPO bound of a database without scheduled full or data backups, by environment. */
export const ENVIRONMENT_RPO_MS = { production: 26 * HOUR, staging: 26 * HOUR, development: 8 * 24 * HOUR } as const;
export const DEFAULT_SIZE_DROP_ALERT = -0.5;
/** Incidents with no start of their own (no backup was ever committed) open at the epoch. */
const EPOCH = new Date(0).toISOString();

export interface HealthBounds {
  rpoMs: number;
  rpoSource: 'config' | 'schedule' | 'environment';
  /** Undefined when verifications are neither configured nor scheduled. */
  verifyWithinMs?: number;
  verifySource?: 'config' | 'schedule';
  /** Fraction (-0.5 = 50% smaller), or false when the size check is off. */
  sizeDropAlert: number | false;
}

function scheduledGap(cfg: LifeboatConfig, database: string, kind: 'full' | 'data' | 'verify'): number | undefined {
  const s = effectiveSchedules(cfg, database).find((e) => e.kind === kind);
  if (!s) return undefined;
  const gap = kind === 'verify' ? longestGapMs(s.crons, s.intervals) : backupGapMs(cfg, database, kind);
  return gap === undefined ? undefined : gap + s.jitterMs + (kind === 'verify' && s.timezone !== 'UTC' ? HOUR : 0);
}

/**
 * The bounds a database is held to. `rpo`, when not configured, is the longest gap between its
 * scheduled full (or data) backups plus their jitter plus 2 h to run (daily at 02:00 gives 26h);
 * without such schedules, its environment's default. `verifyWithin` is likewise the verify
 * schedule's longest gap plus 12 h; none when verifications are not scheduled.
 */
export function healthBounds(cfg: LifeboatConfig, database: string): HealthBounds {
  const db = getDatabase(cfg, database);
  const gaps = [scheduledGap(cfg, database, 'full'), scheduledGap(cfg, database, 'data')].filter((g): g is number => g !== undefined);
  const rpo: Pick<HealthBounds, 'rpoMs' | 'rpoSource'> = db.rpo
    ? { rpoMs: durationMs(db.rpo), rpoSource: 'config' }
    : gaps.length
      ? { rpoMs: Math.min(...gaps) + BACKUP_GRACE_MS, rpoSource: 'schedule' }
      : { rpoMs: ENVIRONMENT_RPO_MS[db.environment], rpoSource: 'environment' };
  const verifyGap = scheduledGap(cfg, database, 'verify');
  const verify: Pick<HealthBounds, 'verifyWithinMs' | 'verifySource'> = db.verifyWithin
    ? { verifyWithinMs: durationMs(db.verifyWithin), verifySource: 'config' }
    : verifyGap !== undefined
      ? { verifyWithinMs: verifyGap + VERIFY_GRACE_MS, verifySource: 'schedule' }
      : {};
  return { ...rpo, ...verify, sizeDropAlert: db.sizeDropAlert ?? DEFAULT_SIZE_DROP_ALERT };
}

export type ProblemKind = 'stale' | 'verify-failed' | 'verify-overdue' | 'size-anomaly' | 'catalog-unreadable' | 'wal-archive';

/** One thing wrong with a database. `since` is when it started: stable while it lasts (an incident's id). */
export interface HealthProblem {
  kind: ProblemKind;
  message: string;
  since: string;
  backupId?: string;
  backupKind?: Manifest['kind'];
}

export interface SizeChange {
  kind: Manifest['kind'];
  backupId: string;
  startedAt: string;
  rawBytes: number;
  storedBytes: number;
  previousBackupId: string;
  previousRawBytes: number;
  /** (raw - previous raw) / previous raw; -0.6 = 60% smaller. */
  change: number;
  alertBelow: number | false;
}

export interface DatabaseHealth {
  database: string;
  environment: string;
  /** Only production databases make `/health/backups` answer 503. */
  production: boolean;
  storage: string;
  status: 'healthy' | 'unhealthy';
  problems: HealthProblem[];
  bounds: { rpoSeconds: number; rpoSource: HealthBounds['rpoSource']; verifyWithinSeconds: number | null; sizeDropAlert: number | false };
  backup: {
    backupId: string;
    kind: Manifest['kind'];
    finishedAt: string;
    ageSeconds: number;
    rpoSeconds: number;
    rpoSource: HealthBounds['rpoSource'];
    fresh: boolean;
  } | null;
  verification: {
    backupId: string;
    kind: string;
    outcome: 'passed' | 'failed';
    verifiedAt: string;
    ageSeconds: number;
    withinSeconds: number | null;
    restoreDurationMs: number | null;
  } | null;
  sizes: SizeChange[];
  backups: number;
  catalogProblems: string[];
  /** Point-in-time recovery only: the WAL archive check. */
  walArchive?: Pick<ArchiveStatus, 'ok' | 'segments' | 'newestSegment' | 'newestAgeSeconds' | 'rpoSeconds' | 'gaps' | 'problems'>;
}

export interface HealthReport {
  status: 'healthy' | 'unhealthy';
  httpStatus: 200 | 503;
  checkedAt: string;
  databases: DatabaseHealth[];
}

const seconds = (ms: number) => Math.max(0, Math.round(ms / 1000));
const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();
const age = (iso: string, now: Date) => formatDurationShort(Math.max(0, now.getTime() - Date.parse(iso)));

/** Newest and previous backup of each kind, and how much the newest one's dump changed. */
export function sizeChanges(backups: Manifest[], alertBelow: number | false): SizeChange[] {
  const out: SizeChange[] = [];
  for (const kind of ['full', 'schema', 'data'] as const) {
    const [newest, previous] = backups.filter((b) => b.kind === kind);
    if (!newest || !previous || previous.rawBytes <= 0) continue;
    const change = (newest.rawBytes - previous.rawBytes) / previous.rawBytes;
    out.push({
      kind,
      backupId: newest.backupId,
      startedAt: newest.startedAt,
      rawBytes: newest.rawBytes,
      storedBytes: newest.artifact.bytes,
      previousBackupId: previous.backupId,
      previousRawBytes: previous.rawBytes,
      change,
      alertBelow,
    });
  }
  return out;
}

function freshness(c: DatabaseCatalog, b: HealthBounds, now: Date): { backup: DatabaseHealth['backup']; problem?: HealthProblem } {
  const newest = c.backups.filter((m) => m.kind !== 'schema').sort((x, y) => y.finishedAt.localeCompare(x.finishedAt))[0];
  const bound = formatDurationShort(b.rpoMs);
  if (!newest) {
    const schemaOnly = c.backups.length > 0 ? ' (only schema backups, which hold no data)' : '';
    return {
      backup: null,
      problem: {
        kind: 'stale',
        message: `Backups of ${c.database} are stale: no committed full or data backup${schemaOnly} (RPO bound ${bound})`,
        since: EPOCH,
      },
    };
  }
  const ageMs = now.getTime() - Date.parse(newest.finishedAt);
  const fresh = ageMs <= b.rpoMs;
  const backup = {
    backupId: newest.backupId,
    kind: newest.kind,
    finishedAt: newest.finishedAt,
    ageSeconds: seconds(ageMs),
    rpoSeconds: seconds(b.rpoMs),
    rpoSource: b.rpoSource,
    fresh,
  };
  if (fresh) return { backup };
  const message = `Backups of ${c.database} are stale: newest ${newest.kind} backup ${newest.backupId} is ${age(newest.finishedAt, now)} old (RPO bound ${bound})`;
  return { backup, problem: { kind: 'stale', message, since: plus(newest.finishedAt, b.rpoMs), backupId: newest.backupId, backupKind: newest.kind } };
}

function verification(c: DatabaseCatalog, b: HealthBounds, now: Date): { verification: DatabaseHealth['verification']; problem?: HealthProblem } {
  const v = c.latestVerification;
  const within = b.verifyWithinMs;
  if (!v) {
    const oldest = c.backups[c.backups.length - 1];
    if (within === undefined || !oldest || now.getTime() - Date.parse(oldest.finishedAt) <= within) return { verification: null };
    const message = `Verification of ${c.database} is overdue: no backup was ever verified (bound ${formatDurationShort(within)})`;
    return { verification: null, problem: { kind: 'verify-overdue', message, since: plus(oldest.finishedAt, within) } };
  }
  const ageMs = now.getTime() - Date.parse(v.verifiedAt);
  const out = {
    backupId: v.backupId,
    kind: v.kind,
    outcome: v.outcome,
    verifiedAt: v.verifiedAt,
    ageSeconds: seconds(ageMs),
    withinSeconds: within === undefined ? null : seconds(within),
    restoreDurationMs: v.restoreDurationMs,
  };
  const kind = v.kind === 'unknown' ? undefined : v.kind;
  if (v.outcome === 'failed') {
    const why =
      v.error ??
      v.checks
        .filter((x) => !x.ok)
        .map((x) => x.name)
        .join(', ');
    return {
      verification: out,
      problem: {
        kind: 'verify-failed',
        message: `Verification of ${c.database} backup ${v.backupId} failed${why ? `: ${why}` : ''}`,
        since: v.verifiedAt,
        backupId: v.backupId,
        backupKind: kind,
      },
    };
  }
  if (within !== undefined && ageMs > within) {
    const message = `Verification of ${c.database} is overdue: newest verification is ${age(v.verifiedAt, now)} old (bound ${formatDurationShort(within)})`;
    return { verification: out, problem: { kind: 'verify-overdue', message, since: plus(v.verifiedAt, within), backupId: v.backupId, backupKind: kind } };
  }
  return { verification: out };
}

function sizeProblems(database: string, sizes: SizeChange[]): HealthProblem[] {
  return sizes
    .filter((s) => s.alertBelow !== false && s.change <= s.alertBelow)
    .map((s) => ({
      kind: 'size-anomaly' as const,
      message: `Backup of ${database} shrank: ${s.kind} backup ${s.backupId} is ${Math.round(-s.change * 100)}% smaller than ${s.previousBackupId} (${s.rawBytes} vs ${s.previousRawBytes} bytes; alert at ${Math.round((s.alertBelow as number) * 100)}%)`,
      since: s.startedAt,
      backupId: s.backupId,
      backupKind: s.kind,
    }));
}

/** The health of one database from one storage target's catalog. Pure. */
export function evaluateDatabase(c: DatabaseCatalog, b: HealthBounds, environment: string, now: Date): DatabaseHealth {
  const bounds = {
    rpoSeconds: seconds(b.rpoMs),
    rpoSource: b.rpoSource,
    verifyWithinSeconds: b.verifyWithinMs === undefined ? null : seconds(b.verifyWithinMs),
    sizeDropAlert: b.sizeDropAlert,
  };
  const base = {
    database: c.database,
    environment,
    production: environment === 'production',
    storage: c.storage,
    bounds,
    backups: c.backups.length,
    catalogProblems: c.problems,
  };
  if (c.error) {
    const problem: HealthProblem = {
      kind: 'catalog-unreadable',
      message: `Catalog of ${c.database} is unreadable: ${c.error}`,
      since: c.failingSince ?? c.readAt,
    };
    return { ...base, status: 'unhealthy', problems: [problem], backup: null, verification: null, sizes: [] };
  }
  const f = freshness(c, b, now);
  const v = verification(c, b, now);
  const sizes = sizeChanges(c.backups, b.sizeDropAlert);
  const w = c.walArchive;
  const wal: HealthProblem[] = (w?.problems ?? []).map((message) => ({ kind: 'wal-archive', message, since: EPOCH }));
  const problems = [f.problem, v.problem, ...sizeProblems(c.database, sizes), ...wal].filter((p): p is HealthProblem => p !== undefined);
  const walArchive = w && {
    ok: w.ok,
    segments: w.segments,
    newestSegment: w.newestSegment,
    newestAgeSeconds: w.newestAgeSeconds,
    rpoSeconds: w.rpoSeconds,
    gaps: w.gaps,
    problems: w.problems,
  };
  const status = problems.length ? 'unhealthy' : 'healthy';
  return { ...base, status, problems, backup: f.backup, verification: v.verification, sizes, ...(walArchive ? { walArchive } : {}) };
}

/** The report over every database: HTTP 503 when any production database is unhealthy. */
export function healthReport(databases: DatabaseHealth[], now: Date): HealthReport {
  const unhealthy = databases.some((d) => d.production && d.status === 'unhealthy');
  return { status: unhealthy ? 'unhealthy' : 'healthy', httpStatus: unhealthy ? 503 : 200, checkedAt: now.toISOString(), databases };
}

/** Evaluates the catalogs read for the configured databases. */
export function evaluateFleet(cfg: LifeboatConfig, catalogs: DatabaseCatalog[], now = new Date()): HealthReport {
  return healthReport(
    catalogs.map((c) => evaluateDatabase(c, healthBounds(cfg, c.database), getDatabase(cfg, c.database).environment, now)),
    now,
  );
}
