// Following a running workflow: its result, and meanwhile the heartbeats of its activities.
import type { Workflow, WorkflowHandle, WorkflowResultType } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Heartbeat } from '../contracts/index.js';
import { formatDuration } from './format.js';
import { describeHeartbeat, progressWriter, type ProgressWriter } from './progress.js';

export { failureCause } from '../contracts/failures.js';

/** The running activities of a workflow: their last heartbeats, and the attempt of the first. */
export interface PendingProgress {
  heartbeats: Heartbeat[];
  /** Nothing runs yet: a workflow task or an activity is scheduled and no worker has taken it. */
  waitingForWorker?: boolean;
  attempt?: number;
  lastFailure?: string;
}

interface PendingActivity {
  state?: number | null;
  heartbeatDetails?: { payloads?: unknown[] } | null;
  attempt?: number | null;
  lastFailure?: { message?: string | null } | null;
}

/** `PENDING_ACTIVITY_STATE_SCHEDULED` and `PENDING_WORKFLOW_TASK_STATE_SCHEDULED` of the Temporal API. */
const SCHEDULED = 1;

/** Reads the latest heartbeat of each running activity of the workflow (parallel copies: several). */
export async function readProgress(handle: WorkflowHandle): Promise<PendingProgress> {
  const { raw } = await handle.describe();
  const pending = (raw.pendingActivities ?? []) as PendingActivity[];
  const heartbeats: Heartbeat[] = [];
  for (const p of pending) {
    const payload = p.heartbeatDetails?.payloads?.[0];
    if (payload) heartbeats.push(defaultPayloadConverter.fromPayload(payload as never) as Heartbeat);
  }
  const waitingForWorker = pending.length > 0 ? pending.every((p) => p.state === SCHEDULED) : raw.pendingWorkflowTask?.state === SCHEDULED;
  const first = pending[0];
  return { heartbeats, waitingForWorker, attempt: first?.attempt ?? undefined, lastFailure: first?.lastFailure?.message ?? undefined };
}

/** The progress line: each activity's heartbeat, the elapsed time, and a retry when there is one. */
export function progressLine(p: PendingProgress, elapsedMs: number, tty = false): string {
  const elapsed = formatDuration(elapsedMs);
  const retry = p.attempt && p.attempt > 1 ? ` (attempt ${p.attempt}${p.lastFailure ? `, after: ${p.lastFailure.slice(0, 80)}` : ''})` : '';
  if (p.heartbeats.length === 0) return `${p.waitingForWorker ? 'waiting for a worker' : 'working'}… ${elapsed}${retry}`;
  return `${p.heartbeats.map((hb) => describeHeartbeat(hb, { tty })).join('; ')}, ${elapsed}${retry}`;
}

/**
 * A step of following run before each progress line: returns the line to show (e.g. "awaiting
 * approval"), or undefined to show the activities' heartbeats. What it throws ends the follow.
 */
export type FollowTick = (writer: ProgressWriter, elapsedMs: number) => Promise<string | undefined>;

export interface FollowOptions {
  /** Where progress goes (stderr). */
  out: NodeJS.WriteStream;
  tick?: FollowTick;
}

/**
 * Waits for a workflow's result while showing live progress (bytes, rate, share, ETA, elapsed).
 * Resolves with the result or rejects with the workflow's failure.
 */
export async function follow<W extends Workflow>(handle: WorkflowHandle<W>, opts: FollowOptions): Promise<WorkflowResultType<W>> {
  const writer = progressWriter(opts.out);
  const started = Date.now();
  let settled = false;
  const result = handle.result();
  result.then(
    () => (settled = true),
    () => (settled = true),
  );
  const show = async () => {
    const elapsed = Date.now() - started;
    let text = opts.tick ? await opts.tick(writer, elapsed) : undefined;
    if (text === undefined) {
      const p = await readProgress(handle).catch(() => undefined); // progress is best effort
      if (!p) return;
      text = progressLine(p, elapsed, writer.live);
    }
    if (!settled) writer.line(text);
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    while (!settled) {
      await show();
      await Promise.race([result.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, writer.intervalMs)))]);
      clearTimeout(timer);
    }
    return await result;
  } finally {
    clearTimeout(timer);
    writer.clear();
  }
}
