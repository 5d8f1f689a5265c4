// Notifications against real local receivers: an HTTP server (webhook and Slack) and an SMTP
// server that offers STARTTLS with a self-signed certificate and requires authentication.
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { SMTPServer } from 'smtp-server';
import { parseConfig } from '../../src/config/load.js';
import type { LifeboatConfig } from '../../src/config/schema.js';
import { deliver, openIncidents } from '../../src/notify/deliver.js';
import { incidentKey, type NotificationEvent } from '../../src/notify/events.js';

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
interface Mail {
  secure: boolean;
  user?: string;
  raw: string;
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-notify-'));
const http: Received[] = [];
const mails: Mail[] = [];
const auths: string[] = [];
/** Statuses the HTTP receiver answers next, per path (then 200). */
const answers = new Map<string, number[]>();
let httpServer: Server;
let httpBase: string;
const smtp: { server?: SMTPServer; port?: number; plainServer?: SMTPServer; plainPort?: number } = {};
const HMAC_KEY = 'whsec-4f1d0c9e8b7a';
const SMTP_PASSWORD = 'smtp-pw-7c2e9a1b3d';

function listen(server: { listen: (port: number, host: string, cb: () => void) => unknown }, address: () => AddressInfo | string | null): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((address() as AddressInfo).port)));
}

function smtpServer(opts: { key: string; cert: string; hideSTARTTLS?: boolean }): SMTPServer {
  return new SMTPServer({
    key: opts.key,
    cert: opts.cert,
    hideSTARTTLS: opts.hideSTARTTLS,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, cb) {
      auths.push(auth.username ?? '');
      if (auth.username === 'lifeboat' && auth.password === SMTP_PASSWORD) cb(null, { user: auth.username });
      else cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      let raw = '';
      stream.on('data', (d: Buffer) => (raw += d.toString()));
      stream.on('end', () => {
        mails.push({ secure: session.secure, user: session.user as string | undefined, raw });
        cb();
      });
    },
    logger: false,
  });
}

beforeAll(async () => {
  httpServer = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      http.push({ path: req.url ?? '', headers: req.headers, body });
      const status = answers.get(req.url ?? '')?.shift() ?? 200;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'no');
    });
  });
  const httpPort = await listen(httpServer, () => httpServer.address());
  httpBase = `http://127.0.0.1:${httpPort}`;
  await execa('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout',
    path.join(dir, 'key.pem'),
    '-out',
    path.join(dir, 'cert.pem'),
  ]);
  const tls = { key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
  smtp.server = smtpServer(tls);
  smtp.port = await listen(smtp.server as never, () => (smtp.server as unknown as { server: Server }).server.address());
  smtp.plainServer = smtpServer({ ...tls, hideSTARTTLS: true });
  smtp.plainPort = await listen(smtp.plainServer as never, () => (smtp.plainServer as unknown as { server: Server }).server.address());
});

afterAll(async () => {
  await new Promise((r) => httpServer?.close(r));
  await new Promise((r) => smtp.server?.close(() => r(undefined)));
  await new Promise((r) => smtp.plainServer?.close(() => r(undefined)));
});

function config(extraChannels: Record<string, unknown> = {}, routes?: unknown[]): LifeboatConfig {
  process.env.LB_NOTIFY_HMAC = HMAC_KEY;
  process.env.LB_NOTIFY_SLACK = `${httpBase}/slack/T000/B000/XXXX`;
  process.env.LB_NOTIFY_SMTP_PW = SMTP_PASSWORD;
  const store = mkdtempSync(path.join(dir, 'store-'));
  return parseConfig({
    temporal: { uiUrl: 'https://temporal.example.com/' },
    storage: { primary: { type: 'filesystem', path: store } },
    databases: { orders: { engine: 'postgres', url: 'postgres://u@h/orders' }, billing: { engine: 'postgres', url: 'postgres://u@h/billing' } },
    notifications: {
      channels: {
        hook: { type: 'webhook', url: `${httpBase}/hook`, secret: { env: 'LB_NOTIFY_HMAC' } },
        team: { type: 'slack', webhook: { env: 'LB_NOTIFY_SLACK' } },
        mail: {
          type: 'email',
          host: '127.0.0.1',
          port: smtp.port,
          from: 'lifeboat@example.com',
          to: ['dba@example.com'],
          username: 'lifeboat',
          password: { env: 'LB_NOTIFY_SMTP_PW' },
          ca: path.join(dir, 'cert.pem'),
          timeout: '5s',
        },
        ...extraChannels,
      },
      routes: routes ?? [{ databases: ['orders'], events: ['backup-failed', 'stale'], channels: ['hook', 'mail'] }, { channels: ['team'] }],
    },
  });
}

const failed: NotificationEvent = {
  type: 'backup-failed',
  database: 'orders',
  openedAt: '2026-11-23T02:00:00Z',
  summary: 'Backup of orders failed: pg_dump exited with code 1',
  details: 'pg_dump: error: connection to server failed [AUTH_FAILED]',
  workflow: { workflowId: 'backup:orders:full:20261123T020000Z', runId: 'run-1' },
  facts: { kind: 'full' },
};

/** Headers unfolded and the quoted-printable body decoded (RFC 5322 / 2045), for assertions. */
const readable = (raw: string) =>
  raw
    .replace(/\r\n(?=[ \t])/g, '')
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));

const byPath = (prefix: string) => http.filter((r) => r.path.startsWith(prefix));

beforeEach(() => {
  http.length = 0;
  mails.length = 0;
  auths.length = 0;
  answers.clear();
});

test('a backup failure reaches every routed channel: signed webhook, Slack Block Kit with the UI link, e-mail over STARTTLS', async () => {
  const cfg = config();
  const report = await deliver(cfg, failed, { owner: 'wf/run/1' });
  expect(report).toEqual({
    key: 'orders:backup-failed:2026-11-23T02:00:00.000Z',
    type: 'backup-failed',
    channels: [
      { channel: 'hook', status: 'sent', detail: 'HTTP 200' },
      { channel: 'mail', status: 'sent', detail: 'SMTP 250' },
      { channel: 'team', status: 'sent', detail: 'HTTP 200' },
    ],
  });

  const [hook] = byPath('/hook');
  expect(hook!.headers['x-lifeboat-signature']).toBe(`sha256=${createHmac('sha256', HMAC_KEY).update(hook!.body).digest('hex')}`);
  expect(hook!.headers['x-lifeboat-event']).toBe('backup-failed');
  const link = 'https://temporal.example.com/namespaces/default/workflows/backup%3Aorders%3Afull%3A20261123T020000Z/run-1';
  expect(JSON.parse(hook!.body)).toEqual({
    version: 1,
    id: report.key,
    type: 'backup-failed',
    severity: 'critical',
    database: 'orders',
    runbook: null,
    incident: { key: report.key, kind: 'backup-failed', openedAt: '2026-11-23T02:00:00.000Z' },
    summary: failed.summary,
    details: failed.details,
    facts: { kind: 'full' },
    workflow: failed.workflow,
    link,
    sentAt: expect.any(String),
  });

  const slack = JSON.parse(byPath('/slack/T000/B000/XXXX')[0]!.body);
  expect(slack.text).toBe(':rotating_light: Backup of orders failed: pg_dump exited with code 1');
  expect(slack.blocks.map((b: { type: string }) => b.type)).toEqual(['header', 'section', 'section', 'context', 'actions']);
  expect(slack.blocks[4].elements[0]).toEqual({ type: 'button', text: { type: 'plain_text', text: 'Open in Temporal UI' }, url: link });
  expect(slack.blocks[2].fields).toContainEqual({ type: 'mrkdwn', text: '*Database*\norders' });

  expect(mails).toHaveLength(1);
  expect(mails[0]).toMatchObject({ secure: true, user: 'lifeboat' });
  expect(readable(mails[0]!.raw)).toContain('Subject: [Lifeboat] CRITICAL: Backup of orders failed: pg_dump exited with code 1');
  expect(readable(mails[0]!.raw)).toContain(`Temporal UI: ${link}`);
  expect(JSON.stringify(report)).not.toContain(SMTP_PASSWORD);
});

test('the same incident again (a retried activity, a second worker) sends nothing twice', async () => {
  const cfg = config();
  await deliver(cfg, failed, { owner: 'wf/run/1' });
  const before = { http: http.length, mails: mails.length };
  const again = await deliver(cfg, { ...failed, summary: 'Backup of orders failed again' }, { owner: 'another-worker' });
  expect(again.channels.map((c) => c.status)).toEqual(['already-sent', 'already-sent', 'already-sent']);
  expect({ http: http.length, mails: mails.length }).toEqual(before);
  // A new incident (another opening time) is a new notification.
  const next = await deliver(cfg, { ...failed, openedAt: '2026-11-24T02:00:00Z' }, { owner: 'wf/run/2' });
  expect(next.channels.map((c) => c.status)).toEqual(['sent', 'sent', 'sent']);
});

test('a channel that fails is retried alone: the others are recorded as sent and not resent', async () => {
  const cfg = config();
  answers.set('/hook', [500]);
  const err = await deliver(cfg, failed, { owner: 'wf/run/1' }).catch((e: unknown) => e);
  expect(err).toMatchObject({
    code: 'NOTIFICATION_FAILED',
    nonRetryable: false,
    message: 'Notification orders:backup-failed:2026-11-23T02:00:00.000Z failed: hook: failed: HTTP 500: no',
  });
  expect(mails).toHaveLength(1);
  const retry = await deliver(cfg, failed, { owner: 'wf/run/1' });
  expect(retry.channels.map((c) => `${c.channel}:${c.status}`)).toEqual(['hook:sent', 'mail:already-sent', 'team:already-sent']);
  expect(byPath('/hook').length).toBe(2);
  expect(byPath('/slack').length).toBe(1);
  expect(mails).toHaveLength(1);
});

test('a rejection (HTTP 4xx) is non-retryable; a claim by another worker blocks until its lease ends', async () => {
  const cfg = config();
  answers.set('/hook', [404]);
  await expect(
    deliver(cfg, { ...failed, openedAt: '2026-11-25T02:00:00Z' }, { owner: 'a', now: () => new Date('2026-11-25T02:00:01Z') }),
  ).rejects.toMatchObject({ code: 'NOTIFICATION_REJECTED', nonRetryable: true });
  // Worker b finds a's fresh claim on the hook and waits; after the lease it takes over.
  const blocked = await deliver(cfg, { ...failed, openedAt: '2026-11-25T02:00:00Z' }, { owner: 'b', now: () => new Date('2026-11-25T02:00:30Z') }).catch(
    (e: unknown) => e,
  );
  expect(blocked).toMatchObject({ code: 'NOTIFICATION_IN_PROGRESS', message: expect.stringContaining('hook: another worker is delivering it') });
  const taken = await deliver(cfg, { ...failed, openedAt: '2026-11-25T02:00:00Z' }, { owner: 'b', now: () => new Date('2026-11-25T02:03:00Z') });
  expect(taken.channels.map((c) => `${c.channel}:${c.status}`)).toEqual(['hook:sent', 'mail:already-sent', 'team:already-sent']);
});

test('routes pick channels by database and event; an unrouted event is not sent', async () => {
  const cfg = config({}, [{ databases: ['billing'], events: ['stale'], channels: ['hook'] }]);
  const none = await deliver(cfg, failed, { owner: 'x' });
  expect(none).toEqual({ key: incidentKey(failed), type: 'backup-failed', channels: [], note: 'no route for backup-failed of orders' });
  const stale = await deliver(
    cfg,
    { type: 'stale', database: 'billing', openedAt: '2026-11-24T04:00:00Z', summary: 'Backups of billing are stale' },
    { owner: 'x' },
  );
  expect(stale.channels).toEqual([{ channel: 'hook', status: 'sent', detail: 'HTTP 200' }]);
  expect(http).toHaveLength(1);
  expect(mails).toHaveLength(0);
});

test('a recovery closes the incident on the channels that got it, once; an incident never notified gets none', async () => {
  const cfg = config();
  const stale: NotificationEvent = {
    type: 'stale',
    database: 'orders',
    incident: 'stale',
    openedAt: '2026-11-24T04:00:00Z',
    summary: 'Backups of orders are stale',
  };
  await deliver(cfg, stale, { owner: 'watch/1' });
  expect(await openIncidents(cfg, 'orders')).toEqual([{ incident: 'stale', openedAt: '2026-11-24T04:00:00.000Z', channels: ['hook', 'mail', 'team'] }]);
  const recovery = {
    type: 'recovery' as const,
    database: 'orders',
    incident: 'stale',
    openedAt: '2026-11-24T04:00:00Z',
    summary: 'Backups of orders are fresh again',
  };
  const closed = await deliver(cfg, recovery, { owner: 'watch/2' });
  expect(closed.channels.map((c) => `${c.channel}:${c.status}`)).toEqual(['hook:sent', 'mail:sent', 'team:sent']);
  expect(JSON.parse(byPath('/hook')[1]!.body)).toMatchObject({
    type: 'recovery',
    severity: 'resolved',
    incident: { kind: 'stale', key: 'orders:stale:2026-11-24T04:00:00.000Z' },
  });
  expect(readable(mails[1]!.raw)).toContain('Subject: [Lifeboat] RESOLVED: Backups of orders are fresh again');
  expect((await deliver(cfg, recovery, { owner: 'watch/3' })).channels.map((c) => c.status)).toEqual(['already-sent', 'already-sent', 'already-sent']);
  expect(await openIncidents(cfg, 'orders')).toEqual([]);
  const never = await deliver(cfg, { ...recovery, openedAt: '2026-11-20T04:00:00Z' }, { owner: 'watch/4' });
  expect(never).toMatchObject({ channels: [], note: 'the incident was never notified' });
});

test('e-mail refuses to send without STARTTLS: the password never crosses in clear', async () => {
  const cfg = config(
    {
      clear: {
        type: 'email',
        host: '127.0.0.1',
        port: smtp.plainPort,
        from: 'lifeboat@example.com',
        to: ['dba@example.com'],
        username: 'lifeboat',
        password: { env: 'LB_NOTIFY_SMTP_PW' },
        timeout: '5s',
      },
    },
    [{ channels: ['clear'] }],
  );
  const err = await deliver(cfg, failed, { owner: 'x' }).catch((e: unknown) => e);
  expect(err).toMatchObject({
    code: 'NOTIFICATION_FAILED',
    message: expect.stringMatching(/^Notification orders:backup-failed:.* failed: clear: failed: SMTP /),
  });
  expect(auths).toEqual([]);
  expect(mails).toEqual([]);
  expect((err as Error).message).not.toContain(SMTP_PASSWORD);
});

test('a bad event is refused naming the field', async () => {
  await expect(deliver(config(), { ...failed, openedAt: 'yesterday' }, { owner: 'x' })).rejects.toMatchObject({
    code: 'INVALID_INPUT',
    message: 'Invalid notification event: openedAt: expected an ISO time such as 2026-11-23T02:00:00Z',
  });
  await expect(deliver(config(), { type: 'recovery', database: 'orders', openedAt: '2026-11-23T02:00:00Z', summary: 's' }, { owner: 'x' })).rejects.toThrow(
    'incident: required for recovery: the kind of incident it closes',
  );
});
