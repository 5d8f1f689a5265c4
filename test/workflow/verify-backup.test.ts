import { readFileSync, readdirSync } from 'node:fs';
import { WorkflowFailedError, CancelledFailure } from '@temporalio/client';
import { createSampleDatabase } from '../../dev/sample-data.js';
import { openStorage } from '../../src/storage/index.js';
import { latestVerification } from '../../src/restore/index.js';
import { failureCause } from '../../src/cli/follow.js';
import { verifyProgressQuery } from '../../src/contracts/index.js';
import type { BackupResult, RestoreResult, VerifyResult } from '../../src/contracts/index.js';
import { createBucket, createRole, pgUrl, services, startWorker, testConfig, uniqueName, withPg, type RunningWorker } from '../harness/services.js';

let bucket: string;
let w: RunningWorker;
let cfg: ReturnType<typeof testConfig>;
const db = { shop: uniqueName('lb_vshop'), slow: uniqueName('lb_vslow') };

// Rows whose check constraint sleeps while being restored into a scratch database (not at the
// source): pg_restore spends about 15 s in COPY, long enough to cancel the verification mid-restore.
const SLOW_SQL = `
create function public.slow_ok(x int) returns boolean language plpgsql as $$
begin
  if current_database() like 'lb\\_verify\\_%' then perform pg_sleep(0.025); end if;
  return true;
end $$;
create table public.slow (id int primary key, v text, constraint slow_check check (public.slow_ok(id)));
insert into public.slow select g, 'row ' || g from generate_series(1, 600) g;
`;

beforeAll(async () => {
  bucket = await createBucket();
  const role = await createRole();
  await createSampleDatabase(services().pg.adminUrl, db.shop, 0.2);
  await withPg('postgres', (c) => c.query(`create database ${db.slow}`));
  await withPg(db.slow, (c) => c.query(SLOW_SQL));
  cfg = testConfig({
    bucket,
    databases: {
      vshop: {
        url: pgUrl(db.shop, role),
        extra: {
          verify: {
            checks: [
              { name: 'has customers', sql: 'select count(*) > 0 from shop.customers' },
              { name: 'orders total', sql: 'select sum(total) > 0 from shop.orders' },
            ],
          },
        },
      },
      vfailing: { url: pgUrl(db.shop, role), extra: { verify: { checks: [{ name: 'no customers', sql: 'select count(*) = 0 from shop.customers' }] } } },
      vslow: { url: pgUrl(db.slow, role) },
    },
  });
  w = await startWorker(cfg, { heartbeatIntervalMs: 300 });
});

afterAll(async () => {
  await w?.stop();
});

const start = (workflow: string, input: unknown) =>
  w.client.workflow.start(workflow, { taskQueue: cfg.temporal.taskQueue, workflowId: uniqueName(workflow), args: [input] });
const run = async <T>(workflow: string, input: unknown) => (await (await start(workflow, input)).result()) as T;
const backup = (database: string) => run<BackupResult>('backupDatabase', { database });

async function scratchDatabases(database: string): Promise<string[]> {
  return withPg('postgres', async (c) =>
    (await c.query<{ datname: string }>(`select datname from pg_database where datname like $1`, [`lb_verify_${database}_%`])).rows.map((r) => r.datname),
  );
}

test('a verification restores into a scratch database, passes every check, records the outcome with the restore time, and drops the scratch database', async () => {
  const b = await backup('vshop');
  const v = await run<VerifyResult>('verifyBackup', { database: 'vshop' });
  expect(v).toMatchObject({ database: 'vshop', backupId: b.backupId, outcome: 'passed', formatVersion: 1 });
  expect(v.scratchDatabase).toMatch(/^lb_verify_vshop_\d{8}t\d{6}z_[0-9a-f]{6}$/);
  expect(v.checks.map((c) => [c.name, c.ok])).toEqual([
    ['checksum', true],
    ['restore', true],
    ['row counts', true],
    ['has customers', true],
    ['orders total', true],
  ]);
  expect(v.checks[2]!.value).toBe(`${b.tables} tables equal to the manifest`);
  expect(v.checks[3]).toMatchObject({ value: true, sql: 'select count(*) > 0 from shop.customers' });
  expect(v.restoreDurationMs).toBeGreaterThan(0);
  process.stderr.write(`\nverification of a ${(b.rawBytes / 1024 / 1024).toFixed(1)} MiB dump: restore ${v.restoreDurationMs} ms\n`);
  expect(await scratchDatabases('vshop')).toEqual([]);

  const storage = openStorage(cfg, 'primary');
  expect(v.recordKey).toMatch(new RegExp(`^vshop/backups/${b.backupId}/verifications/\\d{8}T\\d{6}Z-passed-[A-Za-z0-9]+\\.json$`));
  const { recordKey, ...record } = v;
  expect(await latestVerification(storage, 'vshop', b.backupId)).toEqual(record);
  expect(recordKey).toBeTruthy();

  // latest-verified skips a newer backup that was never verified; { before } picks by start time.
  const newer = await backup('vshop');
  const verified = await run<RestoreResult>('restoreDatabase', { database: 'vshop', backup: 'latest-verified', target: uniqueName('lb_lv') });
  expect(verified.backupId).toBe(b.backupId);
  const latest = await run<RestoreResult>('restoreDatabase', { database: 'vshop', backup: 'latest', target: uniqueName('lb_l') });
  expect(latest.backupId).toBe(newer.backupId);
  const justBeforeNewer = new Date(Date.parse(await manifestStart(newer)) - 1).toISOString();
  const before = await run<RestoreResult>('restoreDatabase', { database: 'vshop', backup: { before: justBeforeNewer }, target: uniqueName('lb_b') });
  expect(before.backupId).toBe(b.backupId);
});

async function manifestStart(b: BackupResult): Promise<string> {
  const storage = openStorage(cfg, 'primary');
  return JSON.parse((await storage.getBuffer(b.key.replace(/[^/]+$/, 'manifest.json'))).toString()).startedAt as string;
}

test('a failing check fails the verification, names the check, records the failure and drops the scratch database', async () => {
  const b = await backup('vfailing');
  const err = await run('verifyBackup', { database: 'vfailing' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect(failureCause(err)).toEqual({
    type: 'VERIFICATION_FAILED',
    message: `Verification of vfailing backup ${b.backupId} failed: check "no customers" returned false`,
  });
  expect(await scratchDatabases('vfailing')).toEqual([]);
  const record = await latestVerification(openStorage(cfg, 'primary'), 'vfailing', b.backupId);
  expect(record?.outcome).toBe('failed');
  expect(record?.checks.find((c) => c.name === 'no customers')).toMatchObject({ ok: false, value: false });
  expect(record?.checks.find((c) => c.name === 'row counts')?.ok).toBe(true);
  // A backup whose newest verification failed is not "latest-verified".
  const none = await run('restoreDatabase', { database: 'vfailing', backup: 'latest-verified', target: uniqueName('lb_none') }).catch((e: unknown) => e);
  expect(failureCause(none)).toMatchObject({
    type: 'BACKUP_NOT_FOUND',
    message: expect.stringMatching(/^Restore of vfailing failed: no committed full backup whose newest verification passed in primary$/),
  });
});

/** Whether a pg_restore process (found through its PGDATABASE environment) still restores into `database`. */
function pgRestoreRunningFor(database: string): boolean {
  return readdirSync('/proc').some((pid) => {
    try {
      return (
        /^\d+$/.test(pid) &&
        readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'pg_restore' &&
        readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`PGDATABASE=${database}`)
      );
    } catch {
      return false;
    }
  });
}

test('a verification cancelled mid-restore stops pg_restore and drops the scratch database', async () => {
  await backup('vslow');
  const handle = await start('verifyBackup', { database: 'vslow' });
  let scratch: string | undefined;
  let copying = false;
  for (let i = 0; i < 300 && !copying; i++) {
    await new Promise((r) => setTimeout(r, 50));
    scratch = (await handle.query(verifyProgressQuery).catch(() => undefined))?.scratchDatabase;
    if (!scratch) continue;
    copying = await withPg(
      'postgres',
      async (c) => (await c.query(`select 1 from pg_stat_activity where datname = $1 and query ilike 'copy%'`, [scratch])).rows.length > 0,
    );
  }
  expect(copying).toBe(true);
  expect(pgRestoreRunningFor(scratch!)).toBe(true);
  expect(await scratchDatabases('vslow')).toEqual([scratch]);
  const cancelledAt = Date.now();
  await handle.cancel();
  const err = await handle.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  expect(Date.now() - cancelledAt).toBeLessThan(10_000); // well before the 15 s the COPY would take
  expect(await scratchDatabases('vslow')).toEqual([]);
  expect(pgRestoreRunningFor(scratch!)).toBe(false);
});
