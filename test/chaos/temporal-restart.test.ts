// Chaos: the Temporal server (its own dev server here, on a fixed port with its state in a file)
// is stopped mid-backup and started again; worker and client reconnect and the backup completes.
import path from 'node:path';
import { findFreeStablePort, makeTempDir, rmrfSync, startTemporalDevServer, type TemporalDevServer } from '../../dev/services.js';
import { WORKFLOWS, type BackupResult } from '../../src/contracts/index.js';
import { createBucket, listMultipart, pgUrl, uniqueName } from '../harness/services.js';
import {
  checkCommitted,
  connectClient,
  createSlowDatabase,
  manifestKeys,
  sleep,
  startChaosWorker,
  step,
  waitUntil,
  writeChaosConfig,
  type ChaosWorker,
} from './support.js';

const db = uniqueName('lb_chaos_temporal');
let dir: string;
let port: number;
let temporal: TemporalDevServer;
let worker: ChaosWorker;

const startTemporal = () => startTemporalDevServer({ port, dbFile: path.join(dir, 'temporal.db'), headless: true, logFile: path.join(dir, 'temporal.log') });

beforeAll(async () => {
  dir = makeTempDir('lb-chaos-temporal-');
  port = await findFreeStablePort();
  [temporal] = await Promise.all([startTemporal(), createSlowDatabase(db)]);
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await temporal?.stop();
  rmrfSync(dir);
});

test('the Temporal server restarted mid-backup: the workflow completes with one committed backup', async () => {
  const bucket = await createBucket('lb-chaos-tmp');
  const setup = writeChaosConfig({
    bucket,
    temporalAddress: temporal.address,
    databases: { noise: { url: pgUrl(db), extra: { compression: { codec: 'zstd', level: 15 } } } },
  });
  worker = await startChaosWorker(setup.configFile, setup.env);
  const conn = await connectClient(temporal.address);
  const workflowId = uniqueName('chaos-temporal');
  try {
    await conn.client.workflow.start(WORKFLOWS.backupDatabase, { taskQueue: setup.taskQueue, workflowId, args: [{ database: 'noise' }] });
    await waitUntil('a multipart upload is open', async () => (await listMultipart(bucket)).length > 0, 90_000);
    await temporal.stop();
    step('Temporal server stopped mid-backup');
    await sleep(3_000);
    temporal = await startTemporal();
    step('Temporal server started again on the same port and state file');
    let result: BackupResult | undefined;
    for (let i = 0; !result; i++) {
      try {
        result = (await conn.client.workflow.getHandle(workflowId).result()) as BackupResult;
      } catch (err) {
        // The client's connection may fail while the server restarts: ask again, a few times.
        if (i >= 5 || !/UNAVAILABLE|connect|ECONNREFUSED|14 /i.test(String(err))) throw err;
        await sleep(2_000);
      }
    }
    const manifests = await manifestKeys(bucket, 'noise');
    expect(manifests).toEqual([`noise/backups/${result.backupId}/manifest.json`]);
    expect((await checkCommitted(bucket, manifests[0]!)).artifact.sha256).toBe(result.sha256);
    const described = await conn.client.workflow.getHandle(workflowId).describe();
    expect(described.status.name).toBe('COMPLETED');
    await waitUntil('no upload left open', async () => (await listMultipart(bucket)).length === 0, 30_000);
  } finally {
    await conn.close();
  }
}, 300_000);
