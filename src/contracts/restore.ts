// The restore family: `restoreDatabase` and `verifyBackup`, their updates and queries.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { compactTimestamp, databaseName, durationField, isoSecond, personName, type BackupKind, type WorkflowRef } from './common.js';

export const RESTORE_MODES = ['full', 'schema', 'data', 'tables'] as const;
export type RestoreMode = (typeof RESTORE_MODES)[number];
export const PRIVILEGE_MODES = ['skip', 'restore'] as const;
export const OVERWRITE_MODES = ['swap', 'in-place'] as const;
export type OverwriteMode = (typeof OVERWRITE_MODES)[number];
export type PrivilegeMode = (typeof PRIVILEGE_MODES)[number];

const BACKUP_SELECTOR_MESSAGE = 'expected a backup id, "latest", "latest-verified" or { "before": "<ISO time>" }';

/** Which committed backup: an id, `latest`, `latest-verified`, or the newest started at or before a time. */
export const BackupSelectorSchema = z.union(
  [
    z.enum(['latest', 'latest-verified']),
    z.strictObject({ before: z.iso.datetime({ offset: true, error: 'expected an ISO time such as 2026-11-23T02:00:00Z' }) }),
    z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, BACKUP_SELECTOR_MESSAGE),
  ],
  { error: BACKUP_SELECTOR_MESSAGE },
);
export type BackupSelector = z.output<typeof BackupSelectorSchema>;

/** A database name Lifeboat may create or name as a target. */
const targetName = z
  .string({ error: 'expected a target name from the configuration or a new database name' })
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$/, 'expected a target name from the configuration or a new database name (letters, digits, "_" or "-", at most 63)');

const tableName = z
  .string()
  .min(1)
  .max(200)
  .refine((s) => !/[\u0000-\u001f]/.test(s), 'expected a table name such as "public.users"');

/**
 * Input of `restoreDatabase`, e.g.
 * `{ "database": "orders", "backup": "latest", "target": "orders_restore", "mode": "full" }`.
 */
export const RestoreInputSchema = z
  .strictObject({
    database: databaseName,
    backup: BackupSelectorSchema.default('latest'),
    target: targetName,
    mode: z.enum(RESTORE_MODES, { error: 'expected "full", "schema", "data" or "tables"' }).default('full'),
    tables: z.array(tableName).min(1, 'expected at least one table').max(1000).optional(),
    /** `skip`: restore without owners and grants (`--no-owner --no-acl`); `restore`: keep them (the roles must exist). */
    privileges: z.enum(PRIVILEGE_MODES, { error: 'expected "skip" or "restore"' }).default('skip'),
    jobs: z.int().min(1).max(32).optional(),
    /** Restore the roles stored with the backup (`pg_dumpall --roles-only`, no passwords) onto the target's server first. */
    withRoles: z.boolean().optional(),
    /** How long to wait for an approval when one is needed. */
    approvalTimeout: durationField({
      min: 1000,
      max: 7 * 86_400_000,
      describe: 'expected a duration from 1s to 7 days, such as "30 minutes" or "1 hour"',
    }).default('1 hour'),
    /**
     * Over an existing database: `swap` (default) restores into a new database, checks its row
     * counts, then swaps it in under the old name (the old one kept as `<name>_before_<time>`);
     * `in-place` restores into it in one transaction (`--clean --if-exists`).
     */
    overwrite: z.enum(OVERWRITE_MODES, { error: 'expected "swap" or "in-place"' }).default('swap'),
    /** Who asks for the restore (the CLI sends the OS user); with four eyes on, they may not approve it. */
    requestedBy: personName('requester').optional(),
  })
  .superRefine((v, ctx) => {
    if (v.mode === 'tables' && !v.tables) {
      ctx.addIssue({ code: 'custom', path: ['tables'], message: 'required with mode "tables", e.g. ["public.users"]' });
    }
    if (v.mode !== 'tables' && v.tables) {
      ctx.addIssue({ code: 'custom', path: ['tables'], message: 'only allowed with mode "tables"' });
    }
  });
export type RestoreInput = z.input<typeof RestoreInputSchema>;
export type RestoreRequestInput = z.output<typeof RestoreInputSchema>;

/** Input of `verifyBackup`, e.g. `{ "database": "orders", "backup": "latest" }`. */
export const VerifyInputSchema = z.strictObject({
  database: databaseName,
  backup: BackupSelectorSchema.default('latest'),
});
export type VerifyInput = z.input<typeof VerifyInputSchema>;

/** Argument of the `approve` update of `restoreDatabase`: who approves, and the target typed out. */
export const ApprovalSchema = z.strictObject({
  approver: personName('approver'),
  target: z.string({ error: 'expected the target name typed out' }),
});
export type Approval = z.input<typeof ApprovalSchema>;

/** The committed backup a restore or verification uses (from its manifest; no secrets). */
export interface BackupSummary {
  database: string;
  backupId: string;
  kind: BackupKind;
  startedAt: string;
  /** Storage target the artifact is read from. */
  storage: string;
  location: string;
  bytes: number;
  rawBytes: number;
  sha256: string;
  compression: string;
  /** Tables with row counts in the manifest; null when not counted. */
  tables: number | null;
  /** The task queue the restore activity runs on (`temporal.restoreTaskQueue`); absent: the workflow's. */
  restoreTaskQueue?: string;
}

/** What a restore would do to its target; the workflow asks for an approval when `reasons` is not empty. */
export interface TargetInspection {
  target: string;
  /** Database name of the target on its server. */
  databaseName: string;
  /** `named`: from `targets:`; `configured`: a database from `databases:`; `new`: a database on the source's server. */
  kind: 'named' | 'configured' | 'new';
  exists: boolean;
  /** User objects (relations, functions, schemas) in the target; 0 when empty or absent. */
  objects: number;
  protected: boolean;
  isSource: boolean;
  /** Why an approval is needed; empty when none is. */
  reasons: string[];
  /** Who may approve (from the configuration). */
  approvers: string[];
  /** Four eyes: the requester may not approve (protected target or the source itself, and `fourEyes` on for the database). */
  fourEyes?: boolean;
}

export interface RowCountMismatch {
  table: string;
  expected: number;
  /** null when the table is missing from the restored database. */
  actual: number | null;
}

export interface RowCountComparison {
  compared: number;
  mismatches: RowCountMismatch[];
}

/** Result of one restore into a database. Names only, never connection details. */
export interface RestoreResult {
  database: string;
  backupId: string;
  backupStartedAt: string;
  target: string;
  targetDatabase: string;
  mode: RestoreMode;
  /** True when the restore created the target database. */
  created: boolean;
  /** Restore-and-swap: the name the previous database is kept under. */
  keptAs?: string;
  approvedBy?: string;
  bytes: number;
  rawBytes: number;
  downloadMs: number;
  /** Time the restore tool ran (`pg_restore`, `mariadb`/`mysql`; the field keeps its first name). */
  pgRestoreMs: number;
  /** The restore tool that ran (`pg_restore`, `mariadb`); absent in results of older versions. */
  restoreTool?: string;
  /** Download, checksum, decompression and the restore tool: the measured time to get the data back. */
  restoreDurationMs: number;
  /** Row counts compared with the manifest; null when the backup has none or the mode has no data. */
  rowCounts: RowCountComparison | null;
  notes: string[];
}

export interface VerificationCheck {
  name: string;
  ok: boolean;
  /** What was found: the check's value, or why it failed. */
  value: string | number | boolean | null;
  sql?: string;
  skipped?: boolean;
}

/** The record written next to a backup's manifest after each verification. */
export interface VerificationRecord {
  formatVersion: 1;
  database: string;
  backupId: string;
  verifiedAt: string;
  outcome: 'passed' | 'failed';
  checks: VerificationCheck[];
  /** The measured RTO of this backup: download, checksum, decompression and restore. */
  restoreDurationMs: number | null;
  scratchDatabase: string;
  workflow: WorkflowRef;
  error?: string;
  /** The stored artifact's sha256 this record vouches for: a target whose copy differs does not count it. */
  sha256?: string;
  /** The storage target whose artifact was restored. */
  storage?: string;
}

export interface VerifyResult extends VerificationRecord {
  /** Where the verification record was written. */
  recordKey: string;
}

export type RestorePhase = 'resolving' | 'inspecting' | 'awaiting-approval' | 'restoring' | 'done' | 'failed';

/** What the `progress` query of `restoreDatabase` returns. */
export interface RestoreState {
  phase: RestorePhase;
  database: string;
  target: string;
  backup?: BackupSummary;
  inspection?: TargetInspection;
  approvalDeadline?: string;
  requestedBy?: string;
  approvedBy?: string;
  result?: RestoreResult;
  error?: string;
}

export type VerifyPhase = 'resolving' | 'restoring' | 'checking' | 'cleaning-up' | 'recording' | 'done' | 'failed';

/** What the `progress` query of `verifyBackup` returns. */
export interface VerifyState {
  phase: VerifyPhase;
  database: string;
  backup?: BackupSummary;
  scratchDatabase?: string;
  checks: VerificationCheck[];
}

/**
 * Why `approver` may not approve a restore that needs an approval, or undefined when they may: an
 * allowed approver, and with four eyes someone other than the requester. The one rule of the
 * workflow and of `restore --local`.
 */
export function approvalRefusal(
  database: string,
  inspection: Pick<TargetInspection, 'approvers' | 'fourEyes'>,
  approver: string,
  requestedBy?: string,
): string | undefined {
  const allowed = inspection.approvers;
  if (!allowed.includes(approver)) {
    return `${approver} is not an approver (allowed: ${allowed.length ? allowed.join(', ') : 'none configured; set approvers: in the configuration'})`;
  }
  if (!inspection.fourEyes) return undefined;
  if (requestedBy === undefined) {
    return `four eyes apply (databases.${database}.fourEyes) and the requester of this restore is unknown: start it with requestedBy, as the CLI does`;
  }
  if (requestedBy === approver) {
    return `${approver} requested this restore and may not approve it: four eyes apply (databases.${database}.fourEyes), another approver must approve`;
  }
  return undefined;
}

/** Approves a restore that waits for one: `{ "approver": "alice", "target": "<the target typed out>" }`. */
export const approveRestoreUpdate = defineUpdate<{ approvedBy: string; target: string }, [Approval]>('approve');
/** Where a restore stands: phase, backup, target inspection, approval, result. */
export const restoreProgressQuery = defineQuery<RestoreState>('progress');
/** Where a verification stands: phase, backup, scratch database, checks so far. */
export const verifyProgressQuery = defineQuery<VerifyState>('progress');

/** `shop.orders (restored 9, manifest 10); shop.items (missing, manifest 3)`, at most 20 tables. */
export function describeRowCountMismatches(mismatches: RowCountMismatch[]): string {
  const shown = mismatches
    .slice(0, 20)
    .map((m) => `${m.table} (${m.actual === null ? 'missing' : `restored ${m.actual}`}, manifest ${m.expected})`)
    .join('; ');
  return mismatches.length > 20 ? `${shown}; and ${mismatches.length - 20} more` : shown;
}

export const SCRATCH_PREFIX = 'lb_verify_';

/** A fresh scratch database name for verifying a backup of `database`: `lb_verify_orders_20261123t020000z_1a2b3c`. */
export function scratchDatabaseName(database: string, at: Date, random: string): string {
  const db = database
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 24);
  const rnd = random
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 6);
  return `${SCRATCH_PREFIX}${db}_${compactTimestamp(at).toLowerCase()}_${rnd}`;
}

/** Readable workflow ids: `restore:orders_restore` (one restore per target at a time). */
export function restoreWorkflowId(target: string): string {
  return `restore:${target}`;
}

/** `verify:orders:2026-11-23T02:00:00Z`. */
export function verifyWorkflowId(database: string, at: Date): string {
  return `verify:${database}:${isoSecond(at)}`;
}
