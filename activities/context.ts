import { Context } from '@temporalio/activity';
import type { Logger } from '../src/logger.js';

/** Pino child logger carrying the Temporal identifiers of the current activity. */
export function activityLogger(base: Logger): Logger {
  const info = Context.current().info;
  return base.child({
    workflowId: info.workflowExecution?.workflowId ?? 'none',
    runId: info.workflowExecution?.runId ?? 'none',
    activity: info.activityType,
    activityId: info.activityId,
    attempt: info.attempt,
  });
}

/** Runs `fn` while heartbeating `state()` every `intervalMs`. */
export async function withHeartbeat<T>(intervalMs: number, state: () => unknown, fn: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat(state());
  const timer = setInterval(() => ctx.heartbeat(state()), intervalMs);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
