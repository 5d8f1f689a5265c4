import { Context } from '@temporalio/activity';
import { resolveActor, type AuditActor } from '../src/audit/actor.js';
import { recordAudit } from '../src/audit/log.js';
import type { AuditEvent } from '../src/audit/schema.js';
import { deliver, openIncidents, type DeliveryReport } from '../src/notify/deliver.js';
import type { NotificationEvent } from '../src/notify/events.js';
import { CatalogReader } from '../src/observability/catalog.js';
import { evaluateFleet, type HealthReport } from '../src/observability/health.js';
import { checkWatch } from '../src/observability/watch.js';
import type { WatchCheck } from '../src/contracts/index.js';
import { activityLogger, workflowRef } from './context.js';
import type { ActivityDeps } from './deps.js';

/** An audit event of the calling workflow: the run is filled in, the actor read from Temporal when not given. */
export type WorkflowAuditInput = Omit<AuditEvent, 'actor' | 'workflow' | 'at' | 'idempotencyKey'> & {
  actor?: AuditActor;
  /** The approval update this record is about: its sender's identity is recorded beside `approver`. */
  updateId?: string;
  approver?: string;
};

/** Audit, notifications and health for workflows; each is safe to retry. */
export function createObserveActivities({ config, logger }: ActivityDeps) {
  const stableId = () => {
    const info = Context.current().info;
    const { workflowId, runId } = workflowRef();
    return { id: `${workflowId}/${runId}/${info.activityId}`, scheduledAt: new Date(info.scheduledTimestampMs).toISOString() };
  };
  return {
    /** Appends an audit record on every storage target of its database; a retry writes nothing new. */
    async appendAudit(event: AuditEvent): Promise<string[]> {
      const { id, scheduledAt } = stableId();
      return recordAudit(config, { ...event, at: event.at ?? scheduledAt, idempotencyKey: event.idempotencyKey ?? id });
    },

    /** Appends an audit record for the calling workflow run, with its actor (starter, schedule or approver and identity). */
    async recordWorkflowAudit(input: WorkflowAuditInput): Promise<string[]> {
      const { id, scheduledAt } = stableId();
      const info = Context.current().info;
      const { workflowId, runId } = workflowRef();
      const { updateId, approver, actor, ...event } = input;
      let who = actor;
      if (!who) {
        try {
          who = await resolveActor(config, { workflowId, runId, updateId, approver });
        } catch (err) {
          activityLogger(logger).warn({ reason: (err as Error).message }, 'audit actor not read from Temporal');
          who = approver ? { name: approver, source: 'approval' } : { name: 'unknown', source: 'system' };
        }
      }
      const workflow = { workflowId, runId, workflowType: info.workflowType };
      return recordAudit(config, { ...event, actor: who, workflow, at: scheduledAt, idempotencyKey: id });
    },

    /** Delivers a notification once per incident; a retry resends only to channels that failed. */
    async deliverNotification(event: NotificationEvent): Promise<DeliveryReport> {
      return deliver(config, event, { owner: stableId().id, logger: activityLogger(logger) });
    },

    /** Health of every configured database, read from storage (works while backups fail). */
    async checkHealth(): Promise<HealthReport> {
      return evaluateFleet(config, await new CatalogReader(config, 0).fleet());
    },

    /** One check of a database's watch (its dead-man's switch), read from storage. */
    async checkWatch(input: { database: string; watchingSince: string }): Promise<WatchCheck> {
      return checkWatch(config, input.database, input.watchingSince);
    },

    /** Notified incidents of a database not yet closed by a recovery. */
    async listOpenIncidents(input: { database: string }): Promise<Array<{ incident: string; openedAt: string; channels: string[] }>> {
      return openIncidents(config, input.database);
    },
  };
}
