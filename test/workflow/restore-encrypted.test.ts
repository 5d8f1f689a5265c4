// Restores and verifications of encrypted backups through the real worker, PostgreSQL and S3
// server: the worker that restores holds the identities (restore.identities), and one without a
// matching identity refuses before it creates anything.
import { WorkflowFailedError } from '@temporalio/client';
import { createSampleDatabase } from '../../dev/sample-data.js';
import { failureCause } from '../../src/contracts/index.js';
import type { BackupResult, RestoreResult, VerifyResult } from '../../src/contracts/index.js';
import { ageKey, gpgKey, removeTempDirs, writeTemp } from '../harness/keys.js';
import { createBucket, pgUrl, services, startWorker, testConfig, uniqueName, withPg, type RunningWorker } from '../harness/services.js';

let dbName: string;
let w: RunningWorker;
let stranger: RunningWorker;
let cfg: ReturnType<typeof testConfig>;
const age = ageKey();
const other = ageKey();
const gpg = gpgKey();
const keyring = writeTemp('recipients.asc', gpg.publicKey);

beforeAll(async () => {
  const bucket = await createBucket();
  dbName = uniqueName('lb_renc');
  await createSampleDatabase(services().pg.adminUrl, dbName, 0.2);
  const url = pgUrl(dbName);
  const base = testConfig({
    bucket,
    databases: {
      aged: { url, extra: { encryption: { age: { recipients: [age.recipient] } } } },
      gpged: { url, extra: { encryption: { gpg: { recipients: [gpg.fingerprint], keyring } } } },
    },
  });
  cfg = { ...base, restore: { identities: [{ file: writeTemp('age.txt', age.identity) }, { file: writeTemp('gpg.asc', gpg.secretKey) }] } };
  w = await startWorker(cfg);
  // Same storage and databases, another task queue, and only an identity the backups were not encrypted to.
  const strangerCfg = {
    ...cfg,
    temporal: { ...cfg.temporal, taskQueue: `${cfg.temporal.taskQueue}-stranger` },
    restore: { identities: [{ file: writeTemp('other.txt', other.identity) }] },
  };
  stranger = await startWorker(strangerCfg);
});

afterAll(async () => {
  await w?.stop();
  await stranger?.stop();
  removeTempDirs();
});

async function exists(db: string): Promise<boolean> {
  return withPg('postgres', async (c) => (await c.query('select 1 from pg_database where datname = $1', [db])).rowCount === 1);
}

async function rowCount(db: string, table: string): Promise<number> {
  return withPg(db, async (c) => Number((await c.query(`select count(*) from ${table}`)).rows[0].count));
}

test.each(['aged', 'gpged'])('an encrypted backup (%s) verifies and restores into a new database with the configured identity', async (database) => {
  const backup: BackupResult = await w.client.workflow.execute('backupDatabase', {
    taskQueue: cfg.temporal.taskQueue,
    workflowId: uniqueName('renc-backup'),
    args: [{ database, kind: 'full' }],
  });
  expect(backup.location).toMatch(database === 'aged' ? /\.age$/ : /\.gpg$/);
  const verified: VerifyResult = await w.client.workflow.execute('verifyBackup', {
    taskQueue: cfg.temporal.taskQueue,
    workflowId: uniqueName('renc-verify'),
    args: [{ database, backup: backup.backupId }],
  });
  expect(verified.outcome).toBe('passed');
  expect(verified.restoreDurationMs).toBeGreaterThan(0);
  const target = uniqueName(`${database}_restored`);
  const restored: RestoreResult = await w.client.workflow.execute('restoreDatabase', {
    taskQueue: cfg.temporal.taskQueue,
    workflowId: uniqueName('renc-restore'),
    args: [{ database, backup: backup.backupId, target }],
  });
  expect(restored.created).toBe(true);
  expect(restored.rowCounts?.mismatches).toEqual([]);
  expect(restored.rowCounts?.compared).toBeGreaterThan(3);
  expect(await rowCount(target, 'shop.customers')).toBe(await rowCount(dbName, 'shop.customers'));
});

test('without a matching identity the restore fails before the target exists, naming the recipients', async () => {
  const backup: BackupResult = await w.client.workflow.execute('backupDatabase', {
    taskQueue: cfg.temporal.taskQueue,
    workflowId: uniqueName('renc-backup'),
    args: [{ database: 'aged', kind: 'full' }],
  });
  const target = uniqueName('aged_denied');
  const err = await stranger.client.workflow
    .execute('restoreDatabase', {
      taskQueue: `${cfg.temporal.taskQueue}-stranger`,
      workflowId: uniqueName('renc-denied'),
      args: [{ database: 'aged', backup: backup.backupId, target }],
    })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = failureCause(err);
  expect(cause.type).toBe('NO_MATCHING_IDENTITY');
  expect(cause.message).toContain(age.recipient);
  expect(await exists(target)).toBe(false);
});
