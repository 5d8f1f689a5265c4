// Notification events and incidents: what happened, to what, and since when. The incident's key
// (`<database>:<kind>:<opened-at>`) makes a delivery happen once, however often it is asked for.
import { z } from 'zod';
import { NAME_RE, databaseName, describeIssues } from '../contracts/common.js';
import { LifeboatError } from '../errors.js';
import type { HealthProblem, HealthReport } from '../observability/health.js';
import { NOTIFY_EVENTS, type NotifyEventType } from './config.js';

export const SEVERITIES = {
  'backup-failed': 'critical',
  'verify-failed': 'critical',
  stale: 'critical',
  'size-anomaly': 'critical',
  'approval-needed': 'warning',
  'runbook-finished': 'info',
  recovery: 'resolved',
} as const;
export type Severity = (typeof SEVERITIES)[NotifyEventType];

/**
 * A notification request, e.g. `{ type: "stale", database: "orders", openedAt: "2026-11-24T04:00:00Z",
 * summary: "Backups of orders are stale: …" }`. `recovery` names the incident it closes in `incident`.
 */
export const NotificationEventSchema = z
  .strictObject({
    type: z.enum(NOTIFY_EVENTS, { error: `expected one of ${NOTIFY_EVENTS.join(', ')}` }),
    database: databaseName.optional(),
    runbook: z.string().regex(NAME_RE, 'expected a runbook name').optional(),
    /** The kind of incident (default: the type), e.g. `verify-overdue` reported as `stale`. */
    incident: z
      .string()
      .regex(/^[a-z][a-z-]{0,40}$/, 'expected an incident kind such as "stale"')
      .optional(),
    /** When the incident started; with the kind it names the incident. */
    openedAt: z.iso.datetime({ offset: true, error: 'expected an ISO time such as 2026-11-23T02:00:00Z' }),
    summary: z.string().min(1, 'expected a one-line summary').max(300),
    details: z.string().max(4000).optional(),
    workflow: z.strictObject({ workflowId: z.string().min(1), runId: z.string().optional() }).optional(),
    facts: z.record(z.string().max(60), z.union([z.string().max(500), z.number(), z.boolean()])).optional(),
  })
  .refine((e) => e.type !== 'recovery' || e.incident !== undefined, { path: ['incident'], message: 'required for recovery: the kind of incident it closes' });
export type NotificationEvent = z.output<typeof NotificationEventSchema>;

export function parseEvent(input: unknown): NotificationEvent {
  const parsed = NotificationEventSchema.safeParse(input);
  if (!parsed.success) throw new LifeboatError('INVALID_INPUT', `Invalid notification event: ${describeIssues(parsed.error)}`, { subject: 'notification' });
  return parsed.data;
}

/** Whose incident it is: the database, a runbook, or Lifeboat itself. */
export function incidentScope(e: Pick<NotificationEvent, 'database' | 'runbook'>): string {
  return e.database ?? (e.runbook ? `runbook-${e.runbook}` : 'lifeboat');
}

export function incidentKind(e: Pick<NotificationEvent, 'type' | 'incident'>): string {
  return e.incident ?? e.type;
}

/** `<database>:<kind-of-incident>:<opened-at>`, e.g. `orders:stale:2026-11-24T04:00:00.000Z`. */
export function incidentKey(e: NotificationEvent): string {
  return `${incidentScope(e)}:${incidentKind(e)}:${new Date(e.openedAt).toISOString()}`;
}

const EVENT_OF_PROBLEM: Record<HealthProblem['kind'], NotifyEventType> = {
  stale: 'stale',
  'verify-overdue': 'stale',
  'catalog-unreadable': 'stale',
  'verify-failed': 'verify-failed',
  'size-anomaly': 'size-anomaly',
  'wal-archive': 'stale',
};

/** The incidents a health report shows, as events (their keys stay the same while a problem lasts). */
export function healthEvents(report: HealthReport): NotificationEvent[] {
  return report.databases.flatMap((d) =>
    d.problems.map((p) => ({
      type: EVENT_OF_PROBLEM[p.kind],
      database: d.database,
      incident: p.kind,
      openedAt: p.since,
      summary: p.message.slice(0, 300),
      facts: { environment: d.environment, ...(p.backupId ? { backup: p.backupId } : {}), ...(p.backupKind ? { kind: p.backupKind } : {}) },
    })),
  );
}
