import { CancelledFailure, Context } from '@temporalio/activity';
import type { Next } from '@temporalio/common';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor } from '@temporalio/worker';
import { workerMetrics } from './metrics.js';

/**
 * Counts every activity this worker runs, by type, database (when its input names a configured
 * one; other values would make unbounded series) and outcome, and times it.
 */
export class ActivityMetricsInterceptor implements ActivityInboundCallsInterceptor {
  constructor(private readonly databases: ReadonlySet<string>) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const activity = Context.current().info.activityType;
    const named = (input.args[0] as { database?: unknown } | undefined)?.database;
    const database = typeof named === 'string' && this.databases.has(named) ? named : '';
    const stop = workerMetrics.activitySeconds.startTimer({ activity });
    let outcome = 'failed';
    try {
      const result = await next(input);
      outcome = 'completed';
      return result;
    } catch (err) {
      if (err instanceof CancelledFailure || Context.current().cancellationSignal.aborted) outcome = 'cancelled';
      throw err;
    } finally {
      stop();
      workerMetrics.activities.inc({ activity, database, outcome });
    }
  }
}
