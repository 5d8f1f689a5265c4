// The retention family: `applyRetention` and `purgeBackups` (GDPR erasure), its update and query.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { databaseName, durationField, personName, storageName, type WorkflowRef } from './common.js';

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
  /** Planned deletions that a fresh plan at deletion time kept, or that Object Lock retains until `retainedUntil`. */
  skipped: Array<{ backupId: string; reason: string; retainedUntil?: string }>;
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
  approvalTimeout: durationField({ min: 1000, max: 30 * 86_400_000, describe: 'expected a duration from 1s to 30 days, such as "1 hour" or "7d"' }).default(
    '24 hours',
  ),
  /** Plan only: list what would be purged, wait for nothing, delete nothing. */
  dryRun: z.boolean().default(false),
});
export type PurgeInput = z.input<typeof PurgeInputSchema>;

/** Argument of the `approve` update of `purgeBackups`: who approves, and the database typed out. */
export const PurgeApprovalSchema = z.strictObject({
  approver: personName('approver'),
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
  workflow: WorkflowRef;
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

/** `approve` update of `purgeBackups`: `{ "approver": "alice", "database": "orders" }`. */
export const purgeApproveUpdate = defineUpdate<{ approvedBy: string; approvedAt: string }, [PurgeApproval]>('approve');
/** `progress` query of `purgeBackups`: the plan, who may approve, and the phase. */
export const purgeProgressQuery = defineQuery<PurgeState>('progress');
