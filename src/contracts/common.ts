// Names, ids and helpers shared by every workflow family. Pure: no Node built-ins, no I/O.
import { z } from 'zod';
import { DURATION_MESSAGE, parseDuration } from './duration.js';

export const BACKUP_KINDS = ['full', 'schema', 'data'] as const;
export type BackupKind = (typeof BACKUP_KINDS)[number];

export const TASK_QUEUE_DEFAULT = 'lifeboat';

export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/** A database name from the configuration. */
export const databaseName = z
  .string({ error: 'expected a database name from the configuration' })
  .regex(NAME_RE, 'expected a database name from the configuration (letters, digits, "_" or "-")');

export const storageName = z.string().regex(NAME_RE, 'expected a storage target name from the configuration');
export const backupIdText = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'expected a backup id');

/** A person's name as an approver or requester (checked against the configuration's lists). */
export const personName = (what: string) =>
  z
    .string({ error: `expected the ${what}'s name` })
    .min(1, `expected the ${what}'s name`)
    .max(200);

/**
 * A duration field in the one grammar of {@link parseDuration}, bounded; a bad value is a
 * validation error naming the field, never a silent default.
 */
export function durationField(opts: { min?: number; max?: number; describe?: string } = {}) {
  const { min = 1, max = Number.MAX_SAFE_INTEGER, describe } = opts;
  const message = describe ?? DURATION_MESSAGE;
  return z.string({ error: message }).refine((s) => {
    const ms = parseDuration(s);
    return ms !== undefined && ms >= min && ms <= max;
  }, message);
}

/** `2026-11-23T02:00:00.123Z` -> `20261123T020000Z`. */
export function compactTimestamp(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** `2026-11-23T02:00:00.123Z` -> `2026-11-23T02:00:00Z`. */
export function isoSecond(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Formats zod issues as one line: `kind: expected "full", "schema" or "data"; database: ...`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'input'}: ${i.message}`).join('; ');
}

/** The workflow a manifest or record was written by. */
export interface WorkflowRef {
  workflowId: string;
  runId: string;
}
