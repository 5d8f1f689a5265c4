// Chaos: the worker process dies (SIGKILL) or freezes (SIGSTOP) in the middle of an upload, on real
// Temporal, PostgreSQL and SeaweedFS. Activity timeouts are seconds (dev/chaos-profiles.ts).
import { readFileSync } from 'node:fs';
import { WORKFLOWS, type BackupResult, type ApplyRetentionResult } from '../../src/contracts/index.js';
import { createBucket, getObject, listKeys, pgUrl, uniqueName } from '../harness/services.js';
import {
  checkCommitted,
  connectClient,
  createSlowDatabase,
  manifestKeys,
  openUploads,
  processesWithEnv,
  sleep,
  startChaosWorker,
  step,
  waitUntil,
  writeChaosConfig,
  type ChaosSetup,
  type ChaosWorker,
} from './support.js';

const db = uniqueName('lb_chaos_noise');
let bucket: string;
let setup: ChaosSetup;
let conn: Awaited<ReturnType<typeof connectClient>>;
const workers: ChaosWorker[] = [];

beforeAll(async () => {
  bucket = await createBucket('lb-chaos');
  await createSlowDatabase(db);
  setup = writeChaosConfig({
    bucket,
    databases: { noise: { url: pgUrl(db), extra: { compression: { codec: 'zstd', level: 15 }, retention: { keepLast: 10, orphanGrace: '1s' } } } },
  });
  conn = await connectClient();
}, 120_000);

afterAll(async () => {
  for (const w of workers) await w.stop();
  await conn?.close();
});

async function worker(): Promise<ChaosWorker> {
  const w = await startChaosWorker(setup.configFile, setup.env);
  workers.push(w);
  return w;
}

function startBackup() {
  return conn.client.workflow.start(WORKFLOWS.backupDatabase, {
    taskQueue: setup.taskQueue,
    workflowId: uniqueName('chaos-backup'),
    args: [{ database: 'noise' }],
  });
}

/** The pg_dump processes dumping the test database, with their parent pids. */
function dumps(): Array<{ pid: number; ppid: number }> {
  return processesWithEnv('pg_dump', `PGDATABASE=${db}`).map((pid) => ({
    pid,
    ppid: Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]),
  }));
}

const dataKeys = async () => (await listKeys(bucket, 'noise/')).filter((k) => !k.startsWith('noise/audit/'));

test('SIGKILL of the worker mid-upload: a new worker completes the backup, one manifest whose sha256 matches the stored bytes, no upload left open after the sweep', async () => {
  const first = await worker();
  const handle = await startBackup();
  await waitUntil('a multipart upload is open', async () => (await openUploads(bucket)).length > 0, 90_000);
  first.signal('SIGKILL');
  expect((await first.exited).signal).toBe('SIGKILL');
  await worker();
  const result = (await handle.result()) as BackupResult;

  const manifests = await manifestKeys(bucket, 'noise');
  expect(manifests).toEqual([`noise/backups/${result.backupId}/manifest.json`]);
  const manifest = await checkCommitted(bucket, manifests[0]!);
  expect(manifest.artifact.sha256).toBe(result.sha256);
  expect(manifest.workflow.attempt).toBeGreaterThan(1);

  await sleep(1_500); // past the orphan grace of the configuration
  const sweep = (await conn.client.workflow.execute(WORKFLOWS.applyRetention, {
    taskQueue: setup.taskQueue,
    workflowId: uniqueName('chaos-sweep'),
    args: [{ database: 'noise' }],
  })) as ApplyRetentionResult;
  expect(sweep.targets[0]!.delete).toEqual([]);
  expect(await openUploads(bucket)).toEqual([]);
  expect(await dataKeys()).toEqual([result.key, `noise/backups/${result.backupId}/manifest.json`].sort());
}, 240_000);

test('SIGSTOP of the worker past the heartbeat timeout while another serves the queue, then SIGCONT: one backup, never overwritten, the zombie gives up cleanly', async () => {
  for (const w of workers) await w.stop();
  const [a, b] = [await worker(), await worker()];
  const before = new Set(await manifestKeys(bucket, 'noise'));
  const handle = await startBackup();
  await waitUntil('a multipart upload is open', async () => (await openUploads(bucket)).length > 0 && dumps().length > 0, 90_000);
  const owner = dumps()[0]!.ppid;
  const [frozen, other] = owner === a.pid ? [a, b] : [b, a];
  expect([a.pid, b.pid]).toContain(owner);
  frozen.signal('SIGSTOP');
  step(`froze worker ${frozen.pid}; waiting for the backup`);
  const result = (await handle.result()) as BackupResult;
  const manifestKey = `noise/backups/${result.backupId}/manifest.json`;
  const committed = await getObject(bucket, manifestKey);
  expect(other.text()).toContain('backup committed');

  step(`backup ${result.backupId} committed (attempt on the other worker); SIGCONT`);
  frozen.signal('SIGCONT');
  // The zombie notices its attempt is gone: its dump is killed and its upload aborted.
  await waitUntil('the frozen worker stops its dump', () => dumps().length === 0, 45_000);
  step('no dump left');
  await waitUntil(
    'no upload is left open',
    async () => (await openUploads(bucket)).length === 0,
    45_000,
    async () => (await openUploads(bucket)).join(', '),
  );
  step('no upload left open');
  await sleep(2_000);
  expect(frozen.text()).not.toContain('backup committed');
  const added = (await manifestKeys(bucket, 'noise')).filter((k) => !before.has(k));
  expect(added).toEqual([manifestKey]);
  expect((await getObject(bucket, manifestKey)).equals(committed)).toBe(true);
  await checkCommitted(bucket, manifestKey);
  const leftovers = (await dataKeys()).filter((k) => k.startsWith(`noise/backups/${result.backupId}/`));
  expect(leftovers).toEqual([result.key, manifestKey].sort());
  // The zombie worker process itself lives on and exits cleanly when asked.
  frozen.signal('SIGTERM');
  const exit = await Promise.race([frozen.exited, sleep(30_000).then(() => 'still running')]);
  step(`zombie worker after SIGTERM: ${JSON.stringify(exit)}; its log:\n${frozen.text().slice(-4000)}`);
  expect(exit).toEqual({ code: 0, signal: null });
}, 420_000);
