// Applying retention to storage: crash-safe deletion of backups and the orphan sweep.
import { isVerificationKey, keys } from '../catalog/manifest.js';
import { isArtifactObject } from '../catalog/artifact-files.js';
import type { LifeboatConfig } from '../config/schema.js';
import { LifeboatError } from '../errors.js';
import { openStorage, type Storage, type StoredObject } from '../storage/index.js';
import { backupIdOf, candidatesOf, mergeMarks, readInventory, type TargetInventory } from './inventory.js';
import { planRetention, type RetentionPlan } from './planner.js';
import { describePolicy, retentionPolicies, retentionTargets } from './policy.js';

/** The latest Object Lock retain-until date still ahead of `now` among `objects`, if any. */
export async function retainedUntil(storage: Storage, objects: StoredObject[], now = Date.now()): Promise<Date | undefined> {
  let latest: Date | undefined;
  for (const o of objects) {
    const until = (await storage.head(o.key))?.retainUntil;
    if (until && until.getTime() > now && (!latest || until > latest)) latest = until;
  }
  return latest;
}

/** Splits objects into those that can be deleted now and those Object Lock still retains. */
async function partitionRetained(storage: Storage, objects: StoredObject[], now: number): Promise<{ free: StoredObject[]; retained: number }> {
  const free: StoredObject[] = [];
  for (const o of objects) if (!(await retainedUntil(storage, [o], now))) free.push(o);
  return { free, retained: objects.length - free.length };
}

/**
 * Deletes one backup in an order that is safe to interrupt: the manifest first (from that moment
 * the backup no longer exists for listing, restore and retention), then its artifacts and
 * verification records, then any unfinished upload under it. An interrupted deletion leaves only
 * objects without a manifest, which the orphan sweep removes; never a manifest naming nothing.
 * A backup any of whose objects Object Lock still retains is left whole: `retainedUntil` says
 * until when (the latest date among its objects).
 */
export async function deleteBackup(
  storage: Storage,
  database: string,
  backupId: string,
  now = Date.now(),
): Promise<{ objects: number; bytes: number; retainedUntil?: string }> {
  const prefix = keys.backupPrefix(database, backupId);
  const locked = await retainedUntil(storage, await storage.list(prefix), now);
  if (locked) return { objects: 0, bytes: 0, retainedUntil: locked.toISOString() };
  await storage.delete(keys.manifest(database, backupId));
  let objects = 1;
  let bytes = 0;
  for (const o of await storage.list(prefix)) {
    await storage.delete(o.key);
    objects++;
    bytes += o.bytes;
  }
  for (const u of await storage.listIncompleteUploads(prefix)) await storage.abortIncompleteUpload(u);
  return { objects, bytes };
}

/** One storage target's retention plan, with what it is based on. */
export interface TargetPlan {
  storage: string;
  /** The resolved policy per kind, in words. */
  policies: Record<string, string>;
  /** The plan without its id lists (they are the decisions again): it travels through Temporal. */
  plan: Omit<RetentionPlan, 'keep' | 'delete'>;
  /** Stored bytes of the backups the plan deletes. */
  bytesToFree: number;
  /** Manifests or verification records that could not be read (never deleted, never counted). */
  problems: string[];
}

function planFor(cfg: LifeboatConfig, database: string, inv: TargetInventory, marks: TargetInventory['verifications'], now: number): TargetPlan {
  const policies = retentionPolicies(cfg, database, inv.storage);
  const { keep: _keep, delete: doomedIds, ...plan } = planRetention({ backups: candidatesOf(inv, marks), policies, now });
  const doomed = new Set(doomedIds);
  const bytesToFree = inv.manifests.filter((m) => doomed.has(m.backupId)).reduce((n, m) => n + m.artifact.bytes, 0);
  return {
    storage: inv.storage,
    policies: Object.fromEntries(Object.entries(policies).map(([k, p]) => [k, describePolicy(p)])),
    plan,
    bytesToFree,
    problems: inv.problems,
  };
}

/**
 * Plans retention for every storage target of a database (or only `only`). Verification records
 * count from every target: a backup verified from its primary copy is verified on each copy.
 */
export async function planTargets(
  cfg: LifeboatConfig,
  database: string,
  now: number,
  only?: string,
): Promise<{ plans: TargetPlan[]; inventories: TargetInventory[] }> {
  const targets = retentionTargets(cfg, database);
  if (only && !targets.includes(only)) {
    throw new LifeboatError('UNKNOWN_STORAGE', `Unknown storage target "${only}" for ${database}: its targets are ${targets.join(', ')}`, { subject: only });
  }
  const inventories = await Promise.all(targets.map((t) => readInventory(openStorage(cfg, t), database)));
  const marks = mergeMarks(...inventories.map((i) => i.verifications));
  const plans = inventories.filter((i) => !only || i.storage === only).map((inv) => planFor(cfg, database, inv, marks, now));
  return { plans, inventories };
}

export interface PruneOutcome {
  storage: string;
  deleted: Array<{ backupId: string; bytes: number }>;
  /** Planned deletions a fresh plan no longer agrees with, or that Object Lock retains; left alone. */
  skipped: Array<{ backupId: string; reason: string; retainedUntil?: string }>;
}

/**
 * Deletes the given backups from one target, but only those a fresh plan (re-read now) still
 * deletes: a backup verified or committed since the plan can only make retention keep more.
 */
export async function pruneTarget(
  cfg: LifeboatConfig,
  database: string,
  storageName: string,
  backupIds: string[],
  onProgress?: (done: number) => void,
): Promise<PruneOutcome> {
  const { plans, inventories } = await planTargets(cfg, database, Date.now(), storageName);
  const still = new Set(plans[0]?.plan.kinds.flatMap((k) => k.decisions.filter((d) => !d.keep).map((d) => d.backupId)) ?? []);
  const inv = inventories.find((i) => i.storage === storageName);
  const committed = new Set([...(inv?.manifests.map((m) => m.backupId) ?? []), ...(inv?.unreadable ?? [])]);
  const storage = openStorage(cfg, storageName);
  const out: PruneOutcome = { storage: storageName, deleted: [], skipped: [] };
  for (const id of backupIds) {
    // Gone already (an earlier attempt got this far): finish its deletion, idempotently.
    if (!committed.has(id)) still.add(id);
    if (!still.has(id)) {
      out.skipped.push({ backupId: id, reason: 'kept by a fresh plan' });
      continue;
    }
    const { bytes, retainedUntil: until } = await deleteBackup(storage, database, id);
    if (until) out.skipped.push({ backupId: id, reason: `retained until ${until} (object lock)`, retainedUntil: until });
    else out.deleted.push({ backupId: id, bytes });
    onProgress?.(out.deleted.length + out.skipped.length);
  }
  return out;
}

export interface OrphanReport {
  storage: string;
  /** Objects without a committed manifest (or stray attempts beside one), older than the grace period. */
  objects: Array<{ key: string; bytes: number; lastModified: string }>;
  /** Unfinished multipart uploads (partial files) older than the grace period. */
  uploads: Array<{ key: string; initiated: string }>;
  /** Orphan objects that Object Lock still retains (left for a later sweep). */
  retained: number;
}

function olderThan(o: StoredObject, cutoff: number): boolean {
  return o.lastModified !== undefined && o.lastModified.getTime() < cutoff;
}

/**
 * Objects that belong to no committed backup and are older than `cutoff`: everything under a
 * backup id without a manifest, and, beside a committed manifest, artifacts of other attempts.
 * Backups whose manifest is unreadable are left alone. Pure.
 */
export function findOrphanObjects(inv: TargetInventory, database: string, cutoff: number): StoredObject[] {
  const committed = new Map(inv.manifests.map((m) => [m.backupId, m]));
  const withManifest = new Set(inv.objects.filter((o) => o.key.endsWith('/manifest.json')).map((o) => backupIdOf(database, o.key)));
  const out: StoredObject[] = [];
  for (const o of inv.objects) {
    const id = backupIdOf(database, o.key);
    if (!id || !olderThan(o, cutoff)) continue;
    if (!withManifest.has(id)) {
      out.push(o);
      continue;
    }
    const m = committed.get(id);
    if (!m || isArtifactObject(m.artifact, o.key) || o.key === keys.manifest(database, id) || isVerificationKey(o.key)) continue;
    const name = o.key.slice(keys.backupPrefix(database, id).length);
    if (name.startsWith(`${id}.`)) out.push(o); // an artifact of another attempt
  }
  return out;
}

/** `20261123T020000Z-full-1a2b3c4d` -> the time in its name, if it has one. */
function idTime(backupId: string | undefined): number | undefined {
  const m = backupId && /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(backupId);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : undefined;
}

/**
 * An unfinished upload is stale when it was initiated before `cutoff` and, for a Lifeboat backup
 * id (which starts with its start time), that backup also started before it: some S3-compatible
 * servers (moto) report a fixed, ancient initiation time, which alone would abort running uploads.
 */
export function uploadIsStale(database: string, u: { key: string; initiated?: Date }, cutoff: number): boolean {
  if (!u.initiated || u.initiated.getTime() >= cutoff) return false;
  const started = idTime(backupIdOf(database, u.key));
  return started === undefined || started < cutoff;
}

/** Finds (and unless `dryRun`, removes) orphan objects and stale unfinished uploads on one target. */
export async function sweepOrphans(
  storage: Storage,
  database: string,
  opts: { now: number; graceMs: number; dryRun: boolean; inventory?: TargetInventory },
): Promise<OrphanReport> {
  const inv = opts.inventory ?? (await readInventory(storage, database));
  const cutoff = opts.now - opts.graceMs;
  const { free: objects, retained } = await partitionRetained(storage, findOrphanObjects(inv, database, cutoff), opts.now);
  const uploads = (await storage.listIncompleteUploads(keys.databasePrefix(database))).filter((u) => uploadIsStale(database, u, cutoff));
  if (!opts.dryRun) {
    for (const o of objects) await storage.delete(o.key);
    for (const u of uploads) await storage.abortIncompleteUpload(u);
  }
  return {
    storage: storage.name,
    objects: objects.map((o) => ({ key: o.key, bytes: o.bytes, lastModified: o.lastModified!.toISOString() })),
    uploads: uploads.map((u) => ({ key: u.key, initiated: u.initiated!.toISOString() })),
    retained,
  };
}
