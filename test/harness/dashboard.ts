import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './services.js';

/** One metric selector of a dashboard expression: `name{label="v",...}`. */
export interface Selector {
  expr: string;
  name: string;
  labels: string[];
}

interface Panel {
  title: string;
  targets?: Array<{ expr: string }>;
}

/** Every PromQL expression of deploy/grafana-dashboard.json (panel targets and variable queries). */
export function dashboardExpressions(): Array<{ where: string; expr: string }> {
  const dash = JSON.parse(readFileSync(path.join(repoRoot, 'deploy', 'grafana-dashboard.json'), 'utf8')) as {
    panels: Panel[];
    templating: { list: Array<{ name: string; query: { query: string } }> };
  };
  return [
    ...dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
    ...dash.templating.list.map((v) => ({ where: `variable $${v.name}`, expr: v.query.query })),
  ];
}

/** Metric selectors of an expression; identifiers followed by `{` or `(`-free positions that are metric names. */
export function selectors(expr: string): Selector[] {
  const out: Selector[] = [];
  for (const m of expr.matchAll(/\b((?:lifeboat|temporal)_[a-z0-9_]+)\b(\{([^}]*)\})?/g)) {
    const labels = [...(m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((l) => l[1]!);
    out.push({ expr, name: m[1]!, labels });
  }
  for (const m of expr.matchAll(/label_values\(\s*([a-z0-9_]+)\s*,\s*([a-z0-9_]+)\s*\)/g)) out.push({ expr, name: m[1]!, labels: [m[2]!] });
  return out;
}

/** Identifiers written as `name{...}` that are not Lifeboat's or the Temporal SDK's metrics. */
export function foreignSelectors(expr: string): string[] {
  return [...expr.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{/g)].map((m) => m[1]!).filter((n) => !/^(lifeboat|temporal)_/.test(n));
}
