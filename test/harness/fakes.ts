// Scripted activity results for the logic tests (names and numbers only, like the real ones).
import type { BackupResult, BackupSummary, CopyResult, PurgeTargetPlan, RestoreResult, TargetInspection } from '../../src/contracts/index.js';
import type { RestoreActivityInput } from '../../activities/restore.js';
import type { TargetPlan } from '../../src/retention/prune.js';
import type { RetentionDecision, RetentionHalt } from '../../src/retention/planner.js';

export const BACKUP_ID = '20261123T020000Z-full-1a2b3c4d';
const SHA = 'ab'.repeat(32);

export function backupSummary(database = 'orders'): BackupSummary {
  return {
    database,
    backupId: BACKUP_ID,
    kind: 'full',
    startedAt: '2026-11-23T02:00:00.000Z',
    storage: 'primary',
    location: `s3://backups/${database}/backups/${BACKUP_ID}/${BACKUP_ID}.a1-000000.dump.zst`,
    bytes: 1000,
    rawBytes: 4000,
    sha256: SHA,
    compression: 'zstd-1',
    tables: 2,
  };
}

export function inspection(target: string, over: Partial<TargetInspection> = {}): TargetInspection {
  return { target, databaseName: target, kind: 'new', exists: false, objects: 0, protected: false, isSource: false, reasons: [], approvers: [], ...over };
}

export function restoreResult(input: RestoreActivityInput, over: Partial<RestoreResult> = {}): RestoreResult {
  return {
    database: input.database,
    backupId: input.backupId,
    backupStartedAt: '2026-11-23T02:00:00.000Z',
    target: input.target,
    targetDatabase: input.target,
    mode: input.mode,
    created: input.expect === 'new',
    ...(input.approvedBy ? { approvedBy: input.approvedBy } : {}),
    bytes: 1000,
    rawBytes: 4000,
    downloadMs: 5,
    pgRestoreMs: 20,
    restoreDurationMs: 25,
    rowCounts: { compared: 2, mismatches: [] },
    notes: [],
    ...over,
  };
}

export function backupResult(input: { database: string; kind: 'full' | 'schema' | 'data'; backupId: string }): BackupResult {
  const key = `${input.database}/backups/${input.backupId}/${input.backupId}.a1-000000.dump.zst`;
  return { ...input, storage: 'primary', key, location: `s3://backups/${key}`, bytes: 1000, rawBytes: 4000, sha256: SHA, durationMs: 30, tables: 2 };
}

export function copyResult(to: string, backupId: string): CopyResult {
  const key = `orders/backups/${backupId}/${backupId}.c1-000000.dump.zst`;
  return { storage: to, key, location: `${to}:${key}`, bytes: 1000, sha256: SHA, status: 'copied', durationMs: 10 };
}

export function decision(backupId: string, keep: boolean): RetentionDecision {
  return {
    backupId,
    kind: 'full',
    startedAt: `${backupId.slice(0, 4)}-01-01T00:00:00.000Z`,
    status: 'verified',
    keep,
    reasons: [keep ? 'keepLast 1' : 'beyond keepLast 1'],
  };
}

export function targetPlan(storage: string, decisions: RetentionDecision[], halted?: RetentionHalt): TargetPlan {
  return {
    storage,
    policies: { full: 'keep the last 1' },
    plan: { kinds: [{ kind: 'full', decisions, halted, warnings: [] }], halted: halted ? [halted] : [], warnings: [] },
    bytesToFree: decisions.filter((d) => !d.keep).length * 1000,
    problems: [],
  };
}

export function purgePlan(storage: string, backupIds: string[]): PurgeTargetPlan {
  return {
    storage,
    backups: backupIds.map((backupId) => ({ backupId, kind: 'full', startedAt: '2024-06-01T02:00:00.000Z', bytes: 1000 })),
    leftovers: 0,
    uploads: 0,
    remaining: 1,
    problems: [],
  };
}
