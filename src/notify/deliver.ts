// Idempotent delivery: every (incident, channel, phase) is claimed and then recorded in storage
// with create-if-absent writes, so a retried activity or a second worker never sends it twice.
// A worker that dies between sending and recording resends after the claim's lease.
import { databaseStorageNames } from '../config/load.js';
import type { LifeboatConfig } from '../config/schema.js';
import { LifeboatError } from '../errors.js';
import type { Logger } from '../logger.js';
import { openStorage, type Storage } from '../storage/index.js';
import { workflowUrl } from '../ui-links.js';
import type { NotificationsConfig, NotifyEventType } from './config.js';
import { ChannelError, sendOn } from './channels.js';
import { incidentKey, incidentKind, incidentScope, parseEvent, type NotificationEvent } from './events.js';
import { notification, type Notification } from './render.js';

/** How long a claim by another owner blocks a delivery before it is taken over. */
export const CLAIM_LEASE_MS = 120_000;

export interface ChannelDelivery {
  channel: string;
  status: 'sent' | 'already-sent' | 'failed' | 'in-progress';
  detail?: string;
}

export interface DeliveryReport {
  key: string;
  type: NotifyEventType;
  channels: ChannelDelivery[];
  /** Why nothing was sent, when nothing was. */
  note?: string;
}

export interface DeliverOptions {
  /** Who delivers: stable across retries of one activity (e.g. `<workflowId>/<activityId>`). */
  owner: string;
  now?: () => Date;
  logger?: Logger;
}

interface Claim {
  owner: string;
  at: string;
}

/** The channels of every route that matches the event's database and type, in route order. */
export function routeChannels(n: NotificationsConfig | undefined, database: string | undefined, type: NotifyEventType): string[] {
  const out = new Set<string>();
  for (const r of n?.routes ?? []) {
    if (r.databases && (!database || !r.databases.includes(database))) continue;
    if (r.events && !r.events.includes(type)) continue;
    r.channels.forEach((c) => out.add(c));
  }
  return [...out];
}

/** Where an incident's delivery records live: beside the database's manifests (its first target). */
export function recordStorage(cfg: LifeboatConfig, e: Pick<NotificationEvent, 'database'>): Storage {
  return openStorage(cfg, e.database ? databaseStorageNames(cfg, e.database)[0]! : Object.keys(cfg.storage)[0]!);
}

/** `<database>/notifications/<kind>/<opened-at>/` (runbook and global incidents under `_lifeboat/`). */
export function incidentDir(e: NotificationEvent): string {
  const opened = new Date(e.openedAt).toISOString().replace(/[-:]/g, '');
  return `${e.database ?? `_lifeboat/${incidentScope(e)}`}/notifications/${incidentKind(e)}/${opened}/`;
}

const recordKey = (dir: string, channel: string, phase: string, what: 'claim' | 'sent') => `${dir}${channel}.${phase}.${what}.json`;

async function claim(storage: Storage, key: string, mine: Claim, now: Date): Promise<boolean> {
  if (await storage.putIfAbsent(key, JSON.stringify(mine))) return true;
  const theirs = JSON.parse((await storage.getBuffer(key)).toString()) as Claim;
  if (theirs.owner !== mine.owner && now.getTime() - Date.parse(theirs.at) < CLAIM_LEASE_MS) return false;
  await storage.put(key, JSON.stringify(mine)); // our own earlier attempt, or an abandoned claim
  return true;
}

async function deliverOne(
  cfg: LifeboatConfig,
  storage: Storage,
  dir: string,
  phase: string,
  channel: string,
  n: Notification,
  opts: DeliverOptions,
): Promise<ChannelDelivery> {
  const sentKey = recordKey(dir, channel, phase, 'sent');
  if (await storage.head(sentKey)) return { channel, status: 'already-sent' };
  const now = (opts.now ?? (() => new Date()))();
  if (!(await claim(storage, recordKey(dir, channel, phase, 'claim'), { owner: opts.owner, at: now.toISOString() }, now))) {
    return { channel, status: 'in-progress', detail: 'another worker is delivering it' };
  }
  const config = cfg.notifications?.channels[channel];
  if (!config) return { channel, status: 'failed', detail: `rejected: channel ${channel} is no longer configured` };
  try {
    const detail = await sendOn(cfg, channel, config, n);
    await storage.putIfAbsent(sentKey, JSON.stringify({ channel, key: n.key, phase, owner: opts.owner, sentAt: new Date().toISOString(), detail }));
    return { channel, status: 'sent', detail };
  } catch (err) {
    if (!(err instanceof ChannelError)) throw err;
    return { channel, status: 'failed', detail: `${err.permanent ? 'rejected' : 'failed'}: ${err.message}` };
  }
}

/** Channels that delivered an incident's opening (a recovery goes to them). */
async function openedOn(storage: Storage, dir: string): Promise<string[]> {
  return (await storage.list(dir)).map((o) => /([^/]+)\.open\.sent\.json$/.exec(o.key)?.[1]).filter((c): c is string => c !== undefined);
}

function failIfUndelivered(report: DeliveryReport): DeliveryReport {
  const failed = report.channels.filter((c) => c.status === 'failed' || c.status === 'in-progress');
  if (failed.length === 0) return report;
  const message = `Notification ${report.key} failed: ${failed.map((c) => `${c.channel}: ${c.detail}`).join('; ')}`;
  const permanent = failed.every((c) => c.detail?.startsWith('rejected'));
  const code = permanent ? 'NOTIFICATION_REJECTED' : failed.some((c) => c.status === 'failed') ? 'NOTIFICATION_FAILED' : 'NOTIFICATION_IN_PROGRESS';
  throw new LifeboatError(code, message, { subject: report.key });
}

/**
 * Delivers an event on every routed channel, once per incident: channels that already have it
 * are skipped, so retrying after a partial failure only resends what failed. A `recovery` goes to
 * the channels that got the incident (and routes listing `recovery`), and only if it was notified.
 * Throws NOTIFICATION_FAILED (retryable) or NOTIFICATION_REJECTED (4xx/5xx answers) when a
 * channel did not take it; the others stay recorded.
 */
export async function deliver(cfg: LifeboatConfig, input: unknown, opts: DeliverOptions): Promise<DeliveryReport> {
  const event = parseEvent(input);
  const storage = recordStorage(cfg, event);
  const dir = incidentDir(event);
  const recovery = event.type === 'recovery';
  const routed = routeChannels(cfg.notifications, event.database, event.type);
  const opened = recovery ? await openedOn(storage, dir) : [];
  const channels = recovery ? [...new Set([...opened, ...routed])] : routed;
  const key = incidentKey(event);
  if (channels.length === 0 || (recovery && opened.length === 0)) {
    const note = recovery ? 'the incident was never notified' : `no route for ${event.type}${event.database ? ` of ${event.database}` : ''}`;
    opts.logger?.info({ incident: key, note }, 'notification not sent');
    return { key, type: event.type, channels: [], note };
  }
  const n = notification(
    event,
    (opts.now ?? (() => new Date()))(),
    event.workflow ? workflowUrl(cfg, event.workflow.workflowId, event.workflow.runId) : undefined,
  );
  const results: ChannelDelivery[] = [];
  for (const channel of channels) results.push(await deliverOne(cfg, storage, dir, recovery ? 'recovery' : 'open', channel, n, opts));
  opts.logger?.info({ incident: key, channels: results.map((r) => `${r.channel}:${r.status}`) }, 'notification delivered');
  return failIfUndelivered({ key, type: event.type, channels: results });
}

/** Incidents of a database that were notified and not yet closed by a recovery. */
export async function openIncidents(cfg: LifeboatConfig, database: string): Promise<Array<{ incident: string; openedAt: string; channels: string[] }>> {
  const storage = recordStorage(cfg, { database });
  const byDir = new Map<string, { open: string[]; recovered: boolean }>();
  for (const o of await storage.list(`${database}/notifications/`)) {
    const m = /notifications\/([^/]+)\/([^/]+)\/([^/]+)\.(open|recovery)\.sent\.json$/.exec(o.key);
    if (!m) continue;
    const entry = byDir.get(`${m[1]}/${m[2]}`) ?? { open: [], recovered: false };
    if (m[4] === 'open') entry.open.push(m[3]!);
    else entry.recovered = true;
    byDir.set(`${m[1]}/${m[2]}`, entry);
  }
  return [...byDir.entries()]
    .filter(([, e]) => e.open.length > 0 && !e.recovered)
    .map(([dir, e]) => {
      const [incident, t] = dir.split('/') as [string, string];
      const openedAt = `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 11)}:${t.slice(11, 13)}:${t.slice(13)}`;
      return { incident, openedAt, channels: e.open };
    });
}
