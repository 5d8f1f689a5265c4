import pg from 'pg';
import { WorkflowFailedError } from '@temporalio/client';
import { createSampleDatabase } from '../../dev/sample-data.js';
import { approveRestoreUpdate, restoreProgressQuery, type RestoreResult } from '../../src/contracts/index.js';
import { createBucket, createRole, pgUrl, services, startWorker, testConfig, uniqueName, withPg, type RunningWorker } from '../harness/services.js';

// Restoring over a live database: an open session holds a long transaction with locks on the
// target. Restore-and-swap ends with the backup's data under the old name and the old database
// kept; in place, the restore ends its sessions and runs under a lock timeout. Nothing waits for ever.

let cfg: ReturnType<typeof testConfig>;
let w: RunningWorker;
const source = uniqueName('lb_swsrc');

beforeAll(async () => {
  const bucket = await createBucket();
  const role = await createRole();
  await createSampleDatabase(services().pg.adminUrl, source, 0.2);
  const ordersExist = { name: 'orders exist', sql: 'select count(*) > 0 from shop.orders' };
  cfg = testConfig({
    bucket,
    databases: {
      shop: { url: pgUrl(source, role), extra: { verify: { checks: [ordersExist] } } },
      // The same data with an assertion that fails: such a restore is never swapped in.
      shopchk: {
        url: pgUrl(source, role),
        extra: { verify: { checks: [ordersExist, { name: 'no orders at all', sql: 'select count(*) = 0 from shop.orders' }] } },
      },
    },
  });
  cfg.approvers = ['alice'];
  w = await startWorker(cfg);
  for (const database of ['shop', 'shopchk'])
    await w.client.workflow.execute('backupDatabase', { taskQueue: cfg.temporal.taskQueue, workflowId: uniqueName('backup'), args: [{ database }] });
});

afterAll(async () => {
  await w?.stop();
});

async function liveDatabase(): Promise<{ name: string; app: pg.Client; appError: Promise<Error> }> {
  const name = uniqueName('lb_live');
  await withPg('postgres', (c) => c.query(`create database ${name}`));
  await withPg(name, (c) =>
    c.query(`create schema shop; create table shop.orders (id int); create table keep_me (id int); insert into keep_me values (1), (2)`),
  );
  // The application: a long transaction holding an exclusive lock on a table the backup also has.
  const app = new pg.Client({ connectionString: pgUrl(name) });
  const appError = new Promise<Error>((resolve) => app.on('error', resolve));
  await app.connect();
  await app.query('begin; lock table shop.orders in access exclusive mode; select 1');
  return { name, app, appError };
}

async function approvedRestore(target: string, overwrite?: 'swap' | 'in-place', database = 'shop'): Promise<RestoreResult> {
  const handle = await w.client.workflow.start('restoreDatabase', {
    taskQueue: cfg.temporal.taskQueue,
    workflowId: uniqueName('restore-live'),
    args: [{ database, target, approvalTimeout: '1 minute', requestedBy: 'bob', ...(overwrite ? { overwrite } : {}) }],
  });
  for (let i = 0; i < 200 && (await handle.query(restoreProgressQuery).catch(() => undefined))?.phase !== 'awaiting-approval'; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await handle.executeUpdate(approveRestoreUpdate, { args: [{ approver: 'alice', target }] });
  return (await handle.result()) as RestoreResult;
}

const tables = (database: string) =>
  withPg(database, (c) =>
    c.query<{ t: string }>(`select schemaname || '.' || tablename as t from pg_tables where schemaname not in ('pg_catalog', 'information_schema') order by 1`),
  ).then((r) => r.rows.map((x) => x.t));
const count = (database: string, table: string) =>
  withPg(database, (c) => c.query<{ n: number }>(`select count(*)::int as n from ${table}`)).then((r) => r.rows[0]!.n);

test('restore-and-swap over a database with an open long transaction: new data under the old name, the old database kept, its session ended', async () => {
  const live = await liveDatabase();
  const started = Date.now();
  const r = await approvedRestore(live.name);
  expect(Date.now() - started).toBeLessThan(60_000);
  expect(r.keptAs).toMatch(new RegExp(`^${live.name}_before_\\d{8}t\\d{6}z$`));
  expect(r).toMatchObject({ target: live.name, targetDatabase: live.name, created: false, rowCounts: { mismatches: [] } });
  expect(r.notes.join('\n')).toContain(`the previous database is kept as ${r.keptAs}`);
  expect(r.notes).toContain('1/1 checks passed in the restored database before the swap');
  // The backup's data under the old name; nothing of the old database in it.
  expect(await tables(live.name)).toEqual(await tables(source));
  expect(await count(live.name, 'shop.orders')).toBe(await count(source, 'shop.orders'));
  // The old database, kept whole under its new name, and open to sessions again.
  expect(await tables(r.keptAs!)).toEqual(['public.keep_me', 'shop.orders']);
  expect(await count(r.keptAs!, 'keep_me')).toBe(2);
  // The application's session was ended rather than waited for.
  expect((await live.appError).message).toMatch(/terminat/i);
  await live.app.end().catch(() => undefined);
  const leftovers = await withPg('postgres', (c) =>
    c.query<{ d: string }>(`select datname as d from pg_database where datname like $1`, [`${live.name}_lbnew_%`]),
  );
  expect(leftovers.rows).toEqual([]);
});

test('restore-and-swap runs verify.checks in the restored database first: a failing check fails the restore, the old database untouched, the new one dropped', async () => {
  const live = await liveDatabase();
  const err = await approvedRestore(live.name, undefined, 'shopchk').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause as { cause?: { type?: string; message?: string } };
  expect(cause.cause?.type).toBe('VERIFICATION_FAILED');
  expect(cause.cause?.message).toContain(
    `Restore of shopchk into ${live.name} failed: 1 of 2 checks failed in the restored database, nothing was swapped: no orders at all (false)`,
  );
  // The old database is as it was, its session never ended; nothing else is left on the server.
  await live.app.query('select 1');
  await live.app.end();
  expect(await tables(live.name)).toEqual(['public.keep_me', 'shop.orders']);
  expect(await count(live.name, 'keep_me')).toBe(2);
  const leftovers = await withPg('postgres', (c) => c.query<{ d: string }>(`select datname as d from pg_database where datname like $1`, [`${live.name}_%`]));
  expect(leftovers.rows).toEqual([]);
});

test('in place, the restore ends the sessions holding locks and replaces the backup objects in one transaction', async () => {
  const live = await liveDatabase();
  const started = Date.now();
  const r = await approvedRestore(live.name, 'in-place');
  expect(Date.now() - started).toBeLessThan(60_000);
  expect(r.keptAs).toBeUndefined();
  expect(r.notes.join('\n')).toContain(`ended 1 sessions on ${live.name} before restoring in place`);
  expect((await live.appError).message).toMatch(/terminat/i);
  await live.app.end().catch(() => undefined);
  // --clean --if-exists: the backup's objects replace their namesakes, other objects stay.
  expect(await tables(live.name)).toEqual([...(await tables(source)), 'public.keep_me'].sort());
  expect(await count(live.name, 'shop.orders')).toBe(await count(source, 'shop.orders'));
});
