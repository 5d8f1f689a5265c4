import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jest } from '@jest/globals';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { createSampleDatabase } from '../../dev/sample-data.js';
import { main } from '../../src/cli/main.js';
import { failureCause } from '../../src/cli/follow.js';
import { approveRestoreUpdate, restoreProgressQuery, type RestoreResult } from '../../src/contracts/index.js';
import { createBucket, createRole, pgUrl, services, startWorker, testConfig, uniqueName, withPg, type RunningWorker } from '../harness/services.js';

// Four eyes on real services: whoever requests a restore over a protected target of a production
// database cannot approve it, through the workflow, the CLI (which acts as the OS user) or --local.

const me = os.userInfo().username;
let cfg: ReturnType<typeof testConfig>;
let w: RunningWorker;
let configFile: string;
const db = { shop: uniqueName('lb_4shop'), staging: uniqueName('lb_4staging') };

beforeAll(async () => {
  const bucket = await createBucket();
  const role = await createRole();
  await createSampleDatabase(services().pg.adminUrl, db.shop, 0.2);
  await withPg('postgres', (c) => c.query(`create database ${db.staging}`));
  await withPg(db.staging, (c) => c.query(`create table keep_me (id int); insert into keep_me values (1)`));
  cfg = testConfig({ bucket, databases: { shop: { url: pgUrl(db.shop, role) } } });
  process.env.LB_4EYES_STAGING_URL = pgUrl(db.staging, role);
  cfg.targets = { staging: { engine: 'postgres', url: { env: 'LB_4EYES_STAGING_URL' }, protected: true } };
  cfg.approvers = ['alice', 'bob', me];
  const { sourcePath: _s, ...raw } = cfg;
  configFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'lb-4eyes-')), 'lifeboat.json');
  writeFileSync(configFile, JSON.stringify(raw));
  w = await startWorker(cfg);
  await w.client.workflow.execute('backupDatabase', { taskQueue: cfg.temporal.taskQueue, workflowId: uniqueName('backup'), args: [{ database: 'shop' }] });
});

afterAll(async () => {
  await w?.stop();
});

const stagingTables = () =>
  withPg(db.staging, (c) =>
    c.query<{ t: string }>(`select schemaname || '.' || tablename as t from pg_tables where schemaname not in ('pg_catalog', 'information_schema') order by 1`),
  ).then((r) => r.rows.map((x) => x.t));

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const spies = [process.stdout, process.stderr].map((s) => jest.spyOn(s, 'write').mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true)));
  try {
    return { code: await main(['node', 'lifeboat', '--config', configFile, ...args]), out: out.join('') };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}

async function waitForApproval(handle: WorkflowHandle): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await handle.query(restoreProgressQuery).catch(() => undefined))?.phase === 'awaiting-approval') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the restore never waited for an approval');
}

test("the requester's own approval of a protected restore is refused with the reason; another approver's is accepted", async () => {
  const handle = await w.client.workflow.start('restoreDatabase', {
    taskQueue: cfg.temporal.taskQueue,
    workflowId: uniqueName('restore-4eyes'),
    args: [{ database: 'shop', target: 'staging', approvalTimeout: '1 minute', requestedBy: 'alice' }],
  });
  await waitForApproval(handle);
  expect(await handle.query(restoreProgressQuery)).toMatchObject({ requestedBy: 'alice', inspection: { protected: true, fourEyes: true } });
  const refused = await handle.executeUpdate(approveRestoreUpdate, { args: [{ approver: 'alice', target: 'staging' }] }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
  expect(failureCause(refused)).toEqual({
    type: 'APPROVAL_REJECTED',
    message:
      'Approval of the restore into staging rejected: alice requested this restore and may not approve it: four eyes apply (databases.shop.fourEyes), another approver must approve',
  });
  expect(await stagingTables()).toEqual(['public.keep_me']);
  expect(await handle.executeUpdate(approveRestoreUpdate, { args: [{ approver: 'bob', target: 'staging' }] })).toEqual({
    approvedBy: 'bob',
    target: 'staging',
  });
  expect(await handle.result()).toMatchObject({ approvedBy: 'bob', target: 'staging', created: false } satisfies Partial<RestoreResult>);
});

test('the CLI requests and approves as the OS user: approving its own protected restore is refused, and so is a name that is not the user', async () => {
  await withPg(db.staging, (c) => c.query('drop schema if exists shop cascade; drop schema if exists "Audit" cascade'));
  const before = await stagingTables();
  const self = await cli('restore', 'shop', '--target', 'staging', '--approve', 'staging', '--approval-timeout', '3s');
  expect(self.code).toBe(1);
  expect(self.out).toContain(
    `Approval of the restore into staging rejected: ${me} requested this restore and may not approve it: four eyes apply (databases.shop.fourEyes), another approver must approve`,
  );
  const other = await cli('restore', 'shop', '--target', 'staging', '--approve', 'staging', '--approver', 'bob-not-me');
  expect(other.code).toBe(2);
  expect(other.out).toContain(`--approver bob-not-me refused: approvals are made as the OS user running lifeboat (${me})`);
  const local = await cli('restore', 'shop', '--target', 'staging', '--local', '--approve', 'staging');
  expect(local.code).toBe(1);
  expect(local.out).toContain(`${me} requested this restore and may not approve it`);
  expect(local.out).toContain('--local has no second person');
  expect(await stagingTables()).toEqual(before);
});
