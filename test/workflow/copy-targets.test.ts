import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { jest } from '@jest/globals';
import { WorkflowFailedError } from '@temporalio/client';
import { main } from '../../src/cli/main.js';
import { createSampleDatabase } from '../../dev/sample-data.js';
import { listBackupLocations, listBackups, readManifest } from '../../src/catalog/catalog.js';
import { copyBackup } from '../../src/copy/copy-backup.js';
import { deleteBackup } from '../../src/retention/prune.js';
import { openStorage, type Storage } from '../../src/storage/index.js';
import type { ApplyRetentionResult, BackupWithCopiesResult, CopyResult } from '../../src/contracts/index.js';
import {
  captureLogger,
  createBucket,
  createRole,
  getObject,
  listKeys,
  pgUrl,
  s3Client,
  s3Target,
  services,
  startWorker,
  testConfig,
  uniqueName,
  type RunningWorker,
} from '../harness/services.js';

// 3-2-1: every committed backup lands on a second S3 bucket and a filesystem target, each with
// its own retention.

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let primary: string;
let offsite: string;
let localDir: string;
let cfg: ReturnType<typeof testConfig>;
let w: RunningWorker;
const results: BackupWithCopiesResult[] = [];

beforeAll(async () => {
  [primary, offsite] = await Promise.all([createBucket('lb-primary'), createBucket('lb-offsite')]);
  localDir = mkdtempSync(path.join(os.tmpdir(), 'lb-local-'));
  const role = await createRole();
  const db = uniqueName('lb_copies');
  await createSampleDatabase(services().pg.adminUrl, db, 1);
  cfg = testConfig({
    bucket: primary,
    extraStorage: {
      offsite: s3Target(offsite, 'dr/'),
      local: { type: 'filesystem', path: localDir },
    },
    databases: {
      shop: {
        url: pgUrl(db, role),
        extra: {
          storage: ['primary', 'offsite', 'local'],
          retention: { keepLast: 3, minKeep: 1, storage: { offsite: { keepLast: 2 }, local: { keepLast: 1 } } },
        },
      },
    },
  });
  w = await startWorker(cfg);
});

afterAll(async () => {
  await w?.stop();
});

function run<T>(workflow: string, input: unknown): Promise<T> {
  return w.client.workflow.execute(workflow, { taskQueue: cfg.temporal.taskQueue, workflowId: uniqueName(workflow), args: [input] });
}

test('each committed backup is copied to the second bucket and the filesystem, sha256 re-checked, manifest last on each', async () => {
  for (let i = 0; i < 3; i++) results.push(await run<BackupWithCopiesResult>('backupDatabase', { database: 'shop' }));
  for (const r of results) {
    expect(r.storage).toBe('primary');
    expect(r.copies!.map((c) => [c.storage, c.status, c.sha256, c.bytes])).toEqual([
      ['offsite', 'copied', r.sha256, r.bytes],
      ['local', 'copied', r.sha256, r.bytes],
    ]);
    const [off, loc] = r.copies as [CopyResult, CopyResult];
    expect(off.location).toBe(`s3://${offsite}/dr/${off.key}`);
    expect(sha256(await getObject(offsite, `dr/${off.key}`))).toBe(r.sha256);
    expect(sha256(readFileSync(path.join(localDir, loc.key)))).toBe(r.sha256);
    const copied = await readManifest(openStorage(cfg, 'offsite'), 'shop', r.backupId);
    expect(copied).toMatchObject({
      backupId: r.backupId,
      artifact: { storage: 'offsite', key: off.key, sha256: r.sha256 },
      copy: { from: 'primary', sourceKey: r.key },
    });
  }
  const { backups } = await listBackupLocations(
    ['primary', 'offsite', 'local'].map((n) => openStorage(cfg, n)),
    'shop',
  );
  expect(backups.map((b) => [b.backupId, b.storages.join(',')])).toEqual([...results].reverse().map((r) => [r.backupId, 'primary,offsite,local']));
});

test('retention differs per target: primary keeps 3, offsite 2, local 1, and the catalog shows where each backup exists', async () => {
  const result = await run<ApplyRetentionResult>('applyRetention', { database: 'shop' });
  expect(result.targets.map((t) => [t.storage, t.keep.length, t.delete.length, t.policies.full])).toEqual([
    ['primary', 3, 0, 'last 3; minKeep 1, fresh 1d12h'],
    ['offsite', 2, 1, 'last 2; minKeep 1, fresh 1d12h'],
    ['local', 1, 2, 'last 1; minKeep 1, fresh 1d12h'],
  ]);
  const [oldest, middle, newest] = results.map((r) => r.backupId);
  const { backups } = await listBackupLocations(
    ['primary', 'offsite', 'local'].map((n) => openStorage(cfg, n)),
    'shop',
  );
  expect(Object.fromEntries(backups.map((b) => [b.backupId, b.storages]))).toEqual({
    [newest!]: ['primary', 'offsite', 'local'],
    [middle!]: ['primary', 'offsite'],
    [oldest!]: ['primary'],
  });
  // Deleted copies left nothing behind.
  expect(await listKeys(offsite, `dr/shop/backups/${oldest}/`)).toEqual([]);

  // `lifeboat catalog shop`: one row per backup, one column per target.
  const configFile = path.join(localDir, 'lifeboat.json');
  const { sourcePath: _s, ...raw } = cfg;
  writeFileSync(configFile, JSON.stringify(raw));
  const out: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true));
  try {
    expect(await main(['node', 'lifeboat', '--config', configFile, 'catalog', 'shop'])).toBe(0);
  } finally {
    spy.mockRestore();
  }
  const lines = out.join('').trimEnd().split('\n');
  expect(lines[0]).toMatch(/^BACKUP ID +KIND +STARTED +STORED +PRIMARY +OFFSITE +LOCAL +COPIES$/);
  expect(lines.slice(1).map((l) => l.split(/ +/).slice(-4))).toEqual([
    ['yes', 'yes', 'yes', '3/3'],
    ['yes', 'yes', '-', '2/3'],
    ['yes', '-', '-', '1/3'],
  ]);
});

test('a source that no longer matches its manifest is never copied; once repaired, the copyBackup workflow fills the gap', async () => {
  const newest = results[2]!;
  const off = openStorage(cfg, 'offsite');
  await deleteBackup(off, 'shop', newest.backupId); // the offsite copy is lost
  const original = await getObject(primary, newest.key);
  const flipped = Buffer.from(original);
  flipped[flipped.length >> 1] ^= 0xff;
  await s3Client().send(new PutObjectCommand({ Bucket: primary, Key: newest.key, Body: flipped }));

  const copyId = uniqueName('copyBackup');
  const err = await w.client.workflow
    .execute('copyBackup', { taskQueue: cfg.temporal.taskQueue, workflowId: copyId, args: [{ database: 'shop', backupId: newest.backupId }] })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  // A checksum mismatch is not retried: the activity failed once, with its own error type.
  const events = (await w.client.workflow.getHandle(copyId).fetchHistory()).events ?? [];
  const failed = events.filter((e) => e.activityTaskFailedEventAttributes);
  expect(failed).toHaveLength(1);
  expect(failed[0]!.activityTaskFailedEventAttributes!.failure?.applicationFailureInfo).toMatchObject({ type: 'CHECKSUM_MISMATCH', nonRetryable: true });
  const cause = (err as WorkflowFailedError).cause as { type?: string; message?: string };
  expect(cause.type).toBe('COPY_INCOMPLETE');
  expect(cause.message).toContain(
    `Copy incomplete: backup ${newest.backupId} of shop is committed on primary but not on offsite: Copy of backup ${newest.backupId} failed: the source artifact does not match its manifest`,
  );
  expect(cause.message).toContain(`s3://${primary}/${newest.key}`);
  expect(await readManifest(off, 'shop', newest.backupId)).toBeUndefined();
  expect(await listKeys(offsite, `dr/shop/backups/${newest.backupId}/`)).toEqual([]);

  await s3Client().send(new PutObjectCommand({ Bucket: primary, Key: newest.key, Body: original }));
  const repaired = await run<{ copies: CopyResult[] }>('copyBackup', { database: 'shop', backupId: newest.backupId });
  expect(repaired.copies.map((c) => [c.storage, c.status])).toEqual([
    ['offsite', 'copied'],
    ['local', 'already-present'],
  ]);
  expect((await listBackups(off, 'shop')).backups.map((b) => b.backupId)).toContain(newest.backupId);
});

test('a copy whose bytes change on the way is caught by reading it back: nothing is committed on the destination', async () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'lb-flaky-'));
  const flakyCfg = { ...cfg, storage: { ...cfg.storage, flaky: { type: 'filesystem' as const, path: scratch, prefix: '' } } };
  const real = openStorage(flakyCfg, 'flaky');
  // A target that silently corrupts one byte of what it stores (bad disk, broken proxy).
  const flaky: Storage = Object.create(real, {
    putStream: {
      value: (key: string, body: Readable, opts: object) => {
        let first = true;
        const damaged = new PassThrough({
          transform(chunk: Buffer, _e, cb) {
            if (first && chunk.length > 0) {
              chunk = Buffer.from(chunk);
              chunk[0] ^= 0x01;
              first = false;
            }
            cb(null, chunk);
          },
        });
        body.pipe(damaged);
        return real.putStream(key, damaged, opts);
      },
    },
  });
  const { logger } = captureLogger();
  const newest = results[2]!;
  const attempt = copyBackup(
    flakyCfg,
    { database: 'shop', backupId: newest.backupId, from: 'primary', to: 'flaky', workflow: { workflowId: 'w', runId: 'r', attempt: 1 } },
    logger,
    {},
    (name) => (name === 'flaky' ? flaky : openStorage(flakyCfg, name)),
  );
  await expect(attempt).rejects.toMatchObject({
    code: 'COPY_FAILED',
    message: expect.stringMatching(/^Copy of backup \S+ failed: reading the copy back gives sha256 /),
  });
  expect(await real.list('shop/')).toEqual([]);
});
