import { Context } from '@temporalio/activity';
import { recordAudit } from '../src/audit/log.js';
import type { AuditEvent } from '../src/audit/schema.js';
import { deliver, openIncidents, type DeliveryReport } from '../src/notify/deliver.js';
import type { NotificationEvent } from '../src/notify/events.js';
import { CatalogReader } from '../src/observability/catalog.js';
import { evaluateFleet, type HealthReport } from '../src/observability/health.js';
import { activityLogger, workflowRef } from './context.js';
import type { ActivityDeps } from './deps.js';

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

    /** Delivers a notification once per incident; a retry resends only to channels that failed. */
    async deliverNotification(event: NotificationEvent): Promise<DeliveryReport> {
      return deliver(config, event, { owner: stableId().id, logger: activityLogger(logger) });
    },

    /** Health of every configured database, read from storage (works while backups fail). */
    async checkHealth(): Promise<HealthReport> {
      return evaluateFleet(config, await new CatalogReader(config, 0).fleet());
    },

    /** Notified incidents of a database not yet closed by a recovery. */
    async listOpenIncidents(input: { database: string }): Promise<Array<{ incident: string; openedAt: string; channels: string[] }>> {
      return openIncidents(config, input.database);
    },
  };
}
