// Is the WAL archive of a database complete? Every segment from the oldest base backup's start
// segment to the newest archived one must be stored (record and data), and the newest segment
// must be younger than the RPO. Read from storage only.
import { getDatabase } from '../config/load.js';
import type { LifeboatConfig } from '../config/schema.js';
import { durationMs, formatDurationShort } from '../contracts/duration.js';
import type { Storage } from '../storage/index.js';
import { listBaseBackups } from './base-manifest.js';
import { walKeys } from './wal-archive.js';
import { DEFAULT_WAL_SEGMENT_BYTES, findGaps, parseSegment, type WalGap } from './wal-names.js';

/** The RPO the archive is held to when the database sets none: WAL is archived continuously. */
export const DEFAULT_ARCHIVE_RPO_MS = 3_600_000;

export interface ArchiveStatus {
  database: string;
  ok: boolean;
  checkedAt: string;
  segments: number;
  baseBackups: number;
  firstSegment: string | null;
  newestSegment: string | null;
  newestArchivedAt: string | null;
  newestAgeSeconds: number | null;
  rpoSeconds: number;
  gaps: WalGap[];
  /** Segments with a record but no data (a push that died midway and was not retried yet). */
  incomplete: string[];
  problems: string[];
}

export function archiveRpoMs(cfg: LifeboatConfig, database: string): number {
  const rpo = getDatabase(cfg, database).rpo;
  return rpo ? durationMs(rpo) : DEFAULT_ARCHIVE_RPO_MS;
}

/** Checks the archive; undefined when the database has neither base backups nor archived WAL (PITR unused). */
export async function checkArchive(storage: Storage, database: string, rpoMs: number, now = new Date()): Promise<ArchiveStatus | undefined> {
  const [objects, bases] = await Promise.all([storage.list(walKeys.prefix(database)), listBaseBackups(storage, database)]);
  if (objects.length === 0 && bases.length === 0) return undefined;
  const name = (key: string) => key.slice(walKeys.prefix(database).length);
  const records = new Set(objects.filter((o) => o.key.endsWith('.json')).map((o) => name(o.key).replace(/\.json$/, '')));
  const data = new Map(objects.filter((o) => !o.key.endsWith('.json')).map((o) => [name(o.key).replace(/\.zst(\.age|\.gpg)?$/, ''), o] as const));
  const segmentBytes = bases[0]?.server.walSegmentBytes ?? DEFAULT_WAL_SEGMENT_BYTES;
  const archived = [...data.keys()].filter((f) => records.has(f) && parseSegment(f, segmentBytes));
  const incomplete = [...records].filter((f) => !data.has(f) && parseSegment(f, segmentBytes));
  const oldestBase = bases[bases.length - 1];
  const fromIndex = oldestBase ? parseSegment(oldestBase.startSegment, segmentBytes)?.index : undefined;
  const gaps = findGaps(archived, { fromIndex, segmentBytes });
  const sorted = [...archived].sort((a, b) => parseSegment(a, segmentBytes)!.index - parseSegment(b, segmentBytes)!.index || a.localeCompare(b));
  const newest = sorted[sorted.length - 1];
  const newestAt = newest ? data.get(newest)?.lastModified : undefined;
  const ageMs = newestAt ? now.getTime() - newestAt.getTime() : undefined;
  const problems: string[] = [];
  if (bases.length === 0) problems.push(`WAL archive of ${database} has no base backup to start a recovery from`);
  for (const g of gaps) problems.push(`WAL archive of ${database} has a gap: ${g.missing} segment(s) missing from ${g.from} to ${g.to}`);
  if (!newest) problems.push(`WAL archive of ${database} is empty: is archive_command set to lifeboat wal-push?`);
  else if (ageMs !== undefined && ageMs > rpoMs) {
    problems.push(
      `WAL archive of ${database} is stale: newest segment ${newest} is ${formatDurationShort(ageMs)} old (RPO bound ${formatDurationShort(rpoMs)})`,
    );
  }
  return {
    database,
    ok: problems.length === 0,
    checkedAt: now.toISOString(),
    segments: archived.length,
    baseBackups: bases.length,
    firstSegment: sorted[0] ?? null,
    newestSegment: newest ?? null,
    newestArchivedAt: newestAt?.toISOString() ?? null,
    newestAgeSeconds: ageMs === undefined ? null : Math.max(0, Math.round(ageMs / 1000)),
    rpoSeconds: Math.round(rpoMs / 1000),
    gaps,
    incomplete,
    problems,
  };
}
