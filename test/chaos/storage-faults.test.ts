// Chaos: what storage and scratch space can do to a restore. A corrupted artifact (bytes flipped in
// the stored object), the primary S3 target gone (its server killed), and scratch space too small.
// The primary is this file's own SeaweedFS, so killing it leaves the rest of the suite alone.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { createSampleDatabase } from '../../dev/sample-data.js';
import { makeTempDir, rmrfSync, startS3Server, type S3Server } from '../../dev/services.js';
import { failureCause } from '../../src/contracts/failures.js';
import { WORKFLOWS, type ApplyRetentionResult, type BackupResult, type RestoreResult, type VerifyResult } from '../../src/contracts/index.js';
import { pgUrl, services, uniqueName, withPg } from '../harness/services.js';
import { connectClient, startChaosWorker, step, writeChaosConfig, type ChaosSetup, type ChaosWorker } from './support.js';

const source = uniqueName('lb_chaos_store');
let s3: S3Server;
let client: S3Client;
let dir: string;
let setup: ChaosSetup;
let worker: ChaosWorker;
let conn: Awaited<ReturnType<typeof connectClient>>;
let good: BackupResult;
let bad: BackupResult;
const bucket = 'lb-chaos-primary';

beforeAll(async () => {
  dir = makeTempDir('lb-chaos-store-');
  [s3] = await Promise.all([startS3Server({}), createSampleDatabase(services().pg.adminUrl, source, 0.2)]);
  client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: s3 });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  setup = writeChaosConfig({
    bucket,
    s3,
    primary: { requestTimeoutSeconds: 2 },
    storage: { local: { type: 'filesystem', path: path.join(dir, 'store') } },
    databases: { shop: { url: pgUrl(source), extra: { storage: ['primary', 'local'], retention: { keepLast: 1 } } } },
  });
  worker = await startChaosWorker(setup.configFile, setup.env);
  conn = await connectClient();
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await conn?.close();
  client?.destroy();
  await s3?.stop();
});

function run<T>(workflow: string, input: unknown): Promise<T> {
  return conn.client.workflow.execute(workflow, { taskQueue: setup.taskQueue, workflowId: uniqueName(workflow), args: [input] }) as Promise<T>;
}

async function failureOf(p: Promise<unknown>): Promise<{ type?: string; message: string }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return failureCause(err);
}

const databaseExists = (name: string) =>
  withPg('postgres', async (c) => (await c.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1);
const scratchDatabases = () =>
  withPg('postgres', async (c) => (await c.query<{ d: string }>("select datname as d from pg_database where datname like 'lb_verify_%'")).rows.map((r) => r.d));

test('a corrupted artifact: verification fails naming it, the backup counts as corrupt for retention and is never latest-verified', async () => {
  good = await run<BackupResult>(WORKFLOWS.backupDatabase, { database: 'shop' });
  expect((await run<VerifyResult>(WORKFLOWS.verifyBackup, { database: 'shop', backup: good.backupId })).outcome).toBe('passed');
  bad = await run<BackupResult>(WORKFLOWS.backupDatabase, { database: 'shop' });
  // Flip bytes in the middle of the stored object (same size: only the checksum can tell).
  const stored = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: bad.key }))).Body!.transformToByteArray());
  const mid = Math.floor(stored.length / 2);
  for (let i = mid; i < mid + 16; i++) stored[i] = stored[i]! ^ 0xff;
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: bad.key, Body: stored }));

  const failure = await failureOf(run(WORKFLOWS.verifyBackup, { database: 'shop', backup: bad.backupId }));
  expect(failure.type).toBe('CHECKSUM_MISMATCH');
  expect(failure.message).toContain(`s3://${bucket}/${bad.key}`);
  expect(await scratchDatabases()).toEqual([]);

  const plan = await run<ApplyRetentionResult>(WORKFLOWS.applyRetention, { database: 'shop', dryRun: true, storage: 'primary' });
  const entry = [...plan.targets[0]!.keep, ...plan.targets[0]!.delete].find((e) => e.backupId === bad.backupId);
  expect(entry?.status).toBe('corrupt');
  // keepLast 1 would keep only the newest; the corrupt newest does not count, so the good one stays.
  expect(plan.targets[0]!.keep.map((e) => e.backupId)).toContain(good.backupId);
  expect(plan.targets[0]!.delete.map((e) => e.backupId)).not.toContain(good.backupId);

  const target = uniqueName('lb_chaos_lv');
  const restored = await run<RestoreResult>(WORKFLOWS.restoreDatabase, { database: 'shop', backup: 'latest-verified', target });
  expect(restored.backupId).toBe(good.backupId);
  step(`corrupt ${bad.backupId}: ${failure.message.slice(0, 200)}`);
}, 180_000);

test('the primary target lost (its S3 server killed): latest-verified restores from the filesystem target', async () => {
  await s3.stop(); // SIGKILL: its state is gone with it
  const target = uniqueName('lb_chaos_dr');
  const started = Date.now();
  const restored = await run<RestoreResult>(WORKFLOWS.restoreDatabase, { database: 'shop', backup: 'latest-verified', target });
  expect(restored.backupId).toBe(good.backupId);
  const count = (db: string) => withPg(db, (c) => c.query<{ n: string }>('select count(*)::text as n from shop.customers')).then((r) => r.rows[0]!.n);
  expect(await count(target)).toBe(await count(source));
  step(`restored from the filesystem target in ${Date.now() - started} ms with the primary down`);
}, 180_000);

const tmpfs = path.join(makeTempDir('lb-chaos-scratch-'), 'tiny');
mkdirSync(tmpfs);
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', tmpfs]).status === 0;
if (!mounted) console.warn('Scratch space too small is skipped: a 4 MiB tmpfs cannot be mounted here (needs root)');
afterAll(() => {
  if (mounted) execFileSync('umount', [tmpfs]);
  rmrfSync(path.dirname(tmpfs));
});

(mounted ? test : test.skip)(
  'scratch space too small (4 MiB tmpfs, needs root): a clear no-space failure before the target is touched, nothing left behind',
  async () => {
    const small = writeChaosConfig({
      bucket,
      s3,
      storage: { local: { type: 'filesystem', path: path.join(dir, 'store') } },
      databases: { shop: { url: pgUrl(source), extra: { storage: ['local'] } } },
      // `jobs` keeps the checksummed temporary file (a whole restore into a new database streams and needs no scratch).
      more: { restore: { tempDir: tmpfs, jobs: 1 } },
    });
    const w = await startChaosWorker(small.configFile, small.env);
    try {
      const target = uniqueName('lb_chaos_nospace');
      const run2 = <T>(wf: string, input: unknown) =>
        conn.client.workflow.execute(wf, { taskQueue: small.taskQueue, workflowId: uniqueName(wf), args: [input] }) as Promise<T>;
      const restore = await failureOf(run2(WORKFLOWS.restoreDatabase, { database: 'shop', backup: good.backupId, target }));
      expect(restore.type).toBe('INSUFFICIENT_SPACE');
      expect(restore.message).toMatch(
        new RegExp(
          `^Restore of shop into ${target} failed: ${tmpfs}/lifeboat-restore-\\w+ has \\d+ MiB free and the dump needs \\d+ MiB; set restore.tempDir to a larger disk`,
        ),
      );
      expect(await databaseExists(target)).toBe(false);
      const verify = await failureOf(run2(WORKFLOWS.verifyBackup, { database: 'shop', backup: good.backupId }));
      expect(verify.type).toBe('INSUFFICIENT_SPACE');
      expect(await scratchDatabases()).toEqual([]);
      expect(readdirSync(tmpfs)).toEqual([]);
    } finally {
      await w.stop();
    }
  },
  180_000,
);
