// GDPR purge: every copy of every backup of a database taken before a time, on every target,
// plus leftovers (artifacts without a manifest, unfinished uploads) from before that time.
import { keys } from '../catalog/manifest.js';
import { getDatabase } from '../config/load.js';
import type { LifeboatConfig } from '../config/schema.js';
import { openStorage } from '../storage/index.js';
import type { PurgeAuditRecord, PurgeTargetPlan } from '../contracts/index.js';
import { readInventory } from './inventory.js';
import { retentionTargets } from './policy.js';
import { deleteBackup, findOrphanObjects, retainedUntil, uploadIsStale } from './prune.js';

/** Who may approve a purge: `retention.purgeApprovers` of the database, else the global `approvers`. */
export function purgeApprovers(cfg: LifeboatConfig, database: string): string[] {
  return getDatabase(cfg, database).retention?.purgeApprovers ?? cfg.approvers ?? [];
}

/** What a purge of backups started before `before` deletes on each target. Changes nothing. */
export async function planPurge(cfg: LifeboatConfig, database: string, before: string): Promise<PurgeTargetPlan[]> {
  const cutoff = Date.parse(before);
  const out: PurgeTargetPlan[] = [];
  for (const name of retentionTargets(cfg, database)) {
    const storage = openStorage(cfg, name);
    const inv = await readInventory(storage, database);
    const backups = inv.manifests.filter((m) => Date.parse(m.startedAt) < cutoff);
    const remaining = inv.manifests.length - backups.length;
    const problems = [...inv.problems];
    for (const m of inv.manifests)
      if (!Number.isFinite(Date.parse(m.startedAt))) problems.push(`backup ${m.backupId} has an unreadable start time; not purged`);
    const leftovers = findOrphanObjects(inv, database, cutoff);
    const uploads = (await storage.listIncompleteUploads(keys.databasePrefix(database))).filter((u) => uploadIsStale(database, u, cutoff));
    out.push({
      storage: name,
      backups: backups.map((m) => ({ backupId: m.backupId, kind: m.kind, startedAt: m.startedAt, bytes: m.artifact.bytes })),
      leftovers: leftovers.length,
      uploads: uploads.length,
      remaining,
      problems,
    });
  }
  return out;
}

export interface PurgeOutcome {
  storage: string;
  deleted: string[];
  leftovers: number;
  uploads: number;
  bytes: number;
  problems: string[];
}

/**
 * Deletes, on one target, every backup started before `before` (re-listed now, so a copy that
 * arrived since the plan is purged too), then leftovers and unfinished uploads from before it.
 */
export async function executePurge(
  cfg: LifeboatConfig,
  database: string,
  before: string,
  storageName: string,
  onProgress?: (done: number) => void,
): Promise<PurgeOutcome> {
  const cutoff = Date.parse(before);
  const storage = openStorage(cfg, storageName);
  const inv = await readInventory(storage, database);
  const out: PurgeOutcome = { storage: storageName, deleted: [], leftovers: 0, uploads: 0, bytes: 0, problems: [...inv.problems] };
  for (const m of inv.manifests) {
    if (!(Date.parse(m.startedAt) < cutoff)) continue;
    const { bytes, retainedUntil: until } = await deleteBackup(storage, database, m.backupId);
    if (until) {
      out.problems.push(`backup ${m.backupId} is retained until ${until} by object lock; not purged`);
      continue;
    }
    out.deleted.push(m.backupId);
    out.bytes += bytes;
    onProgress?.(out.deleted.length);
  }
  for (const o of findOrphanObjects(inv, database, cutoff)) {
    if (inv.manifests.some((m) => out.deleted.includes(m.backupId) && o.key.startsWith(keys.backupPrefix(database, m.backupId)))) continue;
    const until = await retainedUntil(storage, [o]);
    if (until) {
      out.problems.push(`${storage.describe(o.key)} is retained until ${until.toISOString()} by object lock; not purged`);
      continue;
    }
    await storage.delete(o.key);
    out.leftovers++;
    out.bytes += o.bytes;
  }
  for (const u of await storage.listIncompleteUploads(keys.databasePrefix(database))) {
    if (!uploadIsStale(database, u, cutoff)) continue;
    await storage.abortIncompleteUpload(u);
    out.uploads++;
  }
  for (const id of inv.unreadable) out.problems.push(`backup ${id} has an unreadable manifest; not purged`);
  return out;
}

/** `<db>/audit/<time>-purge.json` */
export function auditKey(database: string, compactTime: string): string {
  return `${database}/audit/${compactTime}-purge.json`;
}

/** Writes (or rewrites, as the purge progresses) the audit record on every target of the database. */
export async function writePurgeAudit(cfg: LifeboatConfig, record: PurgeAuditRecord, compactTime: string): Promise<string[]> {
  const written: string[] = [];
  for (const name of retentionTargets(cfg, record.database)) {
    const storage = openStorage(cfg, name);
    const key = auditKey(record.database, compactTime);
    await storage.put(key, `${JSON.stringify(record, null, 2)}\n`);
    written.push(storage.describe(key));
  }
  return written;
}
