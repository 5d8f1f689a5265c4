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
];
