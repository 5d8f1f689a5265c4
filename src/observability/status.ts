// What `lifeboat status` and `lifeboat audit` print, from storage only (they work with Temporal
// down). The CLI renders the rows as a table (coloured on a TTY) or prints the report as JSON.
import type { LifeboatConfig } from '../config/schema.js';
import { formatDurationShort } from '../contracts/duration.js';
import type { AuditEntry } from '../audit/schema.js';
import { CatalogReader } from './catalog.js';
import { evaluateFleet, type HealthReport } from './health.js';

/** Reads every database's catalog now (no cache) and evaluates it. */
export async function readFleetHealth(cfg: LifeboatConfig, now = new Date()): Promise<HealthReport> {
  return evaluateFleet(cfg, await new CatalogReader(cfg, 0, () => now).fleet(), now);
}

/** Exit code of `lifeboat status`: 1 when the report is unhealthy (a production database is). */
export function statusExitCode(report: HealthReport): 0 | 1 {
  return report.httpStatus === 200 ? 0 : 1;
}

export const STATUS_HEADERS = ['database', 'env', 'status', 'newest backup', 'age / RPO', 'verification', 'size change', 'problems'];

const pct = (x: number) => `${x > 0 ? '+' : ''}${Math.round(x * 100)}%`;

/** One row per database; `healthy` tells the CLI how to colour it. */
export function statusRows(report: HealthReport): Array<{ cells: string[]; healthy: boolean }> {
  return report.databases.map((d) => {
    const b = d.backup;
    const v = d.verification;
    const full = d.sizes.find((s) => s.kind === 'full') ?? d.sizes[0];
    return {
      healthy: d.status === 'healthy',
      cells: [
        d.database,
        d.environment,
        d.status,
        b ? `${b.backupId} (${b.kind})` : '-',
        b
          ? `${formatDurationShort(b.ageSeconds * 1000)} / ${formatDurationShort(b.rpoSeconds * 1000)}`
          : `- / ${formatDurationShort(d.bounds.rpoSeconds * 1000)}`,
        v ? `${v.outcome} ${formatDurationShort(v.ageSeconds * 1000)} ago` : 'never',
        full ? `${pct(full.change)} (${full.kind})` : '-',
        d.problems.map((p) => p.kind).join(', ') || '-',
      ],
    };
  });
}

export const AUDIT_HEADERS = ['time', 'database', 'action', 'outcome', 'actor', 'target', 'workflow'];

/** One row per audit entry, oldest first as listed. */
export function auditRows(entries: AuditEntry[]): string[][] {
  return entries.map((e) => {
    const t = e.target;
    const target = t ? [t.database, t.backupId, t.storage, t.runbook && `${t.runbook}${t.step ? `/${t.step}` : ''}`].filter(Boolean).join(' ') : '';
    return [e.at, e.database, e.action, e.outcome, `${e.actor.name} (${e.actor.identity ?? e.actor.source})`, target || '-', e.workflow?.workflowId ?? '-'];
  });
}
