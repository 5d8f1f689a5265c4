// Prometheus metrics. Fleet metrics (freshness, sizes, durations, RTO, counters) come from the
// catalog in storage, so a restarted worker, or any worker, reports the same truth; worker metrics
// count what this process did. A database whose catalog cannot be read has no fleet series (an
// absent series alerts; a stale value would lie) and `lifeboat_catalog_up 0`.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';
import type { AuditEntry } from '../audit/schema.js';
import type { Manifest } from '../catalog/manifest.js';
import { LIFEBOAT_VERSION } from '../version.js';
import type { DatabaseCatalog } from './catalog.js';
import type { HealthReport } from './health.js';

const KINDS = ['full', 'schema', 'data'] as const;

/** This process's own counters, shared by every worker it runs (the activity interceptor feeds them). */
export const workerRegistry = new Registry();
export const workerMetrics = {
  activities: new Counter({
    name: 'lifeboat_worker_activities_total',
    help: 'Activities this worker process ran, by type, database and outcome',
    labelNames: ['activity', 'database', 'outcome'],
    registers: [workerRegistry],
  }),
  activitySeconds: new Histogram({
    name: 'lifeboat_worker_activity_duration_seconds',
    help: 'Run time of activities in this worker process',
    labelNames: ['activity'],
    buckets: [0.1, 1, 10, 60, 300, 1800, 7200, 21600],
    registers: [workerRegistry],
  }),
  dumps: new Gauge({
    name: 'lifeboat_worker_dumps',
    help: 'Backup dumps of this worker process holding a dump slot (running) or waiting for one (worker.maxConcurrentDumps, perHostDumps)',
    labelNames: ['state'],
    registers: [workerRegistry],
  }),
};
collectDefaultMetrics({ register: workerRegistry, prefix: 'lifeboat_worker_' });
new Gauge({ name: 'lifeboat_build_info', help: 'Lifeboat version of this worker (always 1)', labelNames: ['version'], registers: [workerRegistry] }).set(
  { version: LIFEBOAT_VERSION },
  1,
);

function fleetMetrics(registers: Registry[]) {
  const gauge = (name: string, help: string, labelNames: string[]) => new Gauge({ name, help, labelNames, registers });
  const counter = (name: string, help: string, labelNames: string[]) => new Counter({ name, help, labelNames, registers });
  const dk = ['database', 'kind'];
  return {
    lastSuccess: gauge('lifeboat_backup_last_success_timestamp_seconds', 'Finish time of the newest committed backup', dk),
    duration: gauge('lifeboat_backup_duration_seconds', 'Run time of the newest committed backup', dk),
    size: gauge('lifeboat_backup_size_bytes', 'Size of the newest committed backup: stored (compressed artifact) or raw (dump)', [...dk, 'type']),
    count: gauge('lifeboat_backups', 'Committed backups in the catalog', dk),
    failures: counter('lifeboat_backup_failures_total', 'Failed backups recorded in the audit log', dk),
    verifySuccess: gauge('lifeboat_verify_last_success_timestamp_seconds', 'Time of the newest passed verification', dk),
    verifyRto: gauge('lifeboat_verify_restore_duration_seconds', 'Restore time of the newest passed verification (the measured RTO)', dk),
    retentionDeleted: counter('lifeboat_retention_deleted_total', 'Backups deleted by retention, from the audit log', dk),
    rpo: gauge('lifeboat_backup_rpo_seconds', 'RPO bound the newest backup is held to', ['database']),
    healthy: gauge('lifeboat_database_healthy', '1 when the database has no health problem', ['database', 'environment']),
    problems: gauge('lifeboat_database_problem', 'Current health problems (1 per problem kind)', ['database', 'problem']),
    walGaps: gauge('lifeboat_wal_archive_missing_segments', 'WAL segments missing from the archive (gaps), point-in-time recovery only', ['database']),
    walAge: gauge('lifeboat_wal_archive_newest_age_seconds', 'Age of the newest archived WAL segment', ['database']),
    walOk: gauge('lifeboat_wal_archive_ok', '1 when the WAL archive is complete and within its RPO', ['database']),
    catalogUp: gauge('lifeboat_catalog_up', '1 when the database catalog could be read from storage', ['database', 'storage']),
  };
}
type Fleet = ReturnType<typeof fleetMetrics>;

/** Metric names the worker exports (fleet, worker and Temporal SDK prefixes), for dashboards and tests. */
export function exportedMetricNames(m: LifeboatMetrics): string[] {
  return m.registry.getMetricsAsArray().map((x) => x.name);
}

function countAudit(entries: AuditEntry[], action: AuditEntry['action'], outcome: AuditEntry['outcome']): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of entries) {
    if (e.action !== action || e.outcome !== outcome) continue;
    const kind = e.target?.kind ?? 'full';
    out.set(kind, (out.get(kind) ?? 0) + 1);
  }
  return out;
}

function setCatalog(f: Fleet, c: DatabaseCatalog): void {
  const database = c.database;
  for (const kind of KINDS) {
    const of = c.backups.filter((b) => b.kind === kind);
    const newest: Manifest | undefined = of[0];
    const l: LabelValues<string> = { database, kind };
    if (of.length) f.count.set(l, of.length);
    if (newest) {
      f.lastSuccess.set(l, Date.parse(newest.finishedAt) / 1000);
      f.duration.set(l, newest.durationMs / 1000);
      f.size.set({ ...l, type: 'stored' }, newest.artifact.bytes);
      f.size.set({ ...l, type: 'raw' }, newest.rawBytes);
    }
    const v = c.latestPassed[kind];
    if (v) {
      f.verifySuccess.set(l, Date.parse(v.verifiedAt) / 1000);
      if (v.restoreDurationMs !== null) f.verifyRto.set(l, v.restoreDurationMs / 1000);
    }
  }
  if (c.walArchive) {
    f.walGaps.set(
      { database },
      c.walArchive.gaps.reduce((n, g) => n + g.missing, 0),
    );
    f.walOk.set({ database }, c.walArchive.ok ? 1 : 0);
    if (c.walArchive.newestAgeSeconds !== null) f.walAge.set({ database }, c.walArchive.newestAgeSeconds);
  }
  const failures = countAudit(c.audit, 'backup', 'failed');
  const deleted = countAudit(c.audit, 'retention-delete', 'succeeded');
  for (const kind of new Set(['full', ...failures.keys(), ...deleted.keys()])) {
    f.failures.inc({ database, kind }, failures.get(kind) ?? 0);
    f.retentionDeleted.inc({ database, kind }, deleted.get(kind) ?? 0);
  }
}

/** The worker's registry: fleet metrics set from the catalog on each update, plus worker metrics. */
export class LifeboatMetrics {
  readonly registry: Registry;
  private readonly fleetRegistry = new Registry();
  private readonly fleet: Fleet;
  private readonly sdkUp?: Gauge;

  /** `sdkMetrics`: the Temporal SDK's metrics are forwarded, and `lifeboat_sdk_metrics_up` says whether they were. */
  constructor(opts: { sdkMetrics?: boolean } = {}) {
    this.fleet = fleetMetrics([this.fleetRegistry]);
    if (opts.sdkMetrics)
      this.sdkUp = new Gauge({
        name: 'lifeboat_sdk_metrics_up',
        help: "1 when the Temporal SDK's own metrics could be read for this scrape",
        registers: [this.fleetRegistry],
      });
    this.registry = Registry.merge([this.fleetRegistry, workerRegistry]);
  }

  setSdkMetricsUp(up: boolean): void {
    this.sdkUp?.set(up ? 1 : 0);
  }

  /** Replaces every fleet series with what the catalogs and their health say now. */
  update(catalogs: DatabaseCatalog[], report: HealthReport): void {
    for (const m of Object.values(this.fleet)) m.reset();
    for (const c of catalogs) {
      this.fleet.catalogUp.set({ database: c.database, storage: c.storage }, c.error ? 0 : 1);
      if (!c.error) setCatalog(this.fleet, c);
    }
    for (const d of report.databases) {
      this.fleet.healthy.set({ database: d.database, environment: d.environment }, d.status === 'healthy' ? 1 : 0);
      this.fleet.rpo.set({ database: d.database }, d.bounds.rpoSeconds);
      for (const p of new Set(d.problems.map((x) => x.kind))) this.fleet.problems.set({ database: d.database, problem: p }, 1);
    }
  }

  /** The exposition text of every Lifeboat metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
