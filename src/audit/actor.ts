// Who stands behind a workflow's audit record, read from the run's Temporal history: the schedule
// that started it, the client identity that started it, or the client identity that sent an
// approval update (next to the approver's typed name).
import type { temporal } from '@temporalio/proto';
import type { LifeboatConfig } from '../config/schema.js';
import { connectClient } from '../temporal.js';
import type { AuditEvent } from './schema.js';

export type AuditActor = AuditEvent['actor'];

export interface ActorQuery {
  workflowId: string;
  runId: string;
  /** The update whose sender is wanted (an approval); else the run's starter. */
  updateId?: string;
  /** The name typed into the approval, when there is one. */
  approver?: string;
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** The starter of a run from its first history event: its schedule, its parent, or its client identity. */
export function starterOf(first: HistoryEvent | undefined): AuditActor {
  const a = first?.workflowExecutionStartedEventAttributes;
  const scheduledBy = a?.searchAttributes?.indexedFields?.TemporalScheduledById;
  if (scheduledBy?.data) return { name: JSON.parse(Buffer.from(scheduledBy.data).toString()) as string, source: 'schedule' };
  if (a?.parentWorkflowExecution?.workflowId) return { name: a.parentWorkflowExecution.workflowId, source: 'worker', identity: a.identity ?? undefined };
  return { name: a?.identity || 'unknown', source: 'temporal-identity', ...(a?.identity ? { identity: a.identity } : {}) };
}

/** The client identity that sent update `updateId`, from its acceptance event. */
export function updateSender(events: HistoryEvent[], updateId: string): string | undefined {
  for (const e of events) {
    const meta = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta;
    if (meta?.updateId === updateId) return meta.identity ?? undefined;
  }
  return undefined;
}

/**
 * Reads the actor of a run (or of one update of it) from Temporal. The typed approver's name is
 * the actor of an approval, with the sending identity beside it; Temporal being unreachable
 * leaves the record with what the workflow knows.
 */
export async function resolveActor(cfg: LifeboatConfig, q: ActorQuery): Promise<AuditActor> {
  const client = await connectClient(cfg);
  try {
    const execution = { workflowId: q.workflowId, runId: q.runId };
    if (q.updateId) {
      const history = await client.workflow.getHandle(q.workflowId, q.runId).fetchHistory();
      const identity = updateSender(history.events ?? [], q.updateId);
      return { name: q.approver ?? identity ?? 'unknown', source: q.approver ? 'approval' : 'temporal-identity', ...(identity ? { identity } : {}) };
    }
    const page = await client.workflowService.getWorkflowExecutionHistory({ namespace: cfg.temporal.namespace, execution, maximumPageSize: 1 });
    return starterOf(page.history?.events?.[0]);
  } finally {
    await client.connection.close();
  }
}
