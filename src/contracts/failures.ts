// The failure catalogue: every failure type Lifeboat raises, from activities and from workflows,
// and whether a retry can fix it. Pure: workflows, activities, the worker and the CLI import it.
import { ApplicationFailure } from '@temporalio/common';

/**
 * Error codes carried by Lifeboat failures. The code becomes the Temporal `ApplicationFailure`
 * type, so callers can branch on it; `nonRetryable` codes describe problems a retry cannot fix
 * (bad input, a wrong password, a dump tool that is too old). Retry policies stop on the flag.
 */
export const ERROR_CODES = {
  INVALID_INPUT: { nonRetryable: true },
  CONFIG_INVALID: { nonRetryable: true },
  SECRET_UNAVAILABLE: { nonRetryable: true },
  UNKNOWN_DATABASE: { nonRetryable: true },
  UNKNOWN_STORAGE: { nonRetryable: true },
  UNSUPPORTED: { nonRetryable: true },
  AUTH_FAILED: { nonRetryable: true },
  DATABASE_NOT_FOUND: { nonRetryable: true },
  TOOL_MISSING: { nonRetryable: true },
  TOOL_TOO_OLD: { nonRetryable: true },
  CONNECTION_FAILED: { nonRetryable: false },
  DUMP_FAILED: { nonRetryable: false },
  COMPRESS_FAILED: { nonRetryable: false },
  EMPTY_DUMP: { nonRetryable: false },
  STORAGE_FAILED: { nonRetryable: false },
  CHECKSUM_MISMATCH: { nonRetryable: true },
  MANIFEST_CONFLICT: { nonRetryable: true },
  CANCELLED: { nonRetryable: false },
  INTERNAL: { nonRetryable: false },
  // Schedules, retention, copies and purge.
  SCHEDULE_CONFLICT: { nonRetryable: true },
  UNKNOWN_SCHEDULE: { nonRetryable: true },
  RETENTION_HALTED: { nonRetryable: true },
  COPY_FAILED: { nonRetryable: false },
  COPY_INCOMPLETE: { nonRetryable: true },
  NOT_APPROVED: { nonRetryable: true },
  // Restore and verification.
  BACKUP_NOT_FOUND: { nonRetryable: true },
  APPROVAL_REQUIRED: { nonRetryable: true },
  APPROVAL_REJECTED: { nonRetryable: true },
  TARGET_EXISTS: { nonRetryable: true },
  RESTORE_FAILED: { nonRetryable: true },
  DECOMPRESS_FAILED: { nonRetryable: true },
  INSUFFICIENT_SPACE: { nonRetryable: true },
  ROW_COUNT_MISMATCH: { nonRetryable: true },
  VERIFICATION_FAILED: { nonRetryable: true },
  // Encryption at rest.
  ENCRYPT_FAILED: { nonRetryable: false },
  DECRYPT_FAILED: { nonRetryable: true },
  NO_MATCHING_IDENTITY: { nonRetryable: true },
  // Runbooks.
  UNKNOWN_RUNBOOK: { nonRetryable: true },
  COMMAND_NOT_ALLOWED: { nonRetryable: true },
  COMMAND_FAILED: { nonRetryable: false },
  ASSERTION_FAILED: { nonRetryable: true },
  HTTP_CHECK_FAILED: { nonRetryable: false },
  /** A provider's API could not be reached or failed (5xx, 429): retried. */
  PROVIDER_API_FAILED: { nonRetryable: false },
  /** A provider's API refused the request (4xx: auth, validation, already exists). */
  PROVIDER_API_REFUSED: { nonRetryable: true },
  APPROVAL_TIMEOUT: { nonRetryable: true },
  RUNBOOK_ABORTED: { nonRetryable: true },
  RUNBOOK_REJECTED: { nonRetryable: true },
  RUNBOOK_FAILED: { nonRetryable: true },
  // Observability: the metrics/health port, notifications.
  LISTEN_FAILED: { nonRetryable: true },
  NOTIFICATION_FAILED: { nonRetryable: false },
  NOTIFICATION_REJECTED: { nonRetryable: true },
  NOTIFICATION_IN_PROGRESS: { nonRetryable: false },
  // Point-in-time recovery.
  ARCHIVE_INCOMPLETE: { nonRetryable: true },
} as const satisfies Record<string, { nonRetryable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, s);
}

/** `Backup of x failed: Backup of x failed: y` -> `Backup of x failed: y`: a subject wrapped around a message that already names it. */
export function collapseRepeatedPrefix(message: string): string {
  return message.replace(/^((?:[^:]{1,200}?) (?:failed|refused|cancelled): )(?:\1)+/, '$1');
}

/**
 * `Backup of x failed: <message>` unless `message` already starts with the subject (then it is
 * returned as is): the one way a subject is put in front of a cause, so it is printed once.
 */
export function withSubject(subject: string | undefined, message: string, verb = 'failed'): string {
  const text = message.trim();
  if (!subject || text.startsWith(`${subject} `)) return collapseRepeatedPrefix(text);
  return collapseRepeatedPrefix(`${subject} ${verb}: ${text}`);
}

/** The short, single-line form of a message (bounded length, a repeated subject collapsed), as failures carry it. */
export function shortMessage(message: string, max = 600): string {
  const oneLine = collapseRepeatedPrefix(message.replace(/\s+/g, ' ').trim());
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

/**
 * The one way workflows fail: a typed `ApplicationFailure` whose retryability comes from the
 * catalogue. `details` must carry names and keys only, never secrets.
 */
export function lifeboatFailure(code: ErrorCode, message: string, details?: unknown[]): ApplicationFailure {
  return ApplicationFailure.create({ type: code, message: shortMessage(message, 2000), nonRetryable: ERROR_CODES[code].nonRetryable, details });
}

/** The innermost failure of a chain (an activity's own error, not "Activity task failed"). */
export interface FailureCause {
  type?: string;
  message: string;
}

/**
 * Walks an error's `cause` chain (workflow, child, activity, application failure) and returns
 * the innermost message and the innermost type found. The one cause walker of Lifeboat.
 */
export function failureCause(err: unknown): FailureCause {
  let e = err as { message?: string; type?: string; cause?: unknown } | undefined;
  let message = e?.message ?? String(err);
  let type: string | undefined;
  for (let depth = 0; e && depth < 20; depth++) {
    if (e.message) message = e.message;
    if (e.type) type = e.type;
    e = e.cause as typeof e;
  }
  return { type, message };
}

/** The innermost message of a failure chain, bounded to `max` characters. */
export function innermostMessage(err: unknown, max = 600): string {
  return shortMessage(failureCause(err).message, max);
}
