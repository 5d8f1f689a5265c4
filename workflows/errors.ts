/** Failure types (see src/errors.ts) that a retry cannot fix. Kept in sync by a unit test. */
export const NON_RETRYABLE_TYPES = [
  'INVALID_INPUT',
  'CONFIG_INVALID',
  'SECRET_UNAVAILABLE',
  'UNKNOWN_DATABASE',
  'UNKNOWN_STORAGE',
  'UNSUPPORTED',
  'AUTH_FAILED',
  'DATABASE_NOT_FOUND',
  'TOOL_MISSING',
  'TOOL_TOO_OLD',
  'CHECKSUM_MISMATCH',
  'MANIFEST_CONFLICT',
  // Restore and verification (issue 3).
  'BACKUP_NOT_FOUND',
  'APPROVAL_REQUIRED',
  'TARGET_EXISTS',
  'RESTORE_FAILED',
  'DECOMPRESS_FAILED',
  'INSUFFICIENT_SPACE',
  'ROW_COUNT_MISMATCH',
  'VERIFICATION_FAILED',
  // Schedules, retention, copies and purge (issue 4).
  'SCHEDULE_CONFLICT',
  'UNKNOWN_SCHEDULE',
  'RETENTION_HALTED',
  'COPY_INCOMPLETE',
  'NOT_APPROVED',
  // Runbooks (issue 5).
  'UNKNOWN_RUNBOOK',
  'COMMAND_NOT_ALLOWED',
  'ASSERTION_FAILED',
];

/** Retry policy of long data-moving activities (backup, copy): backs off from 10 s, 4 attempts. */
export const DATA_ACTIVITY_RETRY = {
  initialInterval: '10 seconds',
  backoffCoefficient: 2,
  maximumInterval: '10 minutes',
  maximumAttempts: 4,
} as const;
