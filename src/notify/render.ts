// What each channel sends: the webhook's documented JSON payload (docs/notifications.md), a Slack
// Block Kit message, an e-mail. Pure.
import { incidentKey, incidentKind, SEVERITIES, type NotificationEvent, type Severity } from './events.js';

/** An event ready to send: its incident key, severity, when it was sent, and the Web UI link. */
export interface Notification {
  event: NotificationEvent;
  key: string;
  severity: Severity;
  sentAt: string;
  link?: string;
}

export function notification(event: NotificationEvent, sentAt: Date, link?: string): Notification {
  return { event, key: incidentKey(event), severity: SEVERITIES[event.type], sentAt: sentAt.toISOString(), link };
}

/** The webhook payload, format version 1. */
export function webhookPayload(n: Notification): Record<string, unknown> {
  const e = n.event;
  return {
    version: 1,
    id: n.key,
    type: e.type,
    severity: n.severity,
    database: e.database ?? null,
    runbook: e.runbook ?? null,
    incident: { key: n.key, kind: incidentKind(e), openedAt: new Date(e.openedAt).toISOString() },
    summary: e.summary,
    details: e.details ?? null,
    facts: e.facts ?? {},
    workflow: e.workflow ?? null,
    link: n.link ?? null,
    sentAt: n.sentAt,
  };
}

const ICON: Record<Severity, string> = { critical: ':rotating_light:', warning: ':warning:', info: ':information_source:', resolved: ':white_check_mark:' };

/** Slack's escaping for text in mrkdwn and plain_text objects. */
const slackText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A Block Kit message: header, details, facts, the incident key and a button to the Web UI. */
export function slackMessage(n: Notification): Record<string, unknown> {
  const e = n.event;
  const fields = [
    ['Event', e.type],
    ['Severity', n.severity],
    ...(e.database ? [['Database', e.database]] : []),
    ...(e.runbook ? [['Runbook', e.runbook]] : []),
    ...Object.entries(e.facts ?? {}).map(([k, v]) => [k, String(v)]),
  ].slice(0, 10);
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: `${n.severity === 'resolved' ? 'Resolved' : n.severity.toUpperCase()}: ${e.summary}`.slice(0, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: slackText(e.details ?? e.summary).slice(0, 3000) } },
    { type: 'section', fields: fields.map(([k, v]) => ({ type: 'mrkdwn', text: `*${slackText(k!)}*\n${slackText(v!)}` })) },
    { type: 'context', elements: [{ type: 'mrkdwn', text: `Incident \`${slackText(n.key)}\`` }] },
  ];
  if (n.link) blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in Temporal UI' }, url: n.link }] });
  return { text: `${ICON[n.severity]} ${slackText(e.summary)}`, blocks };
}

/** Subject and plain-text body of the e-mail. */
export function emailMessage(n: Notification): { subject: string; text: string } {
  const e = n.event;
  const lines = [
    e.summary,
    '',
    ...(e.details ? [e.details, ''] : []),
    `Event:    ${e.type} (${n.severity})`,
    ...(e.database ? [`Database: ${e.database}`] : []),
    ...(e.runbook ? [`Runbook:  ${e.runbook}`] : []),
    ...Object.entries(e.facts ?? {}).map(([k, v]) => `${`${k}:`.padEnd(10)}${String(v)}`),
    `Incident: ${n.key}`,
    ...(n.link ? ['', `Temporal UI: ${n.link}`] : []),
  ];
  const tag = n.severity === 'resolved' ? 'RESOLVED' : n.severity.toUpperCase();
  return { subject: `[Lifeboat] ${tag}: ${e.summary}`.replace(/[\r\n]+/g, ' ').slice(0, 200), text: `${lines.join('\n')}\n` };
}
