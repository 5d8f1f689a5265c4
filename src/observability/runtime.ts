// The Temporal SDK runtime with one log stream: core's own logs (e.g. "gRPC call ... retried 6
// times" while the server restarts) are forwarded to the TypeScript logger and written by pino,
// as JSON, with the same redaction; optionally core's Prometheus exporter on a loopback port.
import { DefaultLogger, Runtime, type LogMetadata, type RuntimeOptions } from '@temporalio/worker';
import type { Logger } from '../logger.js';

type PinoLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

function runtimeOptions(logger: Logger, metricsAddress?: string): RuntimeOptions {
  const sdk = logger.child({ component: 'temporal' });
  const verbose = logger.isLevelEnabled('debug');
  return {
    logger: new DefaultLogger(verbose ? 'DEBUG' : 'INFO', (entry) => {
      const meta: LogMetadata = { ...(entry.meta ?? {}) };
      sdk[entry.level.toLowerCase() as PinoLevel](meta, entry.message);
    }),
    telemetryOptions: {
      logging: { filter: { core: verbose ? 'INFO' : 'WARN', other: 'ERROR' }, forward: {} },
      ...(metricsAddress ? { metrics: { prometheus: { bindAddress: metricsAddress, useSecondsForDurations: true } } } : {}),
    },
    shutdownSignals: [],
  };
}

/**
 * Installs the runtime. With `metricsPort`, core exports its metrics on 127.0.0.1:<port>; if that
 * port cannot be bound the runtime is installed without them (logged), never failing the worker.
 */
export function installForwardingRuntime(logger: Logger, metricsPort?: number): { sdkMetricsUrl?: string } {
  const address = metricsPort ? `127.0.0.1:${metricsPort}` : undefined;
  try {
    Runtime.install(runtimeOptions(logger, address));
    return address ? { sdkMetricsUrl: `http://${address}/metrics` } : {};
  } catch (err) {
    if (!address) throw err;
    logger.warn({ component: 'temporal', reason: (err as Error).message }, 'Temporal SDK metrics are not exported');
    Runtime.install(runtimeOptions(logger));
    return {};
  }
}
