// The backup family: `backupDatabase` and `copyBackup`.
import { z } from 'zod';
import { BACKUP_KINDS, backupIdText, databaseName, isoSecond, storageName, type BackupKind } from './common.js';

/** Input of `backupDatabase`, e.g. `{ "database": "orders", "kind": "full" }`. */
export const BackupInputSchema = z.strictObject({
  database: databaseName,
  kind: z.enum(BACKUP_KINDS, { error: 'expected "full", "schema" or "data"' }).default('full'),
});
export type BackupInput = z.input<typeof BackupInputSchema>;

/** Result of one backup attempt's commit. Carries names and keys only, never connection details. */
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

export interface CopyBackupResult {
  database: string;
  backupId: string;
  from: string;
  copies: CopyResult[];
}

/** Result of `backupDatabase`: the backup, plus its copies when the database has several targets. */
export type BackupWithCopiesResult = BackupResult & { copies?: CopyResult[] };

/** Readable workflow id: `backup:orders:full:2026-11-23T02:00:00Z`. */
export function backupWorkflowId(database: string, kind: BackupKind, at: Date): string {
  return `backup:${database}:${kind}:${isoSecond(at)}`;
}
