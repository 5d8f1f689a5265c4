// A worker process for the chaos suite: the real worker and activities, the workflow bundle given
// by --bundle (dev/chaos-bundle.ts: timeouts of seconds), heartbeats every half second.
//   node dist/dev/chaos-worker.js --config lifeboat.yaml --bundle workflows.bundle.js
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/logger.js';
import { connectWorkerConnection } from '../src/temporal.js';
import { createWorker, installRuntime } from '../src/worker.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' }, bundle: { type: 'string' } } });
  if (!values.config || !values.bundle) throw new Error('Usage: chaos-worker --config <file> --bundle <workflow bundle>');
  const cfg = loadConfig(values.config);
  const logger = createLogger({ level: 'debug' });
  installRuntime(logger);
  const connection = await connectWorkerConnection(cfg);
  const worker = await createWorker(cfg, logger, {
    connection,
    workflowBundle: { codePath: values.bundle },
    heartbeatIntervalMs: 500,
    maxHeartbeatThrottleInterval: '500ms',
    shutdownGraceTime: '1s',
  });
  const stop = () => worker.shutdown();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  logger.info({ taskQueue: cfg.temporal.taskQueue, pid: process.pid }, 'worker started');
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
  logger.info('worker stopped');
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
