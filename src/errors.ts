/**
 * Error codes carried by Lifeboat failures. The code becomes the Temporal `ApplicationFailure` type,
 * so retry policies and callers can branch on it. `nonRetryable` codes describe problems that a
 * retry cannot fix (bad input, wrong password, a dump tool that is too old).
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
  // Schedules, retention, copies and purge (issue 4).
  SCHEDULE_CONFLICT: { nonRetryable: true },
  UNKNOWN_SCHEDULE: { nonRetryable: true },
  RETENTION_HALTED: { nonRetryable: true },
  COPY_FAILED: { nonRetryable: false },
  COPY_INCOMPLETE: { nonRetryable: true },
  NOT_APPROVED: { nonRetryable: true },
  // Restore and verification (issue 3).
  BACKUP_NOT_FOUND: { nonRetryable: true },
  APPROVAL_REQUIRED: { nonRetryable: true },
  TARGET_EXISTS: { nonRetryable: true },
  RESTORE_FAILED: { nonRetryable: true },
  DECOMPRESS_FAILED: { nonRetryable: true },
  INSUFFICIENT_SPACE: { nonRetryable: true },
  ROW_COUNT_MISMATCH: { nonRetryable: true },
  VERIFICATION_FAILED: { nonRetryable: true },
  // Runbooks (issue 5).
  UNKNOWN_RUNBOOK: { nonRetryable: true },
  COMMAND_NOT_ALLOWED: { nonRetryable: true },
  COMMAND_FAILED: { nonRetryable: false },
  ASSERTION_FAILED: { nonRetryable: true },
  HTTP_CHECK_FAILED: { nonRetryable: false },
} as const satisfies Record<string, { nonRetryable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error with a code from {@link ERROR_CODES} and the subject it concerns (a database, a key). */
export class LifeboatError extends Error {
  public readonly code: ErrorCode;
  public readonly subject?: string;
  public readonly nonRetryable: boolean;

  constructor(code: ErrorCode, message: string, options: { subject?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LifeboatError';
    this.code = code;
    this.subject = options.subject;
    this.nonRetryable = ERROR_CODES[code].nonRetryable;
  }
}

export function isLifeboatError(err: unknown): err is LifeboatError {
  return err instanceof LifeboatError;
}

/** The short, single-line form of an error message (first line, bounded length). */
export function shortMessage(message: string, max = 600): string {
  const oneLine = message.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}
