import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/logger.js';
import { createWorker, installRuntime } from '../src/worker.js';
import { listBackups } from '../src/catalog/catalog.js';
import { openStorage } from '../src/storage/index.js';
import { follow } from '../src/cli/follow.js';
import { formatBytes, formatDuration } from '../src/cli/format.js';
import { WORKFLOWS, backupWorkflowId, type WorkflowTypes } from '../src/contracts/index.js';
import { createSampleDatabase } from './sample-data.js';
import { repoRoot, startEphemeralPostgres, startS3Server, startTemporalDevServer, stopAll } from './services.js';

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

const say = (line: string) => process.stdout.write(`${line}\n`);

/**
 * The main job on embedded defaults: a Temporal dev server (Web UI on 8233 when free), a local
 * S3 server, a sample PostgreSQL database (on the server named by DEMO_DATABASE_URL, else an
 * ephemeral cluster), a worker, one real backup, and the catalog listing.
 */
export async function runDemo(opts: { once: boolean }): Promise<void> {
  const workDir = path.join(repoRoot(), '.lifeboat', 'demo');
  mkdirSync(workDir, { recursive: true });
  const defaultPorts = (await portFree(7233)) && (await portFree(8233));
  say('Starting a Temporal dev server, an S3 server and PostgreSQL…');
  const [temporal, s3, pgAdminUrl] = await Promise.all([
    startTemporalDevServer(defaultPorts ? { port: 7233, uiPort: 8233 } : {}),
    startS3Server({}),
    process.env.DEMO_DATABASE_URL ? Promise.resolve(process.env.DEMO_DATABASE_URL) : startEphemeralPostgres({}).then((p) => p.url('postgres')),
  ]);
  const database = 'lifeboat_demo';
  say(`Creating the sample database "${database}"…`);
  await createSampleDatabase(pgAdminUrl, database, 2);
  const dbUrl = new URL(pgAdminUrl);
  dbUrl.pathname = `/${database}`;

  const bucket = 'lifeboat-demo';
  await new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  }).send(new CreateBucketCommand({ Bucket: bucket }));

  // Secrets stay out of the file: the worker reads them from its environment.
  process.env.LIFEBOAT_DEMO_DATABASE_URL = dbUrl.toString();
  process.env.LIFEBOAT_DEMO_S3_SECRET = s3.secretAccessKey;
  const configFile = path.join(workDir, 'lifeboat.yaml');
  writeFileSync(
    configFile,
    `# Written by \`npm run demo\`; secrets come from the environment.
temporal: { address: "${temporal.address}", namespace: default, taskQueue: lifeboat-demo, uiUrl: "${temporal.uiUrl}" }
storage:
  primary:
    type: s3
    bucket: ${bucket}
    endpoint: ${s3.endpoint}
    region: ${s3.region}
    forcePathStyle: true
    accessKeyId: ${s3.accessKeyId}
    secretAccessKey: { env: LIFEBOAT_DEMO_S3_SECRET }
databases:
  demo:
    engine: postgres
    url: { env: LIFEBOAT_DEMO_DATABASE_URL }
    compression: { codec: zstd, level: 3 }
log: { level: warn }
`,
  );
  const cfg = loadConfig(configFile);
  const logger = createLogger({ level: 'warn' });
  installRuntime(logger);
  const connection = await NativeConnection.connect({ address: temporal.address });
  const worker = await createWorker(cfg, logger, { connection });
  const running = worker.run();
  const clientConnection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection: clientConnection, namespace: 'default' });

  const workflowId = backupWorkflowId('demo', 'full', new Date());
  say(`Backing up "demo" (workflow ${workflowId})…`);
  const handle = await client.workflow.start<WorkflowTypes['backupDatabase']>(WORKFLOWS.backupDatabase, {
    taskQueue: cfg.temporal.taskQueue,
    workflowId,
    args: [{ database: 'demo', kind: 'full' }],
  });
  const result = await follow(handle, { out: process.stderr });
  const { backups } = await listBackups(openStorage(cfg, 'primary'), 'demo');
  const uiLink = `${temporal.uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`;
  say('');
  say(`Backup ${result.backupId} committed in ${formatDuration(result.durationMs)}:`);
  say(`  ${formatBytes(result.rawBytes)} dumped -> ${formatBytes(result.bytes)} stored (zstd), sha256 ${result.sha256}`);
  say(`  artifact  ${result.location}`);
  say(`  manifest  ${result.location.replace(/[^/]+$/, 'manifest.json')}`);
  say(`Catalog of "demo": ${backups.length} committed backup(s), newest ${backups[0]?.backupId}`);
  say(`Temporal Web UI: ${uiLink}`);
  say(`Config: ${path.relative(process.cwd(), configFile)}`);

  const shutdown = async () => {
    worker.shutdown();
    await running.catch(() => undefined);
    await clientConnection.close();
    await connection.close();
    await stopAll();
  };
  if (opts.once) {
    await shutdown();
    return;
  }
  say('');
  say('Everything keeps running so you can explore the UI. Press Ctrl-C to stop it all.');
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  say('Stopping…');
  await shutdown();
  say('Stopped: nothing left running.');
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (isMain) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  runDemo({ once: process.argv.includes('--once') }).then(
    () => process.exit(0),
    async (err: Error) => {
      process.stderr.write(`Demo failed: ${err.message}\n`);
      await stopAll().catch(() => undefined);
      process.exit(1);
    },
  );
}
