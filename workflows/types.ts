// Shared between workflows, activities and the CLI. Pure: no Node built-ins, no I/O.
import { z } from 'zod';

export const BACKUP_KINDS = ['full', 'schema', 'data'] as const;
export type BackupKind = (typeof BACKUP_KINDS)[number];

const databaseName = z
  .string({ error: 'expected a database name from the configuration' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'expected a database name from the configuration (letters, digits, "_" or "-")');

/** Input of `backupDatabase`, e.g. `{ "database": "orders", "kind": "full" }`. */
export const BackupInputSchema = z.strictObject({
  database: databaseName,
  kind: z.enum(BACKUP_KINDS, { error: 'expected "full", "schema" or "data"' }).default('full'),
});
export type BackupInput = z.input<typeof BackupInputSchema>;

/** Result of `backupDatabase`. Carries names and keys only, never connection details. */
export interface BackupResult {
  backupId: string;
  database: string;
  kind: BackupKind;
  storage: string;
  key: string;
  location: string;
  bytes: number;
  rawBytes: number;
  sha256: string;
  durationMs: number;
  /** Number of tables with row counts in the manifest; null when not counted. */
  tables: number | null;
}

/** Heartbeat details of the backup activity; also what `lifeboat backup --wait` shows. */
export interface BackupHeartbeat {
  phase: string;
  rawBytes: number;
  storedBytes: number;
  elapsedMs: number;
}

export const TASK_QUEUE_DEFAULT = 'lifeboat';

/** `2026-11-23T02:00:00.123Z` -> `20261123T020000Z`. */
export function compactTimestamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** Readable workflow id: `backup:orders:full:2026-11-23T02:00:00Z`. */
export function backupWorkflowId(database: string, kind: BackupKind, at: Date): string {
  return `backup:${database}:${kind}:${at.toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
}

/** Formats zod issues as one line: `kind: expected "full", "schema" or "data"; database: ...`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : 'input'}: ${i.message}`)
    .join('; ');
}

// ---------------------------------------------------------------- restore and verification ---

export const RESTORE_MODES = ['full', 'schema', 'data', 'tables'] as const;
export type RestoreMode = (typeof RESTORE_MODES)[number];
export const PRIVILEGE_MODES = ['skip', 'restore'] as const;
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

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?)$/;

/** `"5s"`, `"30 minutes"`, `"1 hour"`, `"2d"` -> milliseconds; undefined when not understood. */
export function parseDurationMs(text: string): number | undefined {
  const m = DURATION_RE.exec(text.trim());
  if (!m) return undefined;
  const unit = m[2]!;
  const key = unit === 'ms' ? 'ms' : unit[0]!;
  return Math.round(Number(m[1]) * DURATION_UNITS[key]!);
}

const approvalTimeoutSchema = z
  .string()
  .refine((s) => {
    const ms = parseDurationMs(s);
    return ms !== undefined && ms >= 1000 && ms <= 7 * 86_400_000;
  }, 'expected a duration from 1s to 7 days, such as "30 minutes" or "1 hour"');

/** A PostgreSQL database name Lifeboat may create or name as a target. */
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
    /** How long to wait for an approval when one is needed. */
    approvalTimeout: approvalTimeoutSchema.default('1 hour'),
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
  approver: z.string({ error: 'expected the approver\'s name' }).min(1, 'expected the approver\'s name').max(200),
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
}

/** What a restore would do to its target; the workflow asks for an approval when `reasons` is not empty. */
export interface TargetInspection {
  target: string;
  /** PostgreSQL database name of the target. */
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
  approvedBy?: string;
  bytes: number;
  rawBytes: number;
  downloadMs: number;
  pgRestoreMs: number;
  /** Download, checksum, decompression and pg_restore: the measured time to get the data back. */
  restoreDurationMs: number;
  /** Row counts compared with the manifest; null when the backup has none or the mode has no data. */
  rowCounts: RowCountComparison | null;
  notes: string[];
}

/** Heartbeat details of the restore activity; also what `lifeboat restore --wait` shows. */
export interface RestoreHeartbeat extends BackupHeartbeat {
  /** Archive items pg_restore has processed so far. */
  items?: number;
  /** The last step pg_restore reported, e.g. `processing data for table "public.users"`. */
  step?: string;
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
  /** The measured RTO of this backup: download, checksum, decompression and pg_restore. */
  restoreDurationMs: number | null;
  scratchDatabase: string;
  workflow: { workflowId: string; runId: string };
  error?: string;
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

/** `shop.orders (restored 9, manifest 10); shop.items (missing, manifest 3)`, at most 20 tables. */
export function describeRowCountMismatches(mismatches: RowCountMismatch[]): string {
  const shown = mismatches
    .slice(0, 20)
    .map((m) => `${m.table} (${m.actual === null ? 'missing' : `restored ${m.actual}`}, manifest ${m.expected})`)
    .join('; ');
  return mismatches.length > 20 ? `${shown}; and ${mismatches.length - 20} more` : shown;
}

/** A fresh scratch database name for verifying a backup of `database`: `lb_verify_orders_20261123t020000z_1a2b3c`. */
export function scratchDatabaseName(database: string, at: Date, random: string): string {
  const db = database.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 24);
  const rnd = random.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 6);
  return `${SCRATCH_PREFIX}${db}_${compactTimestamp(at).toLowerCase()}_${rnd}`;
}

export const SCRATCH_PREFIX = 'lb_verify_';

/** Readable workflow ids: `restore:orders_restore` (one restore per target at a time), `verify:orders:<time>`. */
export function restoreWorkflowId(target: string): string {
  return `restore:${target}`;
}

export function verifyWorkflowId(database: string, at: Date): string {
  return `verify:${database}:${at.toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
}

// ------------------------------------------------------- retention, copies and purge (issue 4) ---

const storageName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'expected a storage target name from the configuration');
const backupIdText = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'expected a backup id');

/** Input of `applyRetention`, e.g. `{ "database": "orders" }` or `{ "database": "orders", "dryRun": true }`. */
export const ApplyRetentionInputSchema = z.strictObject({
  database: databaseName,
  /** Plan only: report what would be deleted, delete nothing. */
  dryRun: z.boolean({ error: 'expected true or false' }).default(false),
  /** Only this storage target (default: every target of the database). */
  storage: storageName.optional(),
});
export type ApplyRetentionInput = z.input<typeof ApplyRetentionInputSchema>;

export interface RetentionEntry {
  backupId: string;
  kind: string;
  startedAt: string;
  status: 'verified' | 'unverified' | 'corrupt';
  reasons: string[];
}

/** What retention did (or, in a dry run, would do) on one storage target. */
export interface RetentionTargetResult {
  storage: string;
  /** Resolved policy per kind, in words. */
  policies: Record<string, string>;
  keep: RetentionEntry[];
  /** Deleted (planned, in a dry run), newest first. */
  delete: RetentionEntry[];
  /** Planned deletions that a fresh plan at deletion time kept. */
  skipped: Array<{ backupId: string; reason: string }>;
  /** Kinds for which nothing was deleted because backups look unhealthy. */
  halted: Array<{ kind: string; reason: string; message: string }>;
  warnings: string[];
  problems: string[];
  bytesFreed: number;
  orphans: { objects: number; uploads: number; bytes: number; keys: string[] };
}

/** Result of `applyRetention`. */
export interface ApplyRetentionResult {
  database: string;
  dryRun: boolean;
  plannedAt: string;
  targets: RetentionTargetResult[];
}

/** Input of `copyBackup`: copy one committed backup to every storage target of its database that lacks it. */
export const CopyBackupInputSchema = z.strictObject({
  database: databaseName,
  backupId: backupIdText,
  /** Where to copy from (default: the database's first storage target). */
  from: storageName.optional(),
});
export type CopyBackupInput = z.input<typeof CopyBackupInputSchema>;

/** One copy of a backup on a storage target, sha256 re-checked by reading it back. */
export interface CopyResult {
  storage: string;
  key: string;
  location: string;
  bytes: number;
  sha256: string;
  status: 'copied' | 'already-present';
  durationMs: number;
}

/** Result of `backupDatabase`: the backup, plus its copies when the database has several targets. */
export type BackupWithCopiesResult = BackupResult & { copies?: CopyResult[] };

const PURGE_TIMEOUT_MESSAGE = 'expected a duration from 1s to 30 days, such as "1 hour" or "7d"';

/**
 * Input of `purgeBackups` (GDPR erasure), e.g.
 * `{ "database": "orders", "before": "2026-01-01T00:00:00Z", "reason": "erasure request 4711" }`.
 */
export const PurgeInputSchema = z.strictObject({
  database: databaseName,
  before: z.iso.datetime({ offset: true, error: 'expected an ISO time such as 2026-01-01T00:00:00Z' }),
  reason: z.string().max(500).optional(),
  /** Who asked; they may not approve their own purge. */
  requestedBy: z.string().min(1).max(200).optional(),
  approvalTimeout: z
    .string()
    .refine((s) => {
      const ms = parseDurationMs(s);
      return ms !== undefined && ms >= 1000 && ms <= 30 * 86_400_000;
    }, PURGE_TIMEOUT_MESSAGE)
    .default('24 hours'),
  /** Plan only: list what would be purged, wait for nothing, delete nothing. */
  dryRun: z.boolean().default(false),
});
export type PurgeInput = z.input<typeof PurgeInputSchema>;

/** Argument of the `approve` update of `purgeBackups`: who approves, and the database typed out. */
export const PurgeApprovalSchema = z.strictObject({
  approver: z.string({ error: 'expected the approver\'s name' }).min(1, 'expected the approver\'s name').max(200),
  database: z.string({ error: 'expected the database name typed out' }),
});
export type PurgeApproval = z.input<typeof PurgeApprovalSchema>;

/** What a purge deletes on one storage target. */
export interface PurgeTargetPlan {
  storage: string;
  backups: Array<{ backupId: string; kind: string; startedAt: string; bytes: number }>;
  /** Artifacts without a manifest from before the time. */
  leftovers: number;
  uploads: number;
  /** Backups that stay (started at or after the time). */
  remaining: number;
  problems: string[];
}

/** The audit record `<db>/audit/<time>-purge.json`, written on every storage target. */
export interface PurgeAuditRecord {
  formatVersion: 1;
  action: 'purge';
  database: string;
  before: string;
  reason?: string;
  requestedBy?: string;
  approvedBy?: string;
  approvedAt?: string;
  status: 'approved' | 'completed' | 'completed-with-problems';
  workflow: { workflowId: string; runId: string };
  requestedAt: string;
  completedAt?: string;
  targets: Array<{ storage: string; deleted: string[]; leftovers: number; uploads: number; bytes: number; problems: string[] }>;
}

export type PurgePhase = 'planning' | 'awaiting-approval' | 'purging' | 'done';

/** What the `progress` query of `purgeBackups` returns. */
export interface PurgeState {
  phase: PurgePhase;
  database: string;
  before: string;
  plan?: PurgeTargetPlan[];
  approvers?: string[];
  approvalDeadline?: string;
  approvedBy?: string;
}

export interface PurgeResult {
  database: string;
  before: string;
  dryRun: boolean;
  plan: PurgeTargetPlan[];
  approvedBy?: string;
  /** Where the audit record was written (absent in a dry run or when nothing matched). */
  audit?: string[];
  targets: PurgeAuditRecord['targets'];
}

/** The message of the innermost cause of a failure (an activity's own error, not "Activity task failed"). */
export function innermostMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  let message = e?.message ?? String(err);
  while (e) {
    if (e.message) message = e.message;
    e = e.cause as typeof e;
  }
  return message;
}
