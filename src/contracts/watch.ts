// The dead-man's switch: one long-running `watchDatabase` workflow per database that alerts when
// no committed backup, or no passing verification, arrived within the database's bound.
import { defineQuery } from '@temporalio/workflow';
import { z } from 'zod';
import { databaseName } from './common.js';

/** The fixed workflow id of a database's watch: starting it again finds the running one. */
export function watchWorkflowId(database: string): string {
  return `lifeboat-watch:${database}`;
}

/** The kinds of incident a watch opens and closes (see `HealthProblem`). */
export const WATCHED_PROBLEMS = ['stale', 'verify-overdue', 'catalog-unreadable'] as const;
export type WatchedProblem = (typeof WATCHED_PROBLEMS)[number];

const iso = z.iso.datetime({ offset: true, error: 'expected an ISO time such as 2026-11-23T02:00:00Z' });

/**
 * Input of `watchDatabase`, e.g. `{ "database": "orders" }`. `open` carries the incidents already
 * notified across continue-as-new; `checksPerRun` bounds one run's history.
 */
export const WatchInputSchema = z.strictObject({
  database: databaseName,
  open: z.partialRecord(z.enum(WATCHED_PROBLEMS), iso).default({}),
  checksPerRun: z.int().min(1).max(10_000).default(500),
  /** When the first run of this watch started: a database never backed up is stale one bound later. */
  watchingSince: iso.optional(),
});
export type WatchInput = z.input<typeof WatchInputSchema>;

/** One problem the check found, as an incident: `since` is stable while it lasts. */
export interface WatchProblem {
  kind: WatchedProblem;
  since: string;
  message: string;
  backupId?: string;
}

/** What one check of the catalog found. */
export interface WatchCheck {
  /** Set when the database is no longer configured: the watch ends. */
  removed?: boolean;
  checkedAt: string;
  problems: WatchProblem[];
  /** Time to the next check (the database's `watch.every`). */
  everyMs: number;
  /** One line for the Web UI, e.g. "newest full backup 2h old (bound 26h)". */
  summary: string;
}

/** What `watchStatusQuery` answers. */
export interface WatchState {
  database: string;
  checks: number;
  lastCheck?: WatchCheck;
  /** Notified incidents not yet recovered: kind -> since. */
  open: Partial<Record<WatchedProblem, string>>;
  /** Why the last check or delivery failed, if it did. */
  lastError?: string;
}

/** Result of `watchDatabase` (it ends only when its database is removed). */
export interface WatchResult {
  database: string;
  checks: number;
  stopped: string;
}

export const watchStatusQuery = defineQuery<WatchState>('watchStatus');
