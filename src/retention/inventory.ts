// What one storage target holds for a database, read with a single listing: committed backups
// (manifests), verification records, and every other object (artifacts, leftovers).
import { compareNewestFirst, parseManifest } from '../catalog/catalog.js';
import { isManifestKey, isVerificationKey, keys, type Manifest } from '../catalog/manifest.js';
import type { Storage, StoredObject } from '../storage/index.js';
import type { RetentionCandidate, VerificationStatus } from './planner.js';
import { mapLimit } from '../map-limit.js';

export interface VerificationMark {
  key: string;
  outcome: 'passed' | 'failed';
  verifiedAt: string;
}

export interface TargetInventory {
  storage: string;
  /** Committed backups, newest first. */
  manifests: Manifest[];
  /** Backup ids whose manifest exists but cannot be read; never deleted, never counted. */
  unreadable: string[];
  problems: string[];
  /** Verification records by backup id. */
  verifications: Map<string, VerificationMark[]>;
  /** Every object under `<db>/backups/`. */
  objects: StoredObject[];
}

/** The backup id an object key belongs to (`<db>/backups/<id>/...`), if any. */
export function backupIdOf(database: string, key: string): string | undefined {
  const prefix = keys.databasePrefix(database);
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length);
  const slash = rest.indexOf('/');
  return slash > 0 ? rest.slice(0, slash) : undefined;
}

/**
 * Reads a verification record leniently: only `outcome` and `verifiedAt` matter here (records are
 * written by `verifyBackup` next to the manifest). Undefined when unreadable.
 */
export function parseVerificationMark(key: string, raw: Buffer | string): VerificationMark | undefined {
  try {
    const json = JSON.parse(raw.toString()) as { outcome?: unknown; verifiedAt?: unknown };
    if ((json.outcome === 'passed' || json.outcome === 'failed') && typeof json.verifiedAt === 'string') {
      return { key, outcome: json.outcome, verifiedAt: json.verifiedAt };
    }
  } catch {
    /* not JSON */
  }
  return undefined;
}

async function readMarks(storage: Storage, database: string, verificationKeys: string[], problems: string[]): Promise<Map<string, VerificationMark[]>> {
  const out = new Map<string, VerificationMark[]>();
  const marks = await mapLimit(verificationKeys, 16, async (key) => {
    try {
      const m = parseVerificationMark(key, await storage.getBuffer(key));
      if (!m) problems.push(`Unreadable verification record: no outcome/verifiedAt: ${storage.describe(key)}`);
      return m;
    } catch (err) {
      problems.push((err as Error).message);
      return undefined;
    }
  });
  for (const m of marks) {
    if (!m) continue;
    const id = backupIdOf(database, m.key)!;
    out.set(id, [...(out.get(id) ?? []), m]);
  }
  return out;
}

/** Lists a database's objects on one target once, then reads its manifests and verification records. */
export async function readInventory(storage: Storage, database: string): Promise<TargetInventory> {
  const objects = await storage.list(keys.databasePrefix(database));
  const problems: string[] = [];
  const unreadable: string[] = [];
  const manifestKeys = objects.map((o) => o.key).filter(isManifestKey);
  const read = await mapLimit(manifestKeys, 16, async (key) => {
    try {
      return parseManifest(await storage.getBuffer(key), storage.describe(key));
    } catch (err) {
      problems.push((err as Error).message);
      unreadable.push(backupIdOf(database, key)!);
      return undefined;
    }
  });
  const manifests = read.filter((m): m is Manifest => m !== undefined && m.database === database).sort(compareNewestFirst);
  const verifications = await readMarks(storage, database, objects.map((o) => o.key).filter(isVerificationKey), problems);
  return { storage: storage.name, manifests, unreadable: unreadable.sort(), problems, verifications, objects };
}

/** Only the verification records of a database on one target (for targets other than the one planned). */
export async function readVerificationMarks(storage: Storage, database: string): Promise<{ marks: Map<string, VerificationMark[]>; problems: string[] }> {
  const problems: string[] = [];
  const objects = await storage.list(keys.databasePrefix(database));
  const marks = await readMarks(storage, database, objects.map((o) => o.key).filter(isVerificationKey), problems);
  return { marks, problems };
}

/** Merges verification records from several targets (a backup verified on one is verified on all). */
export function mergeMarks(...maps: Array<Map<string, VerificationMark[]>>): Map<string, VerificationMark[]> {
  const out = new Map<string, VerificationMark[]>();
  for (const m of maps) for (const [id, list] of m) out.set(id, [...(out.get(id) ?? []), ...list]);
  return out;
}

/** The status of a backup from its newest verification record (by `verifiedAt`). */
export function verificationStatus(marks: VerificationMark[] | undefined): VerificationStatus {
  if (!marks || marks.length === 0) return 'unverified';
  const newest = [...marks].sort((a, b) => (Date.parse(b.verifiedAt) || 0) - (Date.parse(a.verifiedAt) || 0) || (a.key < b.key ? 1 : -1))[0]!;
  return newest.outcome === 'passed' ? 'verified' : 'corrupt';
}

/** Planner input for the committed backups of one target. */
export function candidatesOf(inv: TargetInventory, marks: Map<string, VerificationMark[]>): RetentionCandidate[] {
  return inv.manifests.map((m) => ({ backupId: m.backupId, kind: m.kind, startedAt: m.startedAt, status: verificationStatus(marks.get(m.backupId)) }));
}
