// What a workflow tells the world: audit records and notifications, through the bookkeeping
// activities (retried by Temporal). Neither ever changes a run's outcome: a record that cannot be
// written is logged, and the run goes on.
import { currentUpdateInfo, log, workflowInfo } from '@temporalio/workflow';
import type { WorkflowAuditInput } from '../activities/observe.js';
import type { NotificationEvent } from '../src/notify/events.js';
import { innermostMessage } from '../src/contracts/index.js';
import { bookkeeping } from './activities.js';

/** Appends an audit record of this run (the actor is read from Temporal unless given). */
export async function audit(event: WorkflowAuditInput): Promise<void> {
  try {
    await bookkeeping.recordWorkflowAudit(event);
  } catch (err) {
    log.warn('audit record not written', { action: event.action, outcome: event.outcome, database: event.database, reason: innermostMessage(err) });
  }
}

/** Sends a notification of this run (once per incident), with a link to it. */
export async function notify(event: Omit<NotificationEvent, 'workflow'>): Promise<void> {
  const { workflowId, runId } = workflowInfo();
  try {
    await bookkeeping.deliverNotification({ ...event, workflow: { workflowId, runId } });
  } catch (err) {
    log.warn('notification not delivered', { type: event.type, database: event.database, reason: innermostMessage(err) });
  }
}

/** The id of the update being handled (in an update handler), to find its sender's identity. */
export function updateId(): string | undefined {
  return currentUpdateInfo()?.id;
}

/** When this run started, as the opening time of an incident it reports. */
export function startedAt(): string {
  return workflowInfo().startTime.toISOString();
}
