// Configuration of notifications: channels (webhook, Slack, e-mail) and routes by database and event.
import { z } from 'zod';
import { NAME_RE, durationField } from '../contracts/common.js';
import { SecretRefSchema, ValueOrRefSchema } from '../config/refs.js';

/** What Lifeboat notifies about. `recovery` closes an incident opened by one of the others. */
export const NOTIFY_EVENTS = ['backup-failed', 'verify-failed', 'stale', 'size-anomaly', 'approval-needed', 'runbook-finished', 'recovery'] as const;
export type NotifyEventType = (typeof NOTIFY_EVENTS)[number];

const channelName = z.string().regex(NAME_RE, 'expected a channel name of letters, digits, "_" or "-"');
const timeout = durationField({ min: 1000, max: 300_000, describe: 'expected a duration from 1s to 5m, such as "10s"' }).default('10s');

const WebhookChannelSchema = z.strictObject({
  type: z.literal('webhook'),
  /** Where the JSON payload is POSTed; reference it as a secret when it carries a token. */
  url: ValueOrRefSchema,
  /** HMAC-SHA256 key: the body is signed in `X-Lifeboat-Signature: sha256=<hex>`. */
  secret: SecretRefSchema.optional(),
  timeout,
});

const SlackChannelSchema = z.strictObject({
  type: z.literal('slack'),
  /** The incoming-webhook URL (it is the credential: always a secret reference). */
  webhook: SecretRefSchema,
  timeout,
});

const EmailChannelSchema = z.strictObject({
  type: z.literal('email'),
  host: z.string().min(1, 'expected the SMTP server host'),
  port: z.int().min(1).max(65535).default(587),
  /** `starttls`: a plain connection that must upgrade with STARTTLS (refused otherwise); `tls`: TLS from the start (port 465). */
  security: z.enum(['starttls', 'tls'], { error: 'expected "starttls" or "tls"' }).default('starttls'),
  from: z.string().regex(/@/, 'expected an address such as lifeboat@example.com'),
  to: z.array(z.string().regex(/@/, 'expected an address such as dba@example.com')).min(1, 'expected at least one recipient'),
  username: ValueOrRefSchema.optional(),
  password: SecretRefSchema.optional(),
  /** CA certificate of the server when it is not signed by a public CA: inline PEM, a path, or a reference. */
  ca: ValueOrRefSchema.optional(),
  timeout,
});

export const ChannelSchema = z.discriminatedUnion('type', [WebhookChannelSchema, SlackChannelSchema, EmailChannelSchema], {
  error: 'expected type "webhook", "slack" or "email"',
});
export type ChannelConfig = z.infer<typeof ChannelSchema>;
export type WebhookChannelConfig = z.infer<typeof WebhookChannelSchema>;
export type SlackChannelConfig = z.infer<typeof SlackChannelSchema>;
export type EmailChannelConfig = z.infer<typeof EmailChannelSchema>;

/** A route: events of these databases (all when omitted) and types (all when omitted) go to `channels`. */
const RouteSchema = z.strictObject({
  databases: z.array(z.string().min(1)).min(1).optional(),
  events: z
    .array(z.enum(NOTIFY_EVENTS, { error: `expected one of ${NOTIFY_EVENTS.join(', ')}` }))
    .min(1)
    .optional(),
  channels: z.array(channelName).min(1, 'expected at least one channel'),
});
export type RouteConfig = z.infer<typeof RouteSchema>;

/** `notifications:` — channels and the routes that pick them. */
export const NotificationsSchema = z
  .strictObject({
    channels: z.record(channelName, ChannelSchema).default({}),
    routes: z.array(RouteSchema).default([]),
  })
  .superRefine((n, ctx) => {
    n.routes.forEach((r, i) =>
      r.channels.forEach((c, j) => {
        if (!n.channels[c])
          ctx.addIssue({
            code: 'custom',
            path: ['routes', i, 'channels', j],
            message: `unknown channel "${c}" (defined: ${Object.keys(n.channels).join(', ') || 'none'})`,
          });
      }),
    );
  });
export type NotificationsConfig = z.infer<typeof NotificationsSchema>;

/** Problems of routes that name databases the configuration does not have, as config issues. */
export function routeDatabaseProblems(n: NotificationsConfig | undefined, databases: string[]): Array<{ path: PropertyKey[]; message: string }> {
  const out: Array<{ path: PropertyKey[]; message: string }> = [];
  n?.routes.forEach((r, i) =>
    (r.databases ?? []).forEach((d, j) => {
      if (!databases.includes(d))
        out.push({ path: ['notifications', 'routes', i, 'databases', j], message: `unknown database "${d}" (configured: ${databases.join(', ') || 'none'})` });
    }),
  );
  return out;
}
