// Retention of base backups and WAL: keep the newest `keepBase` base backups (at least one), and
// every WAL file a kept base backup needs: segments from the oldest kept backup's start segment on,
// every timeline history file, and the `.backup` files of kept backups. Planning is pure.
import type { Storage } from '../storage/index.js';
import { baseKeys, listBaseBackups, type BaseManifest } from './base-manifest.js';
import { walKeys } from './wal-archive.js';
import { DEFAULT_WAL_SEGMENT_BYTES, isHistoryFile, parseSegment } from './wal-names.js';

export interface PitrRetentionPlan {
  keepBase: string[];
  deleteBase: string[];
  /** WAL file names (`%f`) to delete, records and data. */
  deleteWal: string[];
  /** The first segment index kept: nothing at or after it is deleted. */
  keepFromIndex: number | null;
}

type Base = Pick<BaseManifest, 'backupId' | 'consistentAt' | 'startSegment'> & { server: { walSegmentBytes: number } };

/** Which base backups and WAL files to delete when keeping the newest `keepBase` base backups. */
export function planPitrRetention(bases: Base[], walFiles: string[], keepBase: number): PitrRetentionPlan {
  const sorted = [...bases].sort((a, b) => b.consistentAt.localeCompare(a.consistentAt) || b.backupId.localeCompare(a.backupId));
  const kept = sorted.slice(0, Math.max(1, keepBase));
  const deleted = sorted.slice(kept.length);
  if (kept.length === 0) return { keepBase: [], deleteBase: [], deleteWal: [], keepFromIndex: null };
  const segmentBytes = kept[0]!.server.walSegmentBytes || DEFAULT_WAL_SEGMENT_BYTES;
  const keepFromIndex = Math.min(...kept.map((b) => parseSegment(b.startSegment, segmentBytes)?.index ?? 0));
  const deleteWal = walFiles.filter((f) => {
    if (isHistoryFile(f)) return false;
    const index = parseSegment(f.slice(0, 24), segmentBytes)?.index;
    return index !== undefined && index < keepFromIndex;
  });
  return { keepBase: kept.map((b) => b.backupId), deleteBase: deleted.map((b) => b.backupId), deleteWal, keepFromIndex };
}

/** Applies {@link planPitrRetention} on storage: base backups manifest first, then WAL records after their data. */
export async function applyPitrRetention(
  storage: Storage,
  database: string,
  keepBase: number,
  dryRun: boolean,
): Promise<PitrRetentionPlan & { dryRun: boolean }> {
  const bases = await listBaseBackups(storage, database);
  const prefix = walKeys.prefix(database);
  const objects = await storage.list(prefix);
  const files = [...new Set(objects.map((o) => o.key.slice(prefix.length).replace(/\.(json|zst(\.age|\.gpg)?)$/, '')))];
  const plan = planPitrRetention(bases, files, keepBase);
  if (dryRun) return { ...plan, dryRun };
  for (const id of plan.deleteBase) {
    await storage.delete(baseKeys.manifest(database, id));
    for (const o of await storage.list(baseKeys.backupPrefix(database, id))) await storage.delete(o.key);
  }
  const doomed = new Set(plan.deleteWal);
  const byFile = (o: { key: string }) => o.key.slice(prefix.length).replace(/\.(json|zst(\.age|\.gpg)?)$/, '');
  for (const o of objects.filter((x) => doomed.has(byFile(x)) && !x.key.endsWith('.json'))) await storage.delete(o.key);
  for (const o of objects.filter((x) => doomed.has(byFile(x)) && x.key.endsWith('.json'))) await storage.delete(o.key);
  return { ...plan, dryRun };
}
