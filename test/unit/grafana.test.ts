import { LifeboatMetrics } from '../../src/observability/metrics.js';
import { dashboardExpressions, foreignSelectors, selectors } from '../harness/dashboard.js';

// The Temporal SDK's metrics (temporal_*) are checked against a real worker's /metrics in
// test/e2e/worker-observability.test.ts; here every lifeboat_* name and label must exist.
const registry = new LifeboatMetrics({ sdkMetrics: true }).registry;
const metrics = new Map(registry.getMetricsAsArray().map((m) => [m.name, m as unknown as { labelNames?: string[]; type?: string }]));

function exported(name: string): { labelNames?: string[] } | undefined {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return metrics.get(name) ?? (base !== name ? metrics.get(base) : undefined);
}

const expressions = dashboardExpressions();

test('the dashboard has panels for freshness, sizes, durations and the RTO trend', () => {
  const all = expressions.map((e) => e.expr).join('\n');
  for (const m of [
    'lifeboat_backup_last_success_timestamp_seconds',
    'lifeboat_backup_size_bytes',
    'lifeboat_backup_duration_seconds',
    'lifeboat_verify_restore_duration_seconds',
    'lifeboat_backup_rpo_seconds',
  ]) {
    expect(all).toContain(m);
  }
  expect(expressions.length).toBeGreaterThan(15);
});

test.each(expressions)('$where names only metrics and labels the worker exports', ({ expr }) => {
  const found = selectors(expr);
  expect(found.length).toBeGreaterThan(0);
  expect(foreignSelectors(expr)).toEqual([]);
  for (const s of found.filter((x) => x.name.startsWith('lifeboat_'))) {
    const metric = exported(s.name);
    expect({ metric: s.name, exported: metric !== undefined }).toEqual({ metric: s.name, exported: true });
    for (const label of s.labels) expect({ metric: s.name, label, known: metric!.labelNames?.includes(label) }).toEqual({ metric: s.name, label, known: true });
  }
});
