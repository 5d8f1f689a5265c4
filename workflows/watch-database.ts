import { continueAsNew, log, setCurrentDetails, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import {
  WatchInputSchema,
  innermostMessage,
  watchStatusQuery,
  type WatchCheck,
  type WatchProblem,
  type WatchState,
  type WatchedProblem,
  type WorkflowTypes,
} from '../src/contracts/index.js';
import type { NotificationEvent } from '../src/notify/events.js';
import { bookkeeping, lookup } from './activities.js';
import { parseInput } from './validation.js';
import { withOutcome } from './outcome.js';

/** Time to the next check after a check that failed. */
const RETRY_CHECK_MS = 60_000;
/** A run continues as new before its history grows past this many events. */
const MAX_HISTORY = 8_000;

const RECOVERED: Record<WatchedProblem, (db: string) => string> = {
  stale: (db) => `Backups of ${db} are fresh again`,
  'verify-overdue': (db) => `Verification of ${db} is within its bound again`,
  'catalog-unreadable': (db) => `Catalog of ${db} is readable again`,
};

function event(database: string, kind: WatchedProblem, since: string, summary: string, details?: string): Omit<NotificationEvent, 'workflow' | 'type'> {
  return { database, incident: kind, openedAt: since, summary: summary.slice(0, 300), ...(details ? { details } : {}) };
}

/** Delivers; true when delivered (or nothing is routed). A failure is retried at the next check. */
async function send(state: WatchState, e: NotificationEvent): Promise<boolean> {
  try {
    await bookkeeping.deliverNotification(e);
    return true;
  } catch (err) {
    state.lastError = `notification ${e.type} not delivered: ${innermostMessage(err)}`;
    log.warn('watch notification not delivered', { database: e.database, type: e.type, reason: innermostMessage(err) });
    return false;
  }
}

/** Opens what is newly wrong and closes what recovered, once per incident. */
async function reconcile(state: WatchState, problems: WatchProblem[]): Promise<void> {
  const { workflowId, runId } = workflowInfo();
  const workflow = { workflowId, runId };
  for (const p of problems) {
    if (state.open[p.kind] === p.since) continue;
    const e = event(state.database, p.kind, p.since, p.message, "Reported by the dead-man's switch: nothing has committed within the bound since then.");
    if (await send(state, { ...e, type: 'stale', workflow, facts: { watch: workflowId, ...(p.backupId ? { backup: p.backupId } : {}) } }))
      state.open[p.kind] = p.since;
  }
  for (const [kind, since] of Object.entries(state.open) as Array<[WatchedProblem, string]>) {
    if (problems.some((p) => p.kind === kind && p.since === since)) continue;
    if (await send(state, { ...event(state.database, kind, since, RECOVERED[kind](state.database)), type: 'recovery', workflow })) delete state.open[kind];
  }
}

function details(state: WatchState, check: WatchCheck): string {
  const open = Object.keys(state.open);
  const head = open.length ? `ALERTING (${open.join(', ')}): ${check.problems.map((p) => p.message).join('; ')}` : `healthy: ${check.summary}`;
  return `Watching ${state.database}: ${head}. Checked ${check.checkedAt}; next check in ${Math.round(check.everyMs / 1000)}s.`;
}

/**
 * The dead-man's switch of one database: `{ "database": "orders" }`, started by
 * `lifeboat schedules apply` with the fixed id `lifeboat-watch:<database>`. Every `watch.every`
 * it reads the catalog; when no committed backup (or no passing verification) arrived within the
 * database's bound it notifies `stale` once per incident, and `recovery` when it recovers. It
 * continues as new to bound its history and ends when the database is no longer configured.
 */
export const watchDatabase: WorkflowTypes['watchDatabase'] = withOutcome(async (input) => {
  const req = parseInput(WatchInputSchema, input, 'watchDatabase');
  const state: WatchState = { database: req.database, checks: 0, open: { ...req.open } };
  const watchingSince = req.watchingSince ?? workflowInfo().startTime.toISOString();
  setHandler(watchStatusQuery, () => state);
  for (;;) {
    let wait = RETRY_CHECK_MS;
    try {
      const check = await lookup.checkWatch({ database: req.database, watchingSince });
      state.checks++;
      state.lastCheck = check;
      if (check.removed) return { database: req.database, checks: state.checks, stopped: check.summary };
      state.lastError = undefined;
      await reconcile(state, check.problems);
      setCurrentDetails(details(state, check));
      wait = check.everyMs;
    } catch (err) {
      state.lastError = `check failed: ${innermostMessage(err)}`;
      setCurrentDetails(`Watching ${req.database}: the last check failed (${state.lastError}); retrying in ${RETRY_CHECK_MS / 1000}s.`);
    }
    const info = workflowInfo();
    if (state.checks >= req.checksPerRun || info.continueAsNewSuggested || info.historyLength > MAX_HISTORY) {
      await continueAsNew<WorkflowTypes['watchDatabase']>({ database: req.database, open: state.open, checksPerRun: req.checksPerRun, watchingSince });
    }
    await sleep(wait);
  }
});
