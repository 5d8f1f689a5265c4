// The worker's observability port: catalog reader + health + metrics behind one HTTP server.
import net from 'node:net';
import path from 'node:path';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { LifeboatConfig } from '../config/schema.js';
import { redactSecrets, resolveSecret } from '../config/secrets.js';
import { durationMs } from '../contracts/duration.js';
import { isLifeboatError } from '../errors.js';
import type { Logger } from '../logger.js';
import { CatalogReader } from './catalog.js';
import { OBSERVABILITY_DEFAULTS, type ObservabilityConfig } from './config.js';
import { evaluateDatabase, evaluateFleet, healthBounds, type HealthReport } from './health.js';
import { LifeboatMetrics } from './metrics.js';
import { json, startObservabilityServer, type ObservabilityServer, type RouteResult } from './server.js';

/** The `observability` block with its defaults (also when the block is absent). */
export function observabilitySettings(cfg: LifeboatConfig): ObservabilityConfig {
  return cfg.observability ?? OBSERVABILITY_DEFAULTS;
}

/** A free TCP port on loopback, for the Temporal SDK's own metrics exporter (forwarded by `/metrics`). */
export async function freeLoopbackPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** The loopback port for the SDK's metrics when the worker forwards them, else undefined. */
export async function sdkMetricsPort(cfg: LifeboatConfig): Promise<number | undefined> {
  const o = observabilitySettings(cfg);
  return o.enabled && o.sdkMetrics ? freeLoopbackPort() : undefined;
}

/** What `/health` reports: is this worker connected to Temporal and running. */
export interface Liveness {
  status: 'ok' | 'unavailable';
  checkedAt: string;
  temporal: { address: string; namespace: string; taskQueue: string; connected: boolean; error?: string };
  worker?: { state: string };
}

export interface LivenessProbe {
  connection?: Pick<NativeConnection, 'withDeadline' | 'workflowService'>;
  worker?: Pick<Worker, 'getState'>;
}

function livenessCheck(cfg: LifeboatConfig, probe: LivenessProbe): () => Promise<Liveness> {
  let cached: { at: number; value: Liveness } | undefined;
  return async () => {
    if (cached && Date.now() - cached.at < 5000) return cached.value;
    const { address, namespace, taskQueue } = cfg.temporal;
    let error: string | undefined = probe.connection ? undefined : 'no connection';
    if (probe.connection) {
      const c = probe.connection;
      await c.withDeadline(Date.now() + 5000, () => c.workflowService.getSystemInfo({})).catch((err: Error) => (error = redactSecrets(err.message)));
    }
    const state = probe.worker?.getState();
    const ok = error === undefined && (state === undefined || state === 'RUNNING');
    const value: Liveness = {
      status: ok ? 'ok' : 'unavailable',
      checkedAt: new Date().toISOString(),
      temporal: { address, namespace, taskQueue, connected: error === undefined, error },
      worker: state ? { state } : undefined,
    };
    cached = { at: Date.now(), value };
    return value;
  };
}

async function sdkMetricsText(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

export interface Observability extends ObservabilityServer {
  metrics: LifeboatMetrics;
  reader: CatalogReader;
}

/** The routes, over one catalog reader and one registry. */
export function observabilityRoutes(cfg: LifeboatConfig, reader: CatalogReader, metrics: LifeboatMetrics, probe: LivenessProbe, sdkMetricsUrl?: string) {
  const liveness = livenessCheck(cfg, probe);
  const fleetHealth = async (): Promise<HealthReport> => {
    const catalogs = await reader.fleet();
    const report = evaluateFleet(cfg, catalogs);
    metrics.update(catalogs, report);
    return report;
  };
  const detailed = async (): Promise<RouteResult> => {
    const [report, live] = await Promise.all([fleetHealth(), liveness()]);
    const now = new Date();
    const databases = await Promise.all(
      report.databases.map(async (d) => ({
        ...d,
        targets: (await reader.targets(d.database)).map((c) => {
          const h = evaluateDatabase(c, healthBounds(cfg, d.database), d.environment, now);
          return {
            storage: c.storage,
            status: h.status,
            backups: c.backups.length,
            newest: c.backups[0]?.backupId ?? null,
            problems: h.problems,
            catalogProblems: c.problems,
            error: c.error,
          };
        }),
      })),
    );
    return json(report.httpStatus === 200 && live.status === 'ok' ? 200 : 503, { ...report, liveness: live, databases });
  };
  return {
    '/metrics': async (): Promise<RouteResult> => {
      await fleetHealth();
      const sdk = sdkMetricsUrl ? await sdkMetricsText(sdkMetricsUrl) : undefined;
      metrics.setSdkMetricsUp(sdk !== undefined);
      const own = await metrics.render();
      return { status: 200, contentType: metrics.contentType, body: sdk ? `${own.replace(/\n*$/, '\n')}${sdk}` : own };
    },
    '/health': async () => {
      const l = await liveness();
      return json(l.status === 'ok' ? 200 : 503, l);
    },
    '/health/backups': async () => {
      const r = await fleetHealth();
      return json(r.httpStatus, r);
    },
    '/health/detailed': detailed,
  };
}

/**
 * Starts the observability port of a worker, unless `observability.enabled` is false. A port that
 * is taken is logged as an error and the worker runs on without it (Prometheus sees the target
 * down); every other problem is thrown.
 */
export async function startObservability(
  cfg: LifeboatConfig,
  logger: Logger,
  probe: LivenessProbe,
  sdkMetricsUrl?: string,
): Promise<Observability | undefined> {
  const o = observabilitySettings(cfg);
  if (!o.enabled) return undefined;
  const base = cfg.sourcePath ? path.dirname(cfg.sourcePath) : undefined;
  const token = o.token ? resolveSecret(o.token, 'observability.token', base) : undefined;
  const reader = new CatalogReader(cfg, durationMs(o.cacheTtl));
  const metrics = new LifeboatMetrics({ sdkMetrics: sdkMetricsUrl !== undefined });
  const log = logger.child({ component: 'observability' });
  try {
    const server = await startObservabilityServer({
      bind: o.bind,
      port: o.port,
      token,
      routes: observabilityRoutes(cfg, reader, metrics, probe, sdkMetricsUrl),
      logger: log,
    });
    log.info({ url: server.url, token: token !== undefined, sdkMetrics: sdkMetricsUrl !== undefined }, 'observability server listening');
    return { ...server, metrics, reader };
  } catch (err) {
    if (!isLifeboatError(err) || err.code !== 'LISTEN_FAILED') throw err;
    log.error({ reason: err.message }, 'observability server not started');
    return undefined;
  }
}
