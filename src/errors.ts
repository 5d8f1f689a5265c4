import { ERROR_CODES, shortMessage, type ErrorCode } from './contracts/failures.js';

export { ERROR_CODES, shortMessage, type ErrorCode };

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
