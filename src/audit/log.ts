// The append-only audit log: `<db>/audit/<time>-<action>-<outcome>-<random>.json`, one object per
// event, written with a create-if-absent write and never rewritten. Purge's own records
// (`<db>/audit/<time>-purge.json`) are read too.
import { createHash, randomBytes } from 'node:crypto';
import { databaseStorageNames } from '../config/load.js';
import type { LifeboatConfig } from '../config/schema.js';
import { redactSecrets } from '../config/secrets.js';
import { WORKFLOWS, compactTimestamp, describeIssues, type PurgeAuditRecord } from '../contracts/index.js';
import { LifeboatError } from '../errors.js';
import { openStorage, type Storage } from '../storage/index.js';
import { AuditEventSchema, type AuditAction, type AuditEntry, type AuditEvent, type AuditRecord } from './schema.js';

export const auditPrefix = (database: string) => `${database}/audit/`;
const EVENT_KEY_RE = /\/audit\/(\d{8}T\d{6}Z)-[a-z-]+-[0-9a-f]{12}\.json$/;
const PURGE_KEY_RE = /\/audit\/(\d{8}T\d{6}Z)-purge\.json$/;

/** Validates an event and gives the record and the key it is stored under. */
export function auditRecord(event: AuditEvent, now = new Date()): { key: string; record: AuditRecord } {
  const parsed = AuditEventSchema.safeParse(event);
  if (!parsed.success) throw new LifeboatError('INVALID_INPUT', `Invalid audit event: ${describeIssues(parsed.error)}`, { subject: 'audit' });
  const { idempotencyKey, ...rest } = parsed.data;
  const at = new Date(rest.at ?? now);
  const record: AuditRecord = { formatVersion: 1, ...rest, at: at.toISOString() };
  const tag = idempotencyKey ? createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 12) : randomBytes(6).toString('hex');
  return { key: `${auditPrefix(record.database)}${compactTimestamp(at)}-${record.action}-${record.outcome}-${tag}.json`, record };
}

/**
 * Appends one audit record to one storage target. Returns its key and whether this call wrote it
 * (false: an earlier attempt with the same idempotency key did). Secrets are scrubbed once more.
 */
export async function appendAudit(storage: Storage, event: AuditEvent, now = new Date()): Promise<{ key: string; written: boolean }> {
  for (let i = 0; i < 3; i++) {
    const { key, record } = auditRecord(event, now);
    const written = await storage.putIfAbsent(key, `${redactSecrets(JSON.stringify(record, null, 2))}\n`);
    // Without an idempotency key a clash is another event of the same second: draw again.
    if (written || event.idempotencyKey) return { key, written };
  }
  throw new LifeboatError('STORAGE_FAILED', `Audit append failed: no free key after 3 attempts: ${storage.describe(auditPrefix(event.database))}`);
}

/**
 * Appends an audit record on every storage target of its database (the log survives the loss
 * of one). Every target is tried; a failure is thrown after, naming the targets that failed.
 */
export async function recordAudit(cfg: LifeboatConfig, event: AuditEvent, now = new Date()): Promise<string[]> {
  const written: string[] = [];
  const failed: string[] = [];
  // One key on every target: the same record, findable under the same name everywhere.
  const same: AuditEvent = { ...event, at: event.at ?? now.toISOString(), idempotencyKey: event.idempotencyKey ?? randomBytes(8).toString('hex') };
  for (const name of databaseStorageNames(cfg, event.database)) {
    const storage = openStorage(cfg, name);
    try {
      written.push(storage.describe((await appendAudit(storage, same, now)).key));
    } catch (err) {
      failed.push(`${name}: ${(err as Error).message}`);
    }
  }
  if (failed.length)
    throw new LifeboatError('STORAGE_FAILED', `Audit append of ${event.action} for ${event.database} failed: ${failed.join('; ')}`, {
      subject: event.database,
    });
  return written;
}

/** Turns purge's own record (rewritten as the purge progresses) into an audit entry. */
export function purgeEntry(p: PurgeAuditRecord, key: string): AuditEntry {
  const approver = p.approvedBy ?? p.requestedBy;
  const deleted = p.targets.reduce((n, t) => n + t.deleted.length, 0);
  return {
    formatVersion: 1,
    key,
    origin: 'purge-record',
    action: 'purge',
    outcome: p.status === 'approved' ? 'approved' : p.status === 'completed' ? 'succeeded' : 'partial',
    database: p.database,
    at: p.completedAt ?? p.approvedAt ?? p.requestedAt,
    actor: approver ? { name: approver, source: 'approval' } : { name: 'unknown', source: 'system' },
    workflow: { workflowId: p.workflow.workflowId, runId: p.workflow.runId, workflowType: WORKFLOWS.purgeBackups },
    message: p.reason,
    details: {
      before: p.before,
      requestedBy: p.requestedBy ?? null,
      approvedBy: p.approvedBy ?? null,
      requestedAt: p.requestedAt,
      deleted,
      bytes: p.targets.reduce((n, t) => n + t.bytes, 0),
      storages: p.targets.map((t) => t.storage),
      problems: p.targets.reduce((n, t) => n + t.problems.length, 0),
    },
  };
}

export interface AuditQuery {
  /** One database or several; every database found in the storage target when omitted. */
  database?: string | string[];
  /** Only records at or after this time. */
  since?: Date;
  actions?: AuditAction[];
}

/** Reads records once: audit events never change, so a cache by key is always right. */
export type AuditCache = Map<string, AuditEntry>;

/** The second an event's key names (purge records are rewritten later: they count as unknown). */
function keyTime(key: string): number {
  const t = EVENT_KEY_RE.exec(key)?.[1];
  if (!t) return Infinity;
  return Date.parse(`${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9, 11)}:${t.slice(11, 13)}:${t.slice(13, 15)}Z`);
}

async function readEntry(storage: Storage, key: string, cache?: AuditCache): Promise<AuditEntry> {
  const cached = cache?.get(key);
  if (cached) return cached;
  const where = storage.describe(key);
  let json: unknown;
  try {
    json = JSON.parse((await storage.getBuffer(key)).toString());
  } catch (err) {
    throw err instanceof LifeboatError ? err : new LifeboatError('STORAGE_FAILED', `Unreadable audit record: not JSON: ${where}`, { subject: where });
  }
  if (PURGE_KEY_RE.test(key)) return purgeEntry(json as PurgeAuditRecord, key);
  const { formatVersion, ...event } = json as AuditRecord;
  const parsed = AuditEventSchema.safeParse(event);
  if (formatVersion !== 1 || !parsed.success)
    throw new LifeboatError('STORAGE_FAILED', `Unreadable audit record: ${parsed.success ? 'unknown formatVersion' : describeIssues(parsed.error)}: ${where}`, {
      subject: where,
    });
  const { idempotencyKey: _k, ...stored } = parsed.data as AuditRecord & { idempotencyKey?: string };
  const entry: AuditEntry = { ...stored, formatVersion: 1, key, origin: 'audit' };
  cache?.set(key, entry);
  return entry;
}

/**
 * Lists audit records of one storage target, oldest first, with unreadable ones reported in
 * `problems` (never dropped silently). Keys carry the time, so records before `since` are not read.
 */
export async function listAudit(storage: Storage, query: AuditQuery = {}, cache?: AuditCache): Promise<{ entries: AuditEntry[]; problems: string[] }> {
  const databases = query.database === undefined ? undefined : [query.database].flat();
  const prefixes = databases?.map(auditPrefix) ?? [''];
  const listed = (await Promise.all(prefixes.map((p) => storage.list(p)))).flat();
  const since = query.since?.getTime() ?? -Infinity;
  const keys = listed
    .map((o) => o.key)
    .filter((k) => (EVENT_KEY_RE.test(k) || PURGE_KEY_RE.test(k)) && /^[^/]+\/audit\/[^/]+$/.test(k))
    // A key's time is the event's second: keep the whole second at the boundary.
    .filter((k) => keyTime(k) >= Math.floor(since / 1000) * 1000)
    .filter((k) => !query.actions || !EVENT_KEY_RE.test(k) || query.actions.some((a) => k.includes(`Z-${a}-`)));
  const entries: AuditEntry[] = [];
  const problems: string[] = [];
  for (const key of keys) {
    try {
      const e = await readEntry(storage, key, cache);
      if (Date.parse(e.at) < since) continue;
      if (query.actions && !query.actions.includes(e.action)) continue;
      if (databases && !databases.includes(e.database)) continue;
      entries.push(e);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  entries.sort((a, b) => a.at.localeCompare(b.at) || a.key.localeCompare(b.key));
  return { entries, problems };
}
