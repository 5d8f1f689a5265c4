// verifyBackup drops its scratch database in every outcome: checked with scripted activities (no
// database, no storage) on the real Temporal server and worker. test/workflow/verify-backup.test.ts
// covers the same workflow against PostgreSQL and S3.
import { Context } from '@temporalio/activity';
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import type { Activities } from '../../activities/index.js';
import { LifeboatError } from '../../src/errors.js';
import { verifyProgressQuery, type RestoreHeartbeat, type VerificationCheck } from '../../src/contracts/index.js';
import { BACKUP_ID, backupSummary, restoreResult } from '../harness/fakes.js';
import { scriptedWorker, waitFor, workflowFailure } from '../harness/logic.js';

const lw = scriptedWorker();

const SUBJECT = `Verification of orders backup ${BACKUP_ID}`;
const PASSING: VerificationCheck[] = [{ name: 'has customers', ok: true, value: true, sql: 'select count(*) > 0 from shop.customers' }];

/** The verification activities, each scripted to succeed; a test replaces the one whose outcome it changes. */
function verification(over: Partial<Activities> = {}): Partial<Activities> {
  return {
    resolveRestoreBackup: async (input) => backupSummary(input.database),
    restoreBackup: async (input) => restoreResult(input),
    runVerificationChecks: async () => PASSING,
    dropScratchDatabase: async () => ({ dropped: true }),
    recordVerification: async (input) => `orders/backups/${input.record.backupId}/verifications/x-${input.record.outcome}.json`,
    ...over,
  };
}

test('a passing verification drops its scratch database, then records the outcome', async () => {
  lw.script(verification());
  const result = await (await lw.start('verifyBackup', { database: 'orders' })).result();
  expect(result.outcome).toBe('passed');
  expect(result.checks.map((c) => [c.name, c.ok])).toEqual([
    ['checksum', true],
    ['restore', true],
    ['row counts', true],
    ['has customers', true],
  ]);
  expect(lw.called()).toEqual(['resolveRestoreBackup', 'restoreBackup', 'runVerificationChecks', 'dropScratchDatabase', 'recordVerification']);
  expect(lw.inputs('restoreBackup')).toEqual([expect.objectContaining({ target: result.scratchDatabase, scratch: true, expect: 'new' })]);
  expect(lw.inputs('dropScratchDatabase')).toEqual([{ database: 'orders', scratch: result.scratchDatabase }]);
});

test('a failed restore activity fails the verification with its own code, and the scratch database is still dropped', async () => {
  lw.script(
    verification({
      restoreBackup: async () => {
        throw new LifeboatError('RESTORE_FAILED', 'Restore of orders failed: pg_restore exited with code 1: could not create table', { subject: 'orders' });
      },
    }),
  );
  const failure = await workflowFailure((await lw.start('verifyBackup', { database: 'orders' })).result());
  expect(failure).toMatchObject({
    type: 'RESTORE_FAILED',
    message: `${SUBJECT} failed: Restore of orders failed: pg_restore exited with code 1: could not create table`,
  });
  expect(lw.called()).toEqual(['resolveRestoreBackup', 'restoreBackup', 'dropScratchDatabase', 'recordVerification']);
  const [record] = lw.inputs('recordVerification');
  expect(record!.record).toMatchObject({ outcome: 'failed', checks: [{ name: 'restore', ok: false }], restoreDurationMs: null });
  expect(lw.inputs('dropScratchDatabase')).toEqual([{ database: 'orders', scratch: record!.record.scratchDatabase }]);
});

test('a failing check fails VERIFICATION_FAILED naming the check, and the scratch database is dropped', async () => {
  lw.script(
    verification({
      runVerificationChecks: async () => [...PASSING, { name: 'no refunds', ok: false, value: false, sql: 'select count(*) = 0 from shop.refunds' }],
    }),
  );
  const failure = await workflowFailure((await lw.start('verifyBackup', { database: 'orders' })).result());
  expect(failure).toMatchObject({ type: 'VERIFICATION_FAILED', message: `${SUBJECT} failed: check "no refunds" returned false` });
  expect(lw.called()).toEqual(['resolveRestoreBackup', 'restoreBackup', 'runVerificationChecks', 'dropScratchDatabase', 'recordVerification']);
  expect(lw.inputs('recordVerification')[0]!.record.outcome).toBe('failed');
});

test('a verification cancelled mid-restore drops the scratch database and ends cancelled, recording nothing', async () => {
  lw.script(
    verification({
      // Heartbeats (which deliver the cancellation) until cancelled, like the real restore.
      restoreBackup: async () => {
        const ctx = Context.current();
        const hb: RestoreHeartbeat = { activity: 'restore', phase: 'restoring', rawBytes: 0, storedBytes: 0, elapsedMs: 0 };
        for (;;) {
          ctx.heartbeat(hb);
          await ctx.sleep(50);
        }
      },
    }),
  );
  const handle = await lw.start('verifyBackup', { database: 'orders' });
  const state = await waitFor(
    'restoring',
    () => handle.query(verifyProgressQuery),
    (s) => s.phase === 'restoring' && lw.called().includes('restoreBackup'),
  );
  await handle.cancel();
  const err = await handle.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  expect(lw.called()).toEqual(['resolveRestoreBackup', 'restoreBackup', 'dropScratchDatabase']);
  expect(lw.inputs('dropScratchDatabase')).toEqual([{ database: 'orders', scratch: state.scratchDatabase }]);
});

test('a scratch database that cannot be dropped fails the verification, naming it', async () => {
  lw.script(
    verification({
      dropScratchDatabase: async (input) => {
        throw new LifeboatError('AUTH_FAILED', `Drop of ${input.scratch} failed: password authentication failed for user "lifeboat"`, {
          subject: input.scratch,
        });
      },
    }),
  );
  const failure = await workflowFailure((await lw.start('verifyBackup', { database: 'orders' })).result());
  const [scratch] = lw.inputs('dropScratchDatabase').map((i) => i.scratch);
  expect(failure).toMatchObject({
    type: 'VERIFICATION_FAILED',
    message: `${SUBJECT} passed, but its scratch database ${scratch} could not be dropped: Drop of ${scratch} failed: password authentication failed for user "lifeboat"`,
  });
  expect(lw.inputs('recordVerification')[0]!.record.outcome).toBe('passed');
});
