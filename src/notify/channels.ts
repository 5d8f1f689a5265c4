// Senders: one POST for webhooks and Slack, SMTP (STARTTLS by default) for e-mail. Every URL and
// credential is a secret reference resolved here, on the worker; none appears in an error.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { LifeboatConfig } from '../config/schema.js';
import { redactSecrets, resolveSecret } from '../config/secrets.js';
import { durationMs } from '../contracts/duration.js';
import { LIFEBOAT_VERSION } from '../version.js';
import type { ChannelConfig, EmailChannelConfig } from './config.js';
import { emailMessage, slackMessage, webhookPayload, type Notification } from './render.js';

/** A failed send; `permanent` when retrying cannot help (HTTP 4xx, SMTP 5xx). */
export class ChannelError extends Error {
  constructor(
    message: string,
    public readonly permanent: boolean,
  ) {
    super(redactSecrets(message));
  }
}

export const SIGNATURE_HEADER = 'x-lifeboat-signature';

/** `sha256=<hex>`: HMAC-SHA256 of the exact body bytes with the channel's secret. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

async function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
      headers: { 'content-type': 'application/json', 'user-agent': `lifeboat/${LIFEBOAT_VERSION}`, ...headers },
    });
  } catch (err) {
    const e = err as Error & { cause?: Error };
    throw new ChannelError(`request failed: ${e.cause?.message ?? e.message}`, false);
  }
  const text = (await res.text().catch(() => '')).slice(0, 200);
  if (!res.ok)
    throw new ChannelError(`HTTP ${res.status}${text ? `: ${text}` : ''}`, res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429);
  return `HTTP ${res.status}`;
}

function pem(value: string, base?: string): string {
  return value.includes('-----BEGIN') ? value : readFileSync(path.resolve(base ?? process.cwd(), value), 'utf8');
}

async function sendEmail(c: EmailChannelConfig, label: string, n: Notification, base?: string): Promise<string> {
  const timeout = durationMs(c.timeout);
  const transport = nodemailer.createTransport({
    host: c.host,
    port: c.port,
    secure: c.security === 'tls',
    requireTLS: c.security === 'starttls',
    auth: c.username
      ? { user: resolveSecret(c.username, `${label}.username`, base), pass: c.password ? resolveSecret(c.password, `${label}.password`, base) : undefined }
      : undefined,
    tls: c.ca ? { ca: pem(resolveSecret(c.ca, `${label}.ca`, base), base) } : undefined,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  const { subject, text } = emailMessage(n);
  try {
    const info = await transport.sendMail({ from: c.from, to: c.to, subject, text, headers: { 'X-Lifeboat-Incident': n.key } });
    return `SMTP ${info.response.split(' ')[0] ?? 'accepted'}`;
  } catch (err) {
    const e = err as Error & { responseCode?: number; code?: string };
    throw new ChannelError(`SMTP ${e.responseCode ?? e.code ?? 'error'}: ${e.message}`, e.responseCode !== undefined && e.responseCode >= 500);
  } finally {
    transport.close();
  }
}

/** Sends `n` on one configured channel; resolves to a one-line receipt (`HTTP 200`, `SMTP 250`). */
export async function sendOn(cfg: LifeboatConfig, name: string, channel: ChannelConfig, n: Notification): Promise<string> {
  const label = `notifications.channels.${name}`;
  const base = cfg.sourcePath ? path.dirname(cfg.sourcePath) : undefined;
  switch (channel.type) {
    case 'webhook': {
      const body = JSON.stringify(webhookPayload(n));
      const headers: Record<string, string> = { 'x-lifeboat-event': n.event.type, 'x-lifeboat-delivery': n.key };
      if (channel.secret) headers[SIGNATURE_HEADER] = signature(resolveSecret(channel.secret, `${label}.secret`, base), body);
      return post(resolveSecret(channel.url, `${label}.url`, base), body, headers, durationMs(channel.timeout));
    }
    case 'slack':
      return post(resolveSecret(channel.webhook, `${label}.webhook`, base), JSON.stringify(slackMessage(n)), {}, durationMs(channel.timeout));
    case 'email':
      return sendEmail(channel, label, n, base);
  }
}
