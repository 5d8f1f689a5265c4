// Restore and verification of encrypted backups through the real worker, PostgreSQL and S3 server:
// the worker decrypts with `restore.identities`, and without a matching identity nothing is touched.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createSampleDatabase } from '../../dev/sample-data.js';
import type { BackupResult, RestoreInput, RestoreResult, VerifyResult } from '../../src/contracts/index.js';
import { ageKey, gpgKey, removeTempDirs, tempDir, writeTemp } from '../harness/keys.js';
import { createBucket, getObject, pgUrl, s3Client, services, startWorker, testConfig, uniqueName, withPg, type RunningWorker } from '../harness/services.js';
import { databaseExists, failureOf } from '../harness/assertions.js';

let bucket: string;
let dbName: string;
let w: RunningWorker;
let cfg: ReturnType<typeof testConfig>;
const age = ageKey();
const stranger = ageKey();
const gpg = gpgKey();
const keys = tempDir('lb-restore-keys-');
const keyring = writeTemp('recipients.asc', gpg.publicKey, keys);

beforeAll(async () => {
  bucket = await createBucket();
  dbName = uniqueName('lb_renc');
  await createSampleDatabase(services().pg.adminUrl, dbName, 0.2);
  const url = pgUrl(dbName);
  cfg = testConfig({
    bucket,
    databases: {
      aged: { url, compression: { codec: 'none' }, extra: { encryption: { age: { recipients: [age.recipient] } } } },
      gpged: { url, extra: { encryption: { gpg: { recipients: [gpg.fingerprint], keyring } } } },
      strangers: { url, extra: { encryption: { age: { recipients: [stranger.recipient] } } } },
    },
  });
  cfg.restore = { ...cfg.restore, identities: [{ file: writeTemp('age.txt', age.identity, keys) }, { file: writeTemp('secret.asc', gpg.secretKey, keys) }] };
  w = await startWorker(cfg);
});

afterAll(async () => {
  await w?.stop();
  removeTempDirs();
});

const run = <T>(workflow: string, input: unknown) =>
  w.client.workflow.execute(workflow, { taskQueue: cfg.temporal.taskQueue, workflowId: uniqueName(workflow), args: [input] }) as Promise<T>;
const backup = (database: string) => run<BackupResult>('backupDatabase', { database });
const restore = (input: RestoreInput) => run<RestoreResult>('restoreDatabase', input);

async function countRows(database: string, table: string): Promise<number> {
  const [schema, name] = table.split('.').map((p) => p.replace(/^"|"$/g, ''));
  return withPg(database, async (c) => Number((await c.query(`select count(*) from only "${schema}"."${name}"`)).rows[0].count));
}

test.each(['aged', 'gpged'])('an encrypted backup (%s) restores into a new database with equal row counts, and verifies', async (database) => {
  const b = await backup(database);
  const stored = await getObject(bucket, b.key);
  if (database === 'aged') {
    expect(stored.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    expect(stored.includes(Buffer.from('user99@example.com'))).toBe(false);
    expect(stored.includes(Buffer.from('PGDMP'))).toBe(false);
  } else {
    expect(b.key).toMatch(/\.gpg$/);
    expect(stored.includes(Buffer.from('PGDMP'))).toBe(false);
  }

  const target = uniqueName(`lb_renc_${database}`);
  const r = await restore({ database, backup: b.backupId, target });
  expect(r).toMatchObject({ backupId: b.backupId, created: true, bytes: stored.length });
  expect(r.rowCounts!.compared).toBeGreaterThan(3);
  expect(r.rowCounts!.mismatches).toEqual([]);
  expect(await countRows(target, 'shop.customers')).toBeGreaterThan(0);

  const v = await run<VerifyResult>('verifyBackup', { database, backup: b.backupId });
  expect(v).toMatchObject({ backupId: b.backupId, outcome: 'passed' });
});

test('without a matching identity restore and verification fail before the target exists, naming the recipients', async () => {
  const b = await backup('strangers');
  const target = uniqueName('lb_renc_never');
  const r = await failureOf(restore({ database: 'strangers', backup: b.backupId, target }));
  expect(r.type).toBe('NO_MATCHING_IDENTITY');
  expect(r.message).toContain(
    `Restore of strangers into ${target} failed: no identity can decrypt backup ${b.backupId}: it is encrypted with age to ${stranger.recipient}; restore.identities holds keys for ${age.recipient}`,
  );
  expect(await databaseExists(target)).toBe(false);

  const v = await failureOf(run<VerifyResult>('verifyBackup', { database: 'strangers', backup: b.backupId }));
  expect(v.type).toBe('NO_MATCHING_IDENTITY');
  expect(v.message).toContain(stranger.recipient);
  const scratches = await withPg('postgres', async (c) => (await c.query(`select datname from pg_database where datname like 'lb_verify_strangers%'`)).rows);
  expect(scratches).toEqual([]);
});

test('with temporal.restoreTaskQueue the restore activity runs on the restore worker holding the identities; the other worker holds none', async () => {
  const restoreQueue = uniqueName('lifeboat-restore');
  const backupSide = { ...cfg, temporal: { ...cfg.temporal, taskQueue: uniqueName('lifeboat-main'), restoreTaskQueue: restoreQueue }, restore: {} };
  const restoreSide = { ...cfg, temporal: { ...backupSide.temporal } };
  const main = await startWorker(backupSide);
  const restorer = await startWorker(restoreSide, { restoreOnly: true });
  try {
    const b = await main.client.workflow.execute('backupDatabase', {
      taskQueue: backupSide.temporal.taskQueue,
      workflowId: uniqueName('enc'),
      args: [{ database: 'aged' }],
    });
    const target = uniqueName('lb_renc_queue');
    const workflowId = uniqueName('restore-queue');
    const r: RestoreResult = await main.client.workflow.execute('restoreDatabase', {
      taskQueue: backupSide.temporal.taskQueue,
      workflowId,
      args: [{ database: 'aged', backup: b.backupId, target }],
    });
    expect(r.rowCounts!.mismatches).toEqual([]);
    const history = await main.client.workflow.getHandle(workflowId).fetchHistory();
    const scheduled = (history.events ?? [])
      .map((e) => e.activityTaskScheduledEventAttributes)
      .filter((a) => a != null)
      .map((a) => [a.activityType?.name, a.taskQueue?.name]);
    expect(scheduled).toContainEqual(['restoreBackup', restoreQueue]);
    expect(scheduled.filter(([name]) => name !== 'restoreBackup').every(([, queue]) => queue === backupSide.temporal.taskQueue)).toBe(true);
    // The backup-side worker could not have decrypted it: it has no identities.
    expect(main.lines.join('\n')).not.toContain('restore tool finished');
    expect(restorer.lines.join('\n')).toContain('restore tool finished');
  } finally {
    await Promise.all([main.stop(), restorer.stop()]);
  }
});

test('a recovery README is written once at the storage prefix, naming the stock-tool restore commands, and never rewritten', async () => {
  await backup('aged');
  const readme = (await getObject(bucket, 'README-RECOVERY.txt')).toString();
  for (const command of [
    'sha256sum -c -',
    'pg_restore --exit-on-error --no-owner --no-acl -j 4 -d orders_restore backup.dump',
    'age -d -i key.txt backup.dump.zst.age | zstd -dc > backup.dump',
    'gpg --batch --decrypt backup.dump.zst.gpg | zstd -dc > backup.dump',
    'zstd -dc backup.sql.zst | mysql orders_restore',
    '<database>/backups/<backup-id>/manifest.json',
  ]) {
    expect(readme).toContain(command);
  }
  // An operator's edit stays: later backups see the object and do not write it again.
  await s3Client().send(new PutObjectCommand({ Bucket: bucket, Key: 'README-RECOVERY.txt', Body: 'edited by the operator\n' }));
  await backup('gpged');
  expect((await getObject(bucket, 'README-RECOVERY.txt')).toString()).toBe('edited by the operator\n');
});
