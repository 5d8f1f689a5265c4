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
