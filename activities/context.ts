import { Context } from '@temporalio/activity';
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
  return base.child({
    workflowId,
    runId,
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
