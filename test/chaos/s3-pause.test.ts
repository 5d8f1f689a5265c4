// Chaos: the S3 server (its own SeaweedFS here, so the rest of the suite is not frozen) stops
// answering mid-backup (SIGSTOP of its process group). Requests idle past the target's
// `requestTimeoutSeconds` fail and are retried, then the activity is retried with backoff.
import { CreateBucketCommand, GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { startS3Server, type S3Server } from '../../dev/services.js';
import { failureCause } from '../../src/cli/follow.js';
import { WORKFLOWS, type BackupResult } from '../../src/contracts/index.js';
import { pgUrl, uniqueName } from '../harness/services.js';
import { connectClient, createSlowDatabase, sha256, sleep, startChaosWorker, waitUntil, writeChaosConfig, type ChaosWorker } from './support.js';

const db = uniqueName('lb_chaos_s3');
let s3: S3Server;
let client: S3Client;
let conn: Awaited<ReturnType<typeof connectClient>>;
const workers: ChaosWorker[] = [];
let paused = false;

beforeAll(async () => {
  [s3] = await Promise.all([startS3Server({}), createSlowDatabase(db, 900_000)]);
  client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: s3 });
  conn = await connectClient();
}, 120_000);

afterAll(async () => {
  if (paused) freeze(false);
  for (const w of workers) await w.stop();
  await conn?.close();
  client?.destroy();
  await s3?.stop();
});

function freeze(on: boolean): void {
  if (s3.pid > 0) process.kill(s3.pid, on ? 'SIGSTOP' : 'SIGCONT');
  paused = on;
}

const keys = async (bucket: string) => ((await client.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key!).sort();
const uploads = async (bucket: string) => ((await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).map((u) => u.Key!);

/** A bucket, a config whose S3 requests time out after `requestTimeoutSeconds`, a worker on it, and a started backup. */
async function backupOnPausableS3(requestTimeoutSeconds: number) {
  const bucket = `lb-chaos-${uniqueName('s3').replace(/_/g, '-')}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const setup = writeChaosConfig({
    bucket,
    s3,
    primary: { requestTimeoutSeconds },
    databases: { noise: { url: pgUrl(db), extra: { compression: { codec: 'zstd', level: 15 }, retention: { keepLast: 10, orphanGrace: '1s' } } } },
  });
  const w = await startChaosWorker(setup.configFile, setup.env);
  workers.push(w);
  const handle = await conn.client.workflow.start(WORKFLOWS.backupDatabase, {
    taskQueue: setup.taskQueue,
    workflowId: uniqueName('chaos-s3'),
    args: [{ database: 'noise' }],
  });
  await waitUntil('a multipart upload is open', async () => (await uploads(bucket)).length > 0, 90_000);
  return { bucket, setup, w, handle };
}

test('S3 paused 40 s mid-backup: requests time out, are retried with backoff, and the backup commits once', async () => {
  const { bucket, w, handle } = await backupOnPausableS3(10);
  const pausedAt = Date.now();
  freeze(true);
  await sleep(40_000);
  freeze(false);
  const result = (await handle.result()) as BackupResult;
  const seconds = Math.round((Date.now() - pausedAt) / 1000);
  const manifests = (await keys(bucket)).filter((k) => k.endsWith('/manifest.json'));
  expect(manifests).toEqual([`noise/backups/${result.backupId}/manifest.json`]);
  const stored = await client.send(new GetObjectCommand({ Bucket: bucket, Key: result.key }));
  expect(sha256(Buffer.from(await stored.Body!.transformToByteArray()))).toBe(result.sha256);
  await waitUntil('no upload is left open', async () => (await uploads(bucket)).length === 0, 30_000);
  const history = await handle.fetchHistory();
  const attempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt);
  process.stderr.write(`s3 paused 40 s: committed ${seconds} s after the pause began; activity attempts: ${attempts.join(',')}\n`);
  expect(w.text()).toContain('backup committed');
}, 420_000);

test('S3 paused longer than the retry policy: a clear storage failure, nothing committed, nothing left open after the sweep', async () => {
  const { bucket, setup, handle } = await backupOnPausableS3(2);
  freeze(true);
  let failure: unknown;
  try {
    await handle.result();
  } catch (err) {
    failure = err;
  } finally {
    freeze(false);
  }
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  const cause = failureCause(failure);
  expect(cause.type).toBe('STORAGE_FAILED');
  expect(cause.message).toMatch(new RegExp(`failed: TimeoutError: .*exceeded the configured 2000 ms requestTimeout.*: s3://${bucket}/noise/backups/`));
  expect((await keys(bucket)).filter((k) => k.endsWith('/manifest.json'))).toEqual([]);
  await sleep(1_500);
  await conn.client.workflow.execute(WORKFLOWS.applyRetention, {
    taskQueue: setup.taskQueue,
    workflowId: uniqueName('chaos-sweep'),
    args: [{ database: 'noise' }],
  });
  expect(await uploads(bucket)).toEqual([]);
  expect((await keys(bucket)).filter((k) => !k.startsWith('noise/audit/'))).toEqual([]);
}, 420_000);
