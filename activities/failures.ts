import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { Next } from '@temporalio/common';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor } from '@temporalio/worker';
import { redactSecrets } from '../src/config/secrets.js';
import { isErrorCode, lifeboatFailure, shortMessage } from '../src/contracts/failures.js';
import { LifeboatError } from '../src/errors.js';
import type { Logger } from '../src/logger.js';
import { activityLogger } from './context.js';

/**
 * Converts any error into an `ApplicationFailure` that is safe for Temporal history: one bounded
 * line, secrets scrubbed, typed by error code, non-retryable where the catalogue says a retry
 * cannot help.
 */
export function toFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) {
    if (err.type && isErrorCode(err.type)) return err;
    return ApplicationFailure.create({
      type: err.type ?? 'INTERNAL',
      message: redactSecrets(shortMessage(err.message)),
      nonRetryable: err.nonRetryable ?? false,
    });
  }
  if (err instanceof LifeboatError) {
    return lifeboatFailure(err.code, redactSecrets(shortMessage(err.message)), err.subject ? [{ subject: redactSecrets(err.subject) }] : undefined);
  }
  const e = err as Error;
  return lifeboatFailure('INTERNAL', redactSecrets(shortMessage(`${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`)));
}

/**
 * The one failure path of activities: whatever an activity throws reaches Temporal through
 * {@link toFailure} (typed, bounded, secrets scrubbed) and is logged once, except a
 * cancellation, which stays a cancellation. Activity code just throws.
 */
export class SafeFailureInterceptor implements ActivityInboundCallsInterceptor {
  constructor(private readonly logger?: Logger) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    try {
      return await next(input);
    } catch (err) {
      if (err instanceof CancelledFailure) throw err;
      const signal = Context.current().cancellationSignal;
      if (signal.aborted && signal.reason instanceof CancelledFailure) throw signal.reason;
      const failure = toFailure(err);
      if (this.logger) activityLogger(this.logger).warn({ type: failure.type, nonRetryable: failure.nonRetryable, reason: failure.message }, 'activity failed');
      throw failure;
    }
  }
}
