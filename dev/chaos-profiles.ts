// The activity profiles of workflows/activity-profiles.ts with timeouts of seconds, for the chaos
// suite: the chaos workers' workflow bundle has this module in place of that one, so a worker that
// stops heartbeating is replaced in seconds rather than a minute. Same exports, same shapes.
import { ActivityCancellationType, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';
import type * as Real from '../workflows/activity-profiles.js';

function backoff(initial: string, max: string, attempts: number): ActivityOptions['retry'] {
  return { initialInterval: initial as '1s', backoffCoefficient: 2, maximumInterval: max as '1s', maximumAttempts: attempts };
}

export const PROFILES = {
  lookup: { startToCloseTimeout: '2 minutes', retry: backoff('1 second', '4 seconds', 4) },
  dataMover: { startToCloseTimeout: '10 minutes', heartbeatTimeout: '5 seconds', retry: backoff('2 seconds', '8 seconds', 6) },
  restorer: {
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '5 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: backoff('1 second', '4 seconds', 3),
  },
  housekeeping: { startToCloseTimeout: '10 minutes', heartbeatTimeout: '5 seconds', retry: backoff('1 second', '4 seconds', 4) },
  bookkeeping: { startToCloseTimeout: '1 minute', retry: backoff('1 second', '4 seconds', 4) },
} as const satisfies Record<keyof typeof Real.PROFILES, ActivityOptions>;

export const LOCAL_LOOKUP: LocalActivityOptions = { startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 3 } };

/** Fails to compile when workflows/activity-profiles.ts gains an export this module lacks. */
export const SAME_EXPORTS: Record<keyof typeof Real, true> = { PROFILES: true, LOCAL_LOOKUP: true };
