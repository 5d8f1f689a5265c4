import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../src/config/load.js';
import { osUser } from '../src/identity.js';
import { createLogger } from '../src/logger.js';
import { createWorker, installRuntime } from '../src/worker.js';
import { runLoop, summaryTable } from './demo-loop.js';
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
// Runbook decisions are made as the OS user running lifeboat: the demo's approver is you.
const DEMO_APPROVER = osUser();

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
    verify:
      checks:
        - { name: has customers, sql: "select count(*) > 0 from shop.customers" }
    schedules:
      - { kind: full, cron: "0 2 * * *" }
      - { kind: verify, cron: "0 5 * * *" }
      - { kind: retention, cron: "0 6 * * *" }
    retention: { daily: 7, weekly: 4, minKeep: 2 }
runbooks:
  paths: ["${path.join(repoRoot(), 'runbooks')}"]
  roles: { dba: [${DEMO_APPROVER}] }
log: { level: warn }
`,
  );
  const cfg = loadConfig(configFile);
  // The worker's warnings (a runbook's notify step logs at warn) would interleave JSON with the story.
  const logger = createLogger({ level: 'error' });
  installRuntime(logger);
  const connection = await NativeConnection.connect({ address: temporal.address });
  const worker = await createWorker(cfg, logger, { connection });
  const running = worker.run();

  say('');
  const client = new Client({ connection: await Connection.connect({ address: temporal.address }), namespace: cfg.temporal.namespace });
  const ctx = { configFile, env: { ...process.env }, uiUrl: temporal.uiUrl, namespace: cfg.temporal.namespace, approver: DEMO_APPROVER, client, say };
  const steps = await runLoop(ctx, 'demo', 'shop.customers');
  say('');
  say(summaryTable(steps));
  say('');
  say(`Temporal Web UI: ${temporal.uiUrl}/namespaces/${cfg.temporal.namespace}/workflows`);
  // The demo's throwaway secrets, for trying the CLI against this stack from another shell.
  const envFile = path.join(workDir, 'env');
  writeFileSync(envFile, `LIFEBOAT_DEMO_DATABASE_URL='${dbUrl.toString()}'\nLIFEBOAT_DEMO_S3_SECRET='${s3.secretAccessKey}'\n`, { mode: 0o600 });
  const rel = (p: string) => path.relative(process.cwd(), p);
  say(`Try the CLI on this stack: set -a; . ${rel(envFile)}; set +a; node bin/lifeboat.js -c ${rel(configFile)} backups demo`);
  const failed = steps.filter((s) => !s.ok);

  const shutdown = async () => {
    worker.shutdown();
    await running.catch(() => undefined);
    await client.connection.close();
    await connection.close();
    await stopAll();
  };
  if (opts.once) {
    await shutdown();
    if (failed.length) throw new Error(`${failed.map((s) => s.step).join(', ')} failed`);
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
