// Where the time of one end-to-end backup goes: the workflow's history (Temporal's clock) and the
// worker's debug log lines (the activity's phases), between the CLI's start and its exit.
import type { Client } from '@temporalio/client';

export interface Breakdown {
  /** CLI start (Node, configuration, connection) to the workflow's start event. */
  startWorkflowMs: number;
  /** Workflow start to the activity running (workflow task, activity dispatch). */
  dispatchMs: number;
  /** Connection, snapshot export and tool check until pg_dump runs. */
  dumpStartMs: number;
  /** pg_dump running until the last byte is uploaded. */
  streamingMs: number;
  /** Waiting for the same-snapshot row counts after the stream ended. */
  rowCountsMs: number;
  /** Confirming the stored object (size, and sha256 where configured). */
  uploadCompletionMs: number;
  /** Writing the manifest (create-if-absent). */
  manifestCommitMs: number;
  /** Activity completion to the workflow's completion (copies, bookkeeping). */
  afterActivityMs: number;
  /** Workflow completion to the CLI's exit (`--wait` learns the result). */
  noticeMs: number;
}

interface LogLine {
  time: string | number;
  msg: string;
  backupId?: string;
  phase?: string;
}

function eventMs(e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }): number {
  const t = e.eventTime!;
  return Number(t.seconds) * 1000 + (t.nanos ?? 0) / 1e6;
}

/** Builds the breakdown of one backup; fields it cannot place are NaN. */
export async function backupBreakdown(
  client: Client,
  workflowId: string,
  backupId: string,
  cli: { startedAt: number; endedAt: number },
  workerLog: string[],
): Promise<Breakdown> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const started = eventMs(events[0]!);
  const completed = eventMs(events[events.length - 1]!);
  const lines = workerLog
    .map((l) => {
      try {
        return JSON.parse(l) as LogLine;
      } catch {
        return undefined;
      }
    })
    .filter((l): l is LogLine => !!l && l.backupId === backupId);
  const at = (msg: string, phase?: string) => {
    const l = lines.find((x) => x.msg === msg && (phase === undefined || x.phase === phase));
    return l ? new Date(l.time).getTime() : NaN;
  };
  const connecting = at('backup phase', 'connecting');
  const dump = at('dump started');
  const streamed = at('dump streamed');
  const finished = at('dump finished');
  const confirming = at('backup phase', 'confirming');
  const committing = at('backup phase', 'committing');
  const committed = at('backup committed');
  return {
    startWorkflowMs: started - cli.startedAt,
    dispatchMs: connecting - started,
    dumpStartMs: dump - connecting,
    streamingMs: streamed - dump,
    rowCountsMs: finished - streamed,
    uploadCompletionMs: committing - confirming,
    manifestCommitMs: committed - committing,
    afterActivityMs: completed - committed,
    noticeMs: cli.endedAt - completed,
  };
}

export interface RestoreBreakdown {
  /** CLI start (Node, configuration, connection) to the workflow's start event. */
  startWorkflowMs: number;
  /** The workflow outside its restore activity: the target's inspection, dispatch, the audit record. */
  workflowMs: number;
  /** The restore activity outside the data's way back: checks, creating the database, row counts. */
  aroundDataMs: number;
  /** Download, checksum, decryption, decompression and the restore tool (`restoreDurationMs`). */
  dataBackMs: number;
  /** Workflow completion to the CLI's exit. */
  noticeMs: number;
}

/** Builds the breakdown of one restore from its workflow history and its result. */
export async function restoreBreakdown(
  client: Client,
  workflowId: string,
  result: { restoreDurationMs: number },
  cli: { startedAt: number; endedAt: number },
): Promise<RestoreBreakdown> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const started = eventMs(events[0]!);
  const completed = eventMs(events[events.length - 1]!);
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'restoreBackup');
  const id = Number(scheduled?.eventId ?? NaN);
  const begun = events.find((e) => Number(e.activityTaskStartedEventAttributes?.scheduledEventId ?? NaN) === id);
  const ended = events.find((e) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? NaN) === id);
  const activityMs = begun && ended ? eventMs(ended) - eventMs(begun) : NaN;
  return {
    startWorkflowMs: started - cli.startedAt,
    workflowMs: completed - started - activityMs,
    aroundDataMs: activityMs - result.restoreDurationMs,
    dataBackMs: result.restoreDurationMs,
    noticeMs: cli.endedAt - completed,
  };
}
