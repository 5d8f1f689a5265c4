import { LifeboatError } from '../errors.js';
import type { Storage } from '../storage/index.js';
import { ManifestSchema, isManifestKey, keys, type Manifest } from './manifest.js';
import { mapLimit } from '../map-limit.js';

export interface CatalogListing {
  backups: Manifest[];
  /** Manifests that exist but cannot be read; reported, never silently dropped. */
  problems: string[];
}

export function parseManifest(raw: Buffer | string, where: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString());
  } catch {
    throw new LifeboatError('STORAGE_FAILED', `Unreadable manifest: not JSON: ${where}`, { subject: where });
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new LifeboatError('STORAGE_FAILED', `Unreadable manifest: ${first?.path.join('.')}: ${first?.message}: ${where}`, { subject: where });
  }
  return parsed.data;
}

/** Newest first: by start time, then backup id. */
export function compareNewestFirst(a: Manifest, b: Manifest): number {
  return b.startedAt.localeCompare(a.startedAt) || b.backupId.localeCompare(a.backupId);
}

/** Lists the committed backups of a database (manifests only), newest first. */
export async function listBackups(storage: Storage, database: string): Promise<CatalogListing> {
  const objects = await storage.list(keys.databasePrefix(database));
  const manifestKeys = objects.map((o) => o.key).filter(isManifestKey);
  const problems: string[] = [];
  const read = await mapLimit(manifestKeys, 16, async (key) => {
    try {
      return parseManifest(await storage.getBuffer(key), storage.describe(key));
    } catch (err) {
      problems.push((err as Error).message);
      return undefined;
    }
  });
  const backups = read.filter((m): m is Manifest => m !== undefined && m.database === database);
  backups.sort(compareNewestFirst);
  return { backups, problems };
}

/** Reads one committed backup's manifest, or undefined when it is not committed. */
export async function readManifest(storage: Storage, database: string, backupId: string): Promise<Manifest | undefined> {
  const key = keys.manifest(database, backupId);
  if (!(await storage.head(key))) return undefined;
  return parseManifest(await storage.getBuffer(key), storage.describe(key));
}

/** One backup and every storage target holding a committed copy of it. */
export interface BackupLocations {
  backupId: string;
  kind: Manifest['kind'];
  startedAt: string;
  bytes: number;
  sha256: string;
  /** Targets with a committed manifest for this backup, in the order given. */
  storages: string[];
  /** Targets whose copy has a different sha256 than the first one found (should never happen). */
  mismatched: string[];
}

/**
 * Where each backup of a database exists (3-2-1 copies): lists committed manifests on every given
 * target and merges them by backup id, newest first.
 */
export async function listBackupLocations(storages: Storage[], database: string): Promise<{ backups: BackupLocations[]; problems: string[] }> {
  const listings = await Promise.all(storages.map((s) => listBackups(s, database)));
  const byId = new Map<string, BackupLocations & { manifest: Manifest }>();
  listings.forEach((l, i) => {
    for (const m of l.backups) {
      const entry = byId.get(m.backupId);
      if (!entry) {
        byId.set(m.backupId, {
          backupId: m.backupId,
          kind: m.kind,
          startedAt: m.startedAt,
          bytes: m.artifact.bytes,
          sha256: m.artifact.sha256,
          storages: [storages[i]!.name],
          mismatched: [],
          manifest: m,
        });
      } else {
        entry.storages.push(storages[i]!.name);
        if (m.artifact.sha256 !== entry.sha256) entry.mismatched.push(storages[i]!.name);
      }
    }
  });
  const backups = [...byId.values()].sort((a, b) => compareNewestFirst(a.manifest, b.manifest)).map(({ manifest: _m, ...rest }) => rest);
  return { backups, problems: listings.flatMap((l) => l.problems) };
}
