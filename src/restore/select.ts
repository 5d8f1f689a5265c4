import type { LifeboatConfig } from '../config/schema.js';
import { databaseStorageNames, getDatabase } from '../config/load.js';
import { LifeboatError } from '../errors.js';
import { engineFor } from '../engines/index.js';
import { compareNewestFirst, listBackups, readManifest } from '../catalog/catalog.js';
import type { Manifest } from '../catalog/manifest.js';
import { openStorage, type Storage } from '../storage/index.js';
import type { BackupKind, BackupSelector, BackupSummary, RestoreMode } from '../contracts/index.js';
import { newestApplicable, verificationKeys } from './verification.js';

/** Backup kinds that hold what a restore mode needs. */
export function compatibleKinds(mode: RestoreMode): BackupKind[] {
  if (mode === 'schema') return ['full', 'schema'];
  if (mode === 'data') return ['full', 'data'];
  return ['full'];
}

/**
 * Picks a backup among committed manifests (newest first) for a selector other than an id.
 * `verified` tells whether a backup's newest verification passed (only asked for `latest-verified`).
 */
export async function pickBackup(
  backups: Manifest[],
  selector: Exclude<BackupSelector, string> | 'latest' | 'latest-verified',
  mode: RestoreMode,
  verified: (m: Manifest) => Promise<boolean>,
): Promise<Manifest | undefined> {
  const kinds = compatibleKinds(mode);
  const candidates = backups.filter((m) => kinds.includes(m.kind));
  if (selector === 'latest') return candidates[0];
  if (selector === 'latest-verified') {
    for (const m of candidates) if (await verified(m)) return m;
    return undefined;
  }
  const before = Date.parse(selector.before);
  return candidates.find((m) => Date.parse(m.startedAt) <= before);
}

export function summarize(m: Manifest, storage: Storage): BackupSummary {
  return {
    database: m.database,
    backupId: m.backupId,
    kind: m.kind,
    startedAt: m.startedAt,
    storage: storage.name,
    location: storage.describe(m.artifact.key),
    bytes: m.artifact.bytes,
    rawBytes: m.rawBytes,
    sha256: m.artifact.sha256,
    compression: m.artifact.compression.codec,
    tables: m.rowCounts ? Object.keys(m.rowCounts.tables).length : null,
  };
}

export interface SelectedBackup {
  manifest: Manifest;
  storage: Storage;
}

function checkUsable(m: Manifest, mode: RestoreMode, action: string, database: string): void {
  const engine = engineFor(m.engine, `${action} of ${database} backup ${m.backupId}`, database);
  if (!engine.formats.includes(m.format)) {
    throw new LifeboatError(
      'UNSUPPORTED',
      `${action} of ${database} failed: backup ${m.backupId} is a ${m.format} artifact, which the ${engine.name} engine does not restore (it restores ${engine.formats.join(', ')})`,
      { subject: database },
    );
  }
  if (!compatibleKinds(mode).includes(m.kind)) {
    const hint = m.kind === 'schema' ? 'use mode "schema"' : 'use mode "data"';
    throw new LifeboatError(
      'INVALID_INPUT',
      `${action} of ${database} refused: backup ${m.backupId} is a ${m.kind} backup and cannot be restored with mode "${mode}" (${hint})`,
      { subject: database },
    );
  }
}

/** The backup a selector names on one target, or undefined; unreadable manifests go to `problems`. */
async function pickOn(storage: Storage, database: string, selector: BackupSelector, mode: RestoreMode, problems: string[]): Promise<Manifest | undefined> {
  if (typeof selector === 'string' && selector !== 'latest' && selector !== 'latest-verified') return readManifest(storage, database, selector);
  const { backups, problems: unreadable } = await listBackups(storage, database);
  problems.push(...unreadable);
  let verifications: Map<string, string[]> | undefined;
  return pickBackup(backups, selector, mode, async (m) => {
    verifications ??= await verificationKeys(storage, database);
    // Only records that vouch for this target's bytes count (they are copied with the backup).
    return (await newestApplicable(storage, verifications.get(m.backupId) ?? [], m))?.outcome === 'passed';
  });
}

/**
 * Finds the committed backup a selector names, reading manifests only. Every storage target of the
 * database is asked and the newest match wins (the first target on a tie), so a restore works with
 * any subset of the targets reachable: a lost or emptied primary is only a problem in the message.
 */
export async function selectBackup(
  cfg: LifeboatConfig,
  database: string,
  selector: BackupSelector,
  mode: RestoreMode,
  action = 'Restore',
): Promise<SelectedBackup> {
  getDatabase(cfg, database);
  const problems: string[] = [];
  let best: SelectedBackup | undefined;
  for (const name of databaseStorageNames(cfg, database)) {
    try {
      const storage = openStorage(cfg, name);
      const manifest = await pickOn(storage, database, selector, mode, problems);
      if (manifest && (!best || compareNewestFirst(manifest, best.manifest) < 0)) best = { manifest, storage };
      // An id names one backup: the first target holding it is as good as any.
      if (best && typeof selector === 'string' && selector !== 'latest' && selector !== 'latest-verified') break;
    } catch (err) {
      if (err instanceof LifeboatError && err.code !== 'STORAGE_FAILED') throw err;
      problems.push((err as Error).message);
    }
  }
  if (best) {
    checkUsable(best.manifest, mode, action, database);
    return best;
  }
  const kinds = compatibleKinds(mode).join(' or ');
  const where = databaseStorageNames(cfg, database).join(', ');
  const what =
    typeof selector === 'object'
      ? `no committed ${kinds} backup started at or before ${selector.before} in ${where}`
      : selector === 'latest'
        ? `no committed ${kinds} backup in ${where}`
        : selector === 'latest-verified'
          ? `no committed ${kinds} backup whose newest verification passed in ${where}`
          : `backup ${selector} not found: no committed manifest in ${where}`;
  throw new LifeboatError('BACKUP_NOT_FOUND', `${action} of ${database} failed: ${what}${problems.length ? ` (${problems.join('; ')})` : ''}`, {
    subject: database,
  });
}
