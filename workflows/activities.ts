// Activity option profiles, in one place: one proxy per timeout class. Retries stop on a
// failure's `nonRetryable` flag, which activities set from the failure catalogue.
import { ActivityCancellationType, proxyActivities, proxyLocalActivities, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

export const PROFILES = {
  /** Reads configuration and storage, inspects databases: short, retried a few times. */
  lookup: {
    startToCloseTimeout: '10 minutes',
    retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
  },
  /** Moves a whole backup (dump, copy): long, heartbeating, backs off from 10 s, 4 attempts. */
  dataMover: {
    startToCloseTimeout: '12 hours',
    heartbeatTimeout: '1 minute',
    retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 4 },
  },
  /** Restores into a database; on cancellation the workflow waits until the restore tool has stopped and a database it created is dropped. */
  restorer: {
    startToCloseTimeout: '24 hours',
    heartbeatTimeout: '30 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 3 },
  },
  /** Retention and purge: plan, delete, sweep; heartbeating, retried patiently. */
  housekeeping: {
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '1 minute',
    retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 10 },
  },
  /** Records and notifications around a run. */
  bookkeeping: {
    startToCloseTimeout: '2 minutes',
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
  },
} as const satisfies Record<string, ActivityOptions>;

/** A configuration lookup on the worker: a local activity (no task queue round trip, no activity events). */
const LOCAL_LOOKUP: LocalActivityOptions = { startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 3 } };

export const lookup = proxyActivities<Activities>(PROFILES.lookup);
export const dataMover = proxyActivities<Activities>(PROFILES.dataMover);
export const restorer = proxyActivities<Activities>(PROFILES.restorer);
export const housekeeping = proxyActivities<Activities>(PROFILES.housekeeping);
export const bookkeeping = proxyActivities<Activities>(PROFILES.bookkeeping);
export const localLookup = proxyLocalActivities<Activities>(LOCAL_LOOKUP);
