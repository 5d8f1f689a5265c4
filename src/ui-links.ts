import type { LifeboatConfig } from './config/schema.js';

/** Base URL of the Temporal Web UI: `temporal.uiUrl`, else the dev server's (gRPC port + 1000 on loopback). */
export function uiBaseUrl(cfg: LifeboatConfig): string | undefined {
  if (cfg.temporal.uiUrl) return cfg.temporal.uiUrl.replace(/\/+$/, '');
  const local = /^(127\.0\.0\.1|localhost|\[::1\]):(\d+)$/.exec(cfg.temporal.address);
  return local ? `http://${local[1]}:${Number(local[2]) + 1000}` : undefined;
}

/** Link to a workflow (or one of its runs) in the Web UI, when the UI's address is known. */
export function workflowUrl(cfg: LifeboatConfig, workflowId: string, runId?: string): string | undefined {
  const base = uiBaseUrl(cfg);
  const run = runId ? `/${encodeURIComponent(runId)}` : '';
  return base && `${base}/namespaces/${encodeURIComponent(cfg.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}${run}`;
}
