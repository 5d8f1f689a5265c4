// Activity option profiles of the workflows: one per timeout class. Retries stop on a
// failure's `nonRetryable` flag, which activities set from the failure catalogue.
import { ActivityCancellationType, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';

/** Exponential backoff (doubling) from `initial` up to `max`, for `attempts` attempts in all. */
function backoff(initial: string, max: string, attempts: number): ActivityOptions['retry'] {
  return { initialInterval: initial as '1s', backoffCoefficient: 2, maximumInterval: max as '1s', maximumAttempts: attempts };
}

export const PROFILES = {
  /** Reads configuration and storage, inspects databases: short, retried a few times. */
  lookup: {
    startToCloseTimeout: '10 minutes',
    retry: backoff('5 seconds', '1 minute', 5),
  },
  /** Moves a whole backup (dump, copy): long, heartbeating, backs off from 10 s, 4 attempts. */
  dataMover: {
    startToCloseTimeout: '12 hours',
    heartbeatTimeout: '1 minute',
    retry: backoff('10 seconds', '10 minutes', 4),
  },
  /** Restores into a database; on cancellation the workflow waits until the restore tool has stopped and a database it created is dropped. */
  restorer: {
    startToCloseTimeout: '24 hours',
    heartbeatTimeout: '30 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: backoff('5 seconds', '5 minutes', 3),
  },
  /** Retention and purge: plan, delete, sweep; heartbeating, retried patiently. */
  housekeeping: {
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '1 minute',
    retry: backoff('10 seconds', '5 minutes', 10),
  },
  /** Records and notifications around a run. */
  bookkeeping: {
    startToCloseTimeout: '2 minutes',
    retry: backoff('2 seconds', '1 minute', 5),
  },
} as const satisfies Record<string, ActivityOptions>;

/** A configuration lookup on the worker: a local activity (no task queue round trip, no activity events). */
export const LOCAL_LOOKUP: LocalActivityOptions = { startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 3 } };
