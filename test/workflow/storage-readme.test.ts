import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { createSampleDatabase } from '../../dev/sample-data.js';
import { STORAGE_README } from '../../src/catalog/readme.js';
import { createBucket, getObject, pgUrl, s3Client, services, startWorker, testConfig, uniqueName, type RunningWorker } from '../harness/services.js';

// Recovery without Lifeboat: every storage target holds a README (under its prefix) with the
// layout and the stock-tool commands, written once by the first backup or copy, never rewritten.

let w: RunningWorker;
let bucket: string;
let localDir: string;
let cfg: ReturnType<typeof testConfig>;

beforeAll(async () => {
  bucket = await createBucket('lb-readme');
  localDir = mkdtempSync(path.join(os.tmpdir(), 'lb-readme-'));
  const db = uniqueName('lb_readme');
  await createSampleDatabase(services().pg.adminUrl, db, 0.05);
  cfg = testConfig({
    bucket,
    prefix: 'dr/',
    databases: { shop: { url: pgUrl(db), extra: { storage: ['primary', 'local'] } } },
    extraStorage: { local: { type: 'filesystem', path: localDir } },
  });
  w = await startWorker(cfg);
});

afterAll(async () => w?.stop());

const backup = () =>
  w.client.workflow.execute('backupDatabase', {
    taskQueue: cfg.temporal.taskQueue,
    workflowId: uniqueName('readme'),
    args: [{ database: 'shop', kind: 'full' }],
  });

test('a backup leaves a README with the layout and stock-tool restore commands on every target, written once', async () => {
  await backup();
  const s3Text = (await getObject(bucket, 'dr/README.txt')).toString('utf8');
  const localText = readFileSync(path.join(localDir, 'README.txt'), 'utf8');
  expect(s3Text).toBe(STORAGE_README);
  expect(localText).toBe(STORAGE_README);
  for (const command of ['sha256sum -c', 'pg_restore --exit-on-error', 'age -d -i key.txt', 'gpg --decrypt', '<database>/backups/<backup-id>/manifest.json'])
    expect(s3Text).toContain(command);
  const before = await s3Client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'dr/README.txt' }));
  const localBefore = statSync(path.join(localDir, 'README.txt')).mtimeMs;
  await backup();
  const after = await s3Client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'dr/README.txt' }));
  expect(after.ETag).toBe(before.ETag);
  expect(after.LastModified).toEqual(before.LastModified);
  expect(statSync(path.join(localDir, 'README.txt')).mtimeMs).toBe(localBefore);
});
