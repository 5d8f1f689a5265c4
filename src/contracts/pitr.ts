// The point-in-time recovery family: base backups, recovery to a time/LSN/restore point, the
// WAL archive check and the verification of a recovery point.
import { z } from 'zod';
import { databaseName } from './common.js';

const isoTime = z.iso.datetime({ offset: true, error: 'expected an ISO time such as 2026-11-23T02:00:00Z' });
const lsn = z.string().regex(/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/, 'expected an LSN such as 0/3000028');
const pointName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'expected a restore point name (letters, digits, ".", "_" or "-")');
const baseId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'expected a base backup id');

/**
 * `{ "database": "orders" }`: a base backup of a database whose WAL is archived. `maxRate` caps
 * the read rate on the server (`pg_basebackup --max-rate`: kB/s, or with a `k`/`M` suffix; 32k to 1024M).
 */
export const BaseBackupInputSchema = z.strictObject({
  database: databaseName,
  maxRate: z
    .string()
    .regex(/^[1-9]\d{0,6}[kM]?$/, 'expected a rate such as 50M or 800k (pg_basebackup --max-rate)')
    .optional(),
});
export type BaseBackupInput = z.input<typeof BaseBackupInputSchema>;

export interface BaseBackupResult {
  database: string;
  backupId: string;
  startLsn: string;
  stopLsn: string;
  startTimeline: number;
  rawBytes: number;
  storedBytes: number;
  sha256: string;
  durationMs: number;
}

const targetShape = {
  database: databaseName,
  toTime: isoTime.optional(),
  toLsn: lsn.optional(),
  toName: pointName.optional(),
  /** A base backup id instead of the newest one before the target. */
  baseBackup: baseId.optional(),
};

function oneTarget(t: { toTime?: string; toLsn?: string; toName?: string }, ctx: z.RefinementCtx): void {
  if ([t.toTime, t.toLsn, t.toName].filter((v) => v !== undefined).length > 1) {
    ctx.addIssue({ code: 'custom', path: ['toTime'], message: 'expected at most one of toTime, toLsn and toName' });
  }
}

/** `{ "database": "orders", "toTime": "2026-12-03T10:15:00Z" }`: recovery into a new server. */
export const PitrRestoreInputSchema = z.strictObject(targetShape).superRefine(oneTarget);
export type PitrRestoreInput = z.input<typeof PitrRestoreInputSchema>;

export interface PitrRestoreResult {
  database: string;
  backupId: string;
  host: string;
  port: number;
  dataDir: string;
  recoveredTo: string | null;
  replayedLsn: string;
  walReplayedBytes: number;
  segmentsRestored: number;
  durationMs: number;
}

/** `{ "database": "orders" }`: fails with `ARCHIVE_INCOMPLETE` when WAL is missing or stale. */
export const ArchiveCheckInputSchema = z.strictObject({ database: databaseName });
export type ArchiveCheckInput = z.input<typeof ArchiveCheckInputSchema>;

export interface ArchiveCheckResult {
  database: string;
  ok: boolean;
  segments: number;
  baseBackups: number;
  newestSegment: string | null;
  newestAgeSeconds: number | null;
  rpoSeconds: number;
  gaps: Array<{ timeline: number; from: string; to: string; missing: number }>;
  problems: string[];
}

/** `{ "database": "orders", "toTime": "…" }` (default: now): recovery into a scratch server, checks, teardown. */
export const VerifyRecoveryPointInputSchema = z.strictObject(targetShape).superRefine(oneTarget);
export type VerifyRecoveryPointInput = z.input<typeof VerifyRecoveryPointInputSchema>;

export interface RecoveryPointVerification {
  database: string;
  backupId: string;
  target: { toTime?: string; toLsn?: string; toName?: string };
  outcome: 'passed' | 'failed';
  /** Measured recovery time: from the start of the restore until the promoted server answered. */
  rtoMs: number;
  /** The target time minus the last commit replayed before it (null without a time target or a commit). */
  achievedRpoMs: number | null;
  recoveredTo: string | null;
  walReplayedBytes: number;
  rowCounts: Record<string, number>;
  checks: Array<{ name: string; ok: boolean; value: string | number | boolean | null }>;
  verifiedAt: string;
  serverStopped: boolean;
  error?: string;
}

/** `{ "database": "orders", "name": "before-migration" }`: `pg_create_restore_point` on the source. */
export const RestorePointInputSchema = z.strictObject({ database: databaseName, name: pointName });
export type RestorePointInput = z.input<typeof RestorePointInputSchema>;

export interface RestorePointResult {
  database: string;
  name: string;
  lsn: string;
  createdAt: string;
}
