// The benchmark's table and JSON: medians, MB/s of dump bytes, ratios, CPU seconds, breakdown.
import type { Breakdown, RestoreBreakdown } from './bench-breakdown.js';
import { median } from './bench-measure.js';
import type { DatasetResult } from './bench-run.js';

export interface ContenderSummary {
  name: string;
  kind: 'backup' | 'restore';
  medianMs: number;
  runsMs: number[];
  dumpMBps: number;
  ratioToRaw: number;
  ratioToStock?: number;
  cpuSeconds: Record<string, number>;
}

export interface DatasetSummary {
  dataset: string;
  databaseBytes: number;
  dumpBytes: number;
  storedBytes: number;
  compressedRatio: number;
  workerPeakRssMiB: number;
  contenders: ContenderSummary[];
  breakdownMedianMs: Record<keyof Breakdown, number>;
  /** Of the streamed restore; absent with --backups-only. */
  restoreBreakdownMedianMs?: Record<keyof RestoreBreakdown, number>;
}

function medians<T extends object>(rows: T[]): Record<keyof T, number> {
  const keys = Object.keys(rows[0] ?? {}) as Array<keyof T>;
  return Object.fromEntries(keys.map((k) => [k, Math.round(median(rows.map((b) => b[k] as number)))])) as Record<keyof T, number>;
}

function medianCpu(runs: Array<Record<string, number>>): Record<string, number> {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(keys.map((k) => [k, Number(median(runs.map((r) => r[k] ?? 0)).toFixed(2))]));
}

export function summarize(r: DatasetResult): DatasetSummary {
  const med = r.contenders.map((c) => median(c.runs.map((m) => m.wallMs)));
  const rawBackup = med[0]!;
  const stock = med[1]!;
  const rawRestore = med[r.contenders.findIndex((c) => c.kind === 'restore')]!;
  const contenders = r.contenders.map((c, i) => ({
    name: c.name,
    kind: c.kind,
    medianMs: Math.round(med[i]!),
    runsMs: c.runs.map((m) => Math.round(m.wallMs)),
    dumpMBps: Number((r.rawBytes / 1e6 / (med[i]! / 1000)).toFixed(1)),
    ratioToRaw: Number((med[i]! / (c.kind === 'backup' ? rawBackup : rawRestore)).toFixed(3)),
    ...(c.kind === 'backup' ? { ratioToStock: Number((med[i]! / stock).toFixed(3)) } : {}),
    cpuSeconds: medianCpu(c.runs.map((m) => m.cpu)),
  }));
  return {
    dataset: r.dataset.label,
    databaseBytes: r.dataset.bytes,
    dumpBytes: r.rawBytes,
    storedBytes: r.storedBytes,
    compressedRatio: Number((r.rawBytes / Math.max(1, r.storedBytes)).toFixed(2)),
    workerPeakRssMiB: r.workerPeakRssMiB,
    contenders,
    breakdownMedianMs: medians(r.breakdowns),
    ...(r.restoreBreakdowns.length ? { restoreBreakdownMedianMs: medians(r.restoreBreakdowns) } : {}),
  };
}

const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

/** One table per dataset. */
export function formatSummary(s: DatasetSummary): string {
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;
  const lines = [
    `${s.dataset}: database ${mib(s.databaseBytes)}, dump ${mib(s.dumpBytes)}, stored ${mib(s.storedBytes)} (x${s.compressedRatio}), worker peak RSS ${s.workerPeakRssMiB} MiB`,
    `  ${pad('contender', 58)} ${lpad('median', 8)} ${lpad('MB/s', 7)} ${lpad('x raw', 7)} ${lpad('x stock', 8)}  CPU s (median)`,
  ];
  for (const c of s.contenders) {
    const cpu = Object.entries(c.cpuSeconds)
      .filter(([, v]) => v >= 0.05)
      .map(([k, v]) => `${k} ${v.toFixed(1)}`)
      .join(', ');
    lines.push(
      `  ${pad(c.name, 58)} ${lpad(`${(c.medianMs / 1000).toFixed(2)} s`, 8)} ${lpad(c.dumpMBps.toFixed(0), 7)} ${lpad(c.ratioToRaw.toFixed(2), 7)} ${lpad(c.ratioToStock?.toFixed(2) ?? '', 8)}  ${cpu}`,
    );
  }
  const b = s.breakdownMedianMs;
  lines.push(
    `  lifeboat backup breakdown (median ms): start workflow ${b.startWorkflowMs}, dispatch ${b.dispatchMs}, dump start ${b.dumpStartMs}, streaming ${b.streamingMs}, ` +
      `row counts ${b.rowCountsMs}, upload completion ${b.uploadCompletionMs}, manifest commit ${b.manifestCommitMs}, after activity ${b.afterActivityMs}, --wait notice ${b.noticeMs}`,
  );
  const rb = s.restoreBreakdownMedianMs;
  if (rb) {
    lines.push(
      `  lifeboat restore breakdown (median ms): start workflow ${rb.startWorkflowMs}, inspection and audit ${rb.workflowMs}, ` +
        `checks, create database and row counts ${rb.aroundDataMs}, data back (download to pg_restore's end) ${rb.dataBackMs}, --wait notice ${rb.noticeMs}`,
    );
  }
  return lines.join('\n');
}
