import { Context } from '@temporalio/activity';
import type { Heartbeat } from '../src/contracts/index.js';
import type { Logger } from '../src/logger.js';

/** The workflow (and attempt) the current activity runs for, as recorded in manifests. */
export function workflowRef(): { workflowId: string; runId: string; attempt: number } {
  const info = Context.current().info;
  return { workflowId: info.workflowExecution?.workflowId ?? 'none', runId: info.workflowExecution?.runId ?? 'none', attempt: info.attempt };
}

/** Pino child logger carrying the Temporal identifiers of the current activity. */
export function activityLogger(base: Logger): Logger {
  const info = Context.current().info;
  const { workflowId, runId } = workflowRef();
  return base.child({ workflowId, runId, activity: info.activityType, activityId: info.activityId, attempt: info.attempt });
}

/** The heartbeat details an earlier attempt of this activity left, if any (a retry reads them). */
export function previousHeartbeat<H extends Heartbeat>(): H | undefined {
  return Context.current().info.heartbeatDetails as H | undefined;
}

/**
 * Runs `fn` while heartbeating `state()` every `intervalMs`: the one heartbeat helper, typed by
 * the activity's heartbeat shape (what `--wait` renders).
 */
export async function withHeartbeat<H extends Heartbeat, T>(intervalMs: number, state: () => H, fn: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat(state());
  const timer = setInterval(() => ctx.heartbeat(state()), intervalMs);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/** A `task` heartbeat for bookkeeping activities. */
export function task(phase: string, done?: () => number, of?: number): () => Heartbeat {
  return () => ({ activity: 'task', phase, done: done?.(), of });
}
