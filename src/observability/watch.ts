// One check of a database's dead-man's switch: its catalog against its bounds, as the incidents
// a watch opens (no fresh committed backup, no recent passing verification, unreadable catalog).
import { databaseStorageNames, getDatabase } from '../config/load.js';
import type { LifeboatConfig } from '../config/schema.js';
import { WATCHED_PROBLEMS, durationMs, formatDurationShort, type WatchCheck, type WatchProblem, type WatchedProblem } from '../contracts/index.js';
import { CatalogReader } from './catalog.js';
import { WATCH_DEFAULTS } from './config.js';
import { evaluateDatabase, healthBounds, type DatabaseHealth } from './health.js';

/** The opening time health gives an incident with no start of its own (nothing ever committed). */
const NEVER = new Date(0).toISOString();
const watched = (kind: string): kind is WatchedProblem => (WATCHED_PROBLEMS as readonly string[]).includes(kind);

function describe(h: DatabaseHealth): string {
  const b = h.backup
    ? `newest ${h.backup.kind} backup ${formatDurationShort(h.backup.ageSeconds * 1000)} old (bound ${formatDurationShort(h.backup.rpoSeconds * 1000)})`
    : 'no committed backup';
  const v = h.verification ? `; last verification ${h.verification.outcome} ${formatDurationShort(h.verification.ageSeconds * 1000)} ago` : '';
  return `${b}${v}`;
}

/**
 * Checks one database from its primary storage target's catalog; `removed` when it is no longer
 * configured. A database that never had a backup is stale one RPO bound after `watchingSince`
 * (the watch's start), not at once: a new database gets the time its first backup takes.
 */
export async function checkWatch(cfg: LifeboatConfig, database: string, watchingSince: string, now = new Date()): Promise<WatchCheck> {
  const checkedAt = now.toISOString();
  if (!cfg.databases[database]) return { removed: true, checkedAt, problems: [], everyMs: 0, summary: `${database} is no longer configured` };
  const db = getDatabase(cfg, database);
  const catalog = await new CatalogReader(cfg, 0, () => now).read(database, databaseStorageNames(cfg, database)[0]!);
  const bounds = healthBounds(cfg, database);
  const health = evaluateDatabase(catalog, bounds, db.environment, now);
  const firstDue = new Date(Date.parse(watchingSince) + bounds.rpoMs).toISOString();
  const problems: WatchProblem[] = health.problems
    .filter((p) => watched(p.kind))
    .map((p) => ({ ...p, since: p.since === NEVER ? firstDue : p.since }))
    .filter((p) => Date.parse(p.since) <= now.getTime())
    .map((p) => ({ kind: p.kind as WatchedProblem, since: p.since, message: p.message.slice(0, 300), ...(p.backupId ? { backupId: p.backupId } : {}) }));
  return { checkedAt, problems, everyMs: durationMs((db.watch ?? WATCH_DEFAULTS).every), summary: describe(health) };
}
