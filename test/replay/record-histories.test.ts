// Records the committed replay histories of every workflow type but runRunbook (whose histories
// test/workflow/runbook.test.ts records) from real runs: a real worker, PostgreSQL, S3. Runs only
// with LIFEBOAT_RECORD_HISTORIES=1, after an intended change to workflow code:
//   LIFEBOAT_RECORD_HISTORIES=1 npm test -- test/replay
import { rmSync } from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { createSampleDatabase } from '../../dev/sample-data.js';
import {
  WORKFLOWS,
  failureCause,
  approveRestoreUpdate,
  purgeApproveUpdate,
  purgeProgressQuery,
  restoreProgressQuery,
  type WorkflowName,
  type WorkflowTypes,
} from '../../src/contracts/index.js';
import { createBucket, createRole, pgUrl, services, startWorker, testConfig, uniqueName, withPg, type RunningWorker } from '../harness/services.js';
import { waitFor } from '../harness/logic.js';
import { historiesDir, historyFiles, replay, saveHistory, workflowTypeOf } from './histories.js';

const recording = process.env.LIFEBOAT_RECORD_HISTORIES === '1';
const describeRecording = recording ? describe : describe.skip;

let w: RunningWorker;
let cfg: ReturnType<typeof testConfig>;
let secrets: string[];
const saved: string[] = [];

/** Runs a workflow to its end (success or failure) and saves its history as `<type>-<name>.json`. */
async function record<K extends WorkflowName>(
  type: K,
  name: string,
  input: Parameters<WorkflowTypes[K]>[0],
  during?: (h: WorkflowHandle<WorkflowTypes[K]>) => Promise<void>,
): Promise<{ value?: Awaited<ReturnType<WorkflowTypes[K]>>; failure?: { type?: string; message: string } }> {
  const handle = await start(type, input);
  await during?.(handle);
  const out = await handle.result().then(
    (value) => ({ value }),
    (err: unknown) => {
      if (!(err instanceof WorkflowFailedError)) throw err;
      return { failure: failureCause(err) };
    },
  );
  saved.push(saveHistory(handle.workflowId, `${type}-${name}`, secrets));
  return out as { value?: Awaited<ReturnType<WorkflowTypes[K]>>; failure?: { type?: string; message: string } };
}

function start<K extends WorkflowName>(type: K, input: Parameters<WorkflowTypes[K]>[0]) {
  return w.client.workflow.start<WorkflowTypes[K]>(WORKFLOWS[type], {
    taskQueue: cfg.temporal.taskQueue,
    workflowId: uniqueName(type),
    args: [input] as Parameters<WorkflowTypes[K]>,
  });
}

describeRecording('recording replay histories from real runs (skipped unless LIFEBOAT_RECORD_HISTORIES=1)', () => {
  beforeAll(async () => {
    const [primary, offsite] = await Promise.all([createBucket('lb-rec'), createBucket('lb-rec-off')]);
    const role = await createRole('lb_rec');
    const shop = uniqueName('lb_rec_shop');
    const staging = uniqueName('lb_rec_staging');
    await createSampleDatabase(services().pg.adminUrl, shop, 0.1);
    await withPg('postgres', (c) => c.query(`create database ${staging}`));
    await withPg(staging, (c) => c.query(`create table keep_me (id int primary key); insert into keep_me values (1)`));
    const s3 = services().s3;
    cfg = testConfig({
      bucket: primary,
      extraStorage: {
        offsite: {
          type: 's3',
          bucket: offsite,
          region: s3.region,
          endpoint: s3.endpoint,
          forcePathStyle: true,
          accessKeyId: s3.accessKeyId,
          secretAccessKey: { env: 'LB_TEST_S3_SECRET' },
        },
      },
      databases: {
        shop: {
          url: pgUrl(shop, role),
          extra: {
            storage: ['primary', 'offsite'],
            retention: { keepLast: 1, minKeep: 1, purgeApprovers: ['alice', 'bob'] },
            verify: { checks: [{ name: 'has customers', sql: 'select count(*) > 0 from shop.customers' }] },
          },
        },
        vfail: {
          url: pgUrl(shop, role),
          extra: { retention: { keepLast: 1, minKeep: 1 }, verify: { checks: [{ name: 'no customers', sql: 'select count(*) = 0 from shop.customers' }] } },
        },
        locked: { url: pgUrl(shop, { name: role.name, password: 'not-the-password' }) },
      },
    });
    process.env.LB_REC_STAGING_URL = pgUrl(staging, role);
    cfg.targets = { staging: { engine: 'postgres', url: { env: 'LB_REC_STAGING_URL' }, protected: true } };
    cfg.approvers = ['alice'];
    secrets = [role.password, s3.secretAccessKey, decodeURIComponent(new URL(services().pg.adminUrl).password)];
    w = await startWorker(cfg, { heartbeatIntervalMs: 300 });
  });

  afterAll(async () => {
    await w?.stop();
  });

  let first: string;

  test('backupDatabase: committed and copied; refused by the server', async () => {
    const copied = await record('backupDatabase', 'copied', { database: 'shop' });
    expect(copied.value?.copies?.map((c) => c.storage)).toEqual(['offsite']);
    first = copied.value!.backupId;
    expect((await record('backupDatabase', 'auth-failed', { database: 'locked' })).failure?.type).toBe('AUTH_FAILED');
  });

  test('copyBackup: already present; no such backup', async () => {
    expect((await record('copyBackup', 'already-present', { database: 'shop', backupId: first })).value?.copies.map((c) => c.status)).toEqual([
      'already-present',
    ]);
    expect((await record('copyBackup', 'missing-backup', { database: 'shop', backupId: '20200101T000000Z-full-00000000' })).failure?.type).toBe(
      'COPY_INCOMPLETE',
    );
  });

  test('restoreDatabase: into a new database; approved after a refusal; no approval in time', async () => {
    expect((await record('restoreDatabase', 'new-target', { database: 'shop', target: uniqueName('lb_rec_restored') })).value?.created).toBe(true);
    const approved = await record(
      'restoreDatabase',
      'approved',
      { database: 'shop', target: 'staging', approvalTimeout: '5 minutes', requestedBy: 'bob' },
      async (h) => {
        await waitFor(
          'awaiting-approval',
          () => h.query(restoreProgressQuery),
          (s) => s.phase === 'awaiting-approval',
        );
        const refused = await h.executeUpdate(approveRestoreUpdate, { args: [{ approver: 'mallory', target: 'staging' }] }).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
        await h.executeUpdate(approveRestoreUpdate, { args: [{ approver: 'alice', target: 'staging' }] });
      },
    );
    expect(approved.value?.approvedBy).toBe('alice');
    expect((await record('restoreDatabase', 'approval-timeout', { database: 'shop', target: 'staging', approvalTimeout: '1s' })).failure?.type).toBe(
      'APPROVAL_REQUIRED',
    );
  });

  test('verifyBackup: passed; a failing check', async () => {
    expect((await record('verifyBackup', 'passed', { database: 'shop' })).value?.outcome).toBe('passed');
    await start('backupDatabase', { database: 'vfail' }).then((h) => h.result());
    expect((await record('verifyBackup', 'check-failed', { database: 'vfail' })).failure?.type).toBe('VERIFICATION_FAILED');
  });

  test('applyRetention: dry run; pruned on both targets; halted (no good backup)', async () => {
    // `first` is the newest verified backup (always kept), the newest is kept by keepLast 1: the one between goes.
    const between = (await start('backupDatabase', { database: 'shop' }).then((h) => h.result())).backupId;
    await start('backupDatabase', { database: 'shop' }).then((h) => h.result());
    const dry = await record('applyRetention', 'dry-run', { database: 'shop', dryRun: true });
    expect(dry.value?.targets.map((t) => [t.storage, t.delete.map((d) => d.backupId)])).toEqual([
      ['primary', [between]],
      ['offsite', [between]],
    ]);
    const pruned = await record('applyRetention', 'pruned', { database: 'shop' });
    expect(pruned.value?.targets.map((t) => [t.storage, t.delete.map((d) => d.backupId)])).toEqual([
      ['primary', [between]],
      ['offsite', [between]],
    ]);
    expect((await record('applyRetention', 'halted', { database: 'vfail' })).failure?.type).toBe('RETENTION_HALTED');
  });

  test('purgeBackups: approved by another approver; not approved in time', async () => {
    const before = new Date().toISOString();
    expect((await record('purgeBackups', 'not-approved', { database: 'shop', before, approvalTimeout: '1s' })).failure?.type).toBe('NOT_APPROVED');
    const approved = await record(
      'purgeBackups',
      'approved',
      { database: 'shop', before, requestedBy: 'bob', reason: 'erasure request 4711', approvalTimeout: '5 minutes' },
      async (h) => {
        await waitFor(
          'awaiting-approval',
          () => h.query(purgeProgressQuery),
          (s) => s.phase === 'awaiting-approval',
        );
        await h.executeUpdate(purgeApproveUpdate, { args: [{ approver: 'alice', database: 'shop' }] });
      },
    );
    expect(approved.value?.approvedBy).toBe('alice');
  });

  test('the recorded histories replay; histories of these types that were not re-recorded are removed', async () => {
    expect(saved).toHaveLength(14);
    const types = new Set(saved.map((f) => workflowTypeOf(f)));
    for (const f of historyFiles()) {
      const file = path.join(historiesDir, f);
      if (types.has(workflowTypeOf(file)) && !saved.includes(file)) rmSync(file);
    }
    const r = await replay(saved);
    expect(r.lines.filter((l) => !l.startsWith('replayed '))).toEqual([]);
    expect(r.exitCode).toBe(0);
  });
});
