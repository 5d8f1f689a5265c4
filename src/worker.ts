import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type NativeConnection, Worker, type LogLevel } from '@temporalio/worker';
import type { LifeboatConfig } from './config/schema.js';
import { LifeboatError } from './errors.js';
import type { Logger } from './logger.js';
import { createActivities, type Activities } from '../activities/index.js';
import { SafeFailureInterceptor } from '../activities/failures.js';
import { connectWorkerConnection } from './temporal.js';
import { lifeboatDataConverter } from './temporal/codec.js';
import { installForwardingRuntime } from './observability/runtime.js';
import { sdkMetricsPort, startObservability } from './observability/service.js';
import { ActivityMetricsInterceptor } from './observability/worker-metrics.js';
import { cachedWorkflowBundle } from './temporal/workflow-bundle.js';

/** The workflows entry point: compiled JavaScript when built, the TypeScript source otherwise. */
export function workflowsPath(): string {
  for (const ext of ['js', 'ts']) {
    const p = fileURLToPath(new URL(`../workflows/index.${ext}`, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('Workflows not found: run `npm run build`');
}

let runtimeInstalled = false;

/**
 * Routes the Temporal SDK's own logs (core's too, and workflow logs) to pino; call once per
 * process. With `metricsPort`, the SDK's metrics are exported there on loopback.
 */
export function installRuntime(logger: Logger, metricsPort?: number): { sdkMetricsUrl?: string } {
  if (runtimeInstalled) return {};
  runtimeInstalled = true;
  return installForwardingRuntime(logger, metricsPort);
}

export interface WorkerOptions {
  connection?: NativeConnection;
  taskQueue?: string;
  /** Time given to in-flight activities after a shutdown request before they are cancelled. */
  shutdownGraceTime?: string;
  heartbeatIntervalMs?: number;
  /** Most time between heartbeats sent to the server (what `--wait` progress can show). */
  maxHeartbeatThrottleInterval?: string;
  /** A prebuilt workflow bundle (from `bundleWorkflowCode`) instead of bundling {@link workflowsPath} again. */
  workflowBundle?: { codePath: string };
  /**
   * Activities that replace the real ones by name (tests of workflow logic). The failure
   * interceptor still applies to them.
   */
  activities?: Partial<Activities>;
  /**
   * A restore worker: polls `temporal.restoreTaskQueue` for activities only (no workflows), so
   * the identities in `restore.identities` are needed on it alone.
   */
  restoreOnly?: boolean;
}

/** The task queue a worker polls: the restore workers' with `restoreOnly` (which must be configured). */
export function workerTaskQueue(cfg: LifeboatConfig, opts: Pick<WorkerOptions, 'taskQueue' | 'restoreOnly'>): string {
  if (!opts.restoreOnly) return opts.taskQueue ?? cfg.temporal.taskQueue;
  const queue = opts.taskQueue ?? cfg.temporal.restoreTaskQueue;
  if (!queue) {
    throw new LifeboatError(
      'CONFIG_INVALID',
      'Configuration error at temporal.restoreTaskQueue: required for a restore worker (--restore-only); set it to a queue name',
      {
        subject: 'temporal.restoreTaskQueue',
      },
    );
  }
  return queue;
}

/** The real activities, with `overrides` in place of those of the same name; an unknown name is refused. */
export function withOverrides(real: Activities, overrides: Partial<Activities> = {}): Activities {
  const unknown = Object.keys(overrides).filter((name) => !Object.prototype.hasOwnProperty.call(real, name));
  if (unknown.length)
    throw new LifeboatError('INVALID_INPUT', `Unknown activity override: ${unknown.join(', ')} is not an activity of Lifeboat`, {
      subject: unknown.join(', '),
    });
  return { ...real, ...overrides };
}

/** The worker's concurrency from `worker:` in the configuration; the SDK's defaults for what is unset. */
function concurrencyOptions(cfg: LifeboatConfig) {
  const w = cfg.worker ?? {};
  return {
    ...(w.maxConcurrentActivities !== undefined ? { maxConcurrentActivityTaskExecutions: w.maxConcurrentActivities } : {}),
    ...(w.maxConcurrentWorkflowTasks !== undefined ? { maxConcurrentWorkflowTaskExecutions: w.maxConcurrentWorkflowTasks } : {}),
    ...(w.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: w.maxCachedWorkflows } : {}),
  };
}

/** Creates a worker serving Lifeboat's workflows and activities on the configured task queue. */
export async function createWorker(cfg: LifeboatConfig, logger: Logger, opts: WorkerOptions = {}): Promise<Worker> {
  const connection = opts.connection ?? (await connectWorkerConnection(cfg));
  return Worker.create({
    connection,
    namespace: cfg.temporal.namespace,
    taskQueue: workerTaskQueue(cfg, opts),
    ...(opts.restoreOnly ? {} : opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: workflowsPath() }),
    dataConverter: lifeboatDataConverter(cfg),
    activities: withOverrides(createActivities({ config: cfg, logger, heartbeatIntervalMs: opts.heartbeatIntervalMs }), opts.activities),
    ...concurrencyOptions(cfg),
    shutdownGraceTime: (opts.shutdownGraceTime ?? '3s') as `${number}s`,
    // The server only sees a heartbeat per throttle interval (by default 80% of the heartbeat
    // timeout); keep it short so progress stays live.
    maxHeartbeatThrottleInterval: (opts.maxHeartbeatThrottleInterval ?? '2s') as `${number}s`,
    defaultHeartbeatThrottleInterval: (opts.maxHeartbeatThrottleInterval ?? '2s') as `${number}s`,
    interceptors: {
      activity: [
        () => ({ inbound: new SafeFailureInterceptor(logger) }),
        () => ({ inbound: new ActivityMetricsInterceptor(new Set(Object.keys(cfg.databases))) }),
      ],
    },
  });
}

/**
 * Runs a worker until SIGINT/SIGTERM. In-flight activities are cancelled after a short grace
 * period: their dump processes are killed, uploads aborted, and Temporal retries them elsewhere.
 */
export async function runWorker(cfg: LifeboatConfig, logger: Logger, opts: Pick<WorkerOptions, 'restoreOnly'> = {}): Promise<void> {
  const { sdkMetricsUrl } = installRuntime(logger, await sdkMetricsPort(cfg));
  const connection = await connectWorkerConnection(cfg);
  const taskQueue = workerTaskQueue(cfg, opts);
  const codePath = opts.restoreOnly ? undefined : await cachedWorkflowBundle(workflowsPath(), logger);
  const worker = await createWorker(cfg, logger, { connection, ...(codePath ? { workflowBundle: { codePath } } : {}), ...opts });
  const observability = await startObservability(cfg, logger, { connection, worker }, sdkMetricsUrl);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: cancelling in-flight activities');
    worker.shutdown();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  logger.info({ taskQueue, restoreOnly: opts.restoreOnly ?? false, namespace: cfg.temporal.namespace, address: cfg.temporal.address }, 'worker started');
  try {
    await worker.run();
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await observability?.close();
    await connection.close();
    logger.info('worker stopped');
  }
}

export type { LogLevel };
