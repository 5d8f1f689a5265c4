import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { BackupHeartbeat } from '../contracts/index.js';
import { formatBytes, formatDuration } from './format.js';

export interface FollowOptions {
  /** Where progress goes (stderr); only drawn live on a TTY. */
  out: NodeJS.WriteStream;
  intervalMs?: number;
}

interface PendingActivity {
  heartbeatDetails?: { payloads?: unknown[] } | null;
  attempt?: number | null;
  lastFailure?: { message?: string | null } | null;
}

/** Reads the latest heartbeat of the workflow's running activity (bytes so far), if any. */
export async function currentProgress(handle: WorkflowHandle): Promise<{ hb?: BackupHeartbeat; attempt?: number; lastFailure?: string }> {
  const desc = await handle.describe();
  const pending = (desc.raw.pendingActivities ?? [])[0] as PendingActivity | undefined;
  if (!pending) return {};
  const payload = pending.heartbeatDetails?.payloads?.[0];
  const hb = payload ? (defaultPayloadConverter.fromPayload(payload as never) as BackupHeartbeat) : undefined;
  return { hb, attempt: pending.attempt ?? undefined, lastFailure: pending.lastFailure?.message ?? undefined };
}

function progressLine(p: Awaited<ReturnType<typeof currentProgress>>, started: number): string {
  const elapsed = Date.now() - started;
  if (!p.hb) return `waiting for a worker… ${formatDuration(elapsed)}`;
  const rate = p.hb.elapsedMs > 0 ? (p.hb.rawBytes / p.hb.elapsedMs) * 1000 : 0;
  const retry = p.attempt && p.attempt > 1 ? ` (attempt ${p.attempt}${p.lastFailure ? `, after: ${p.lastFailure.slice(0, 80)}` : ''})` : '';
  return `${p.hb.phase.padEnd(10)} ${formatBytes(p.hb.rawBytes)} read, ${formatBytes(p.hb.storedBytes)} stored, ${formatBytes(rate)}/s, ${formatDuration(elapsed)}${retry}`;
}

/**
 * Waits for a workflow's result while showing live progress on a TTY (bytes, rate, elapsed).
 * Resolves with the result or rejects with the workflow's failure.
 */
export async function follow<T>(client: Client, handle: WorkflowHandle, opts: FollowOptions): Promise<T> {
  void client;
  const started = Date.now();
  const live = Boolean(opts.out.isTTY);
  let timer: NodeJS.Timeout | undefined;
  let lastNonTty = Date.now();
  const tick = async () => {
    try {
      const line = progressLine(await currentProgress(handle), started);
      if (live) opts.out.write(`\r\x1b[2K${line}`);
      else if (Date.now() - lastNonTty > 30_000) {
        lastNonTty = Date.now();
        opts.out.write(`${line}\n`);
      }
    } catch {
      /* progress is best effort */
    }
    timer = setTimeout(tick, opts.intervalMs ?? 1000);
  };
  timer = setTimeout(tick, 300);
  try {
    return (await handle.result()) as T;
  } finally {
    if (timer) clearTimeout(timer);
    if (live) opts.out.write('\r\x1b[2K');
  }
}

/** The innermost failure message and type of a failed workflow (what an operator needs to read). */
export function failureCause(err: unknown): { type?: string; message: string } {
  let e: unknown = err;
  let type: string | undefined;
  let message = (err as Error)?.message ?? String(err);
  if (err instanceof WorkflowFailedError) e = err.cause;
  while (e) {
    const f = e as { type?: string; message?: string; cause?: unknown };
    if (f.message) message = f.message;
    if (f.type) type = f.type;
    e = f.cause;
  }
  return { type, message };
}
