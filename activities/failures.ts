import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { Next } from '@temporalio/common';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor } from '@temporalio/worker';
import { redactSecrets } from '../src/config/secrets.js';
import { LifeboatError, shortMessage } from '../src/errors.js';

/**
 * Converts any error into an `ApplicationFailure` that is safe for Temporal history: one bounded
 * line, secrets scrubbed, typed by error code, non-retryable where a retry cannot help.
 */
export function toFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof LifeboatError) {
    return ApplicationFailure.create({
      type: err.code,
      message: redactSecrets(shortMessage(err.message)),
      nonRetryable: err.nonRetryable,
      details: err.subject ? [{ subject: redactSecrets(err.subject) }] : undefined,
    });
  }
  const e = err as Error;
  return ApplicationFailure.create({
    type: 'INTERNAL',
    message: redactSecrets(shortMessage(`${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`)),
    nonRetryable: false,
  });
}

/**
 * Worker interceptor: whatever an activity throws reaches Temporal through {@link toFailure}
 * (typed, bounded, secrets scrubbed), except a cancellation, which stays a cancellation.
 */
export class SafeFailureInterceptor implements ActivityInboundCallsInterceptor {
  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    try {
      return await next(input);
    } catch (err) {
      if (err instanceof CancelledFailure) throw err;
      const signal = Context.current().cancellationSignal;
      if (signal.aborted && signal.reason instanceof CancelledFailure) throw signal.reason;
      throw toFailure(err);
    }
  }
}
