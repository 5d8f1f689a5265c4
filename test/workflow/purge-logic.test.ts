// purgeBackups' approval rules with scripted activities (no storage): the real Temporal server and
// worker. test/workflow/retention-purge.test.ts covers the same workflow against S3 and a directory.
import type { Activities } from '../../activities/index.js';
import { purgeApproveUpdate, purgeProgressQuery } from '../../src/contracts/index.js';
import { purgePlan } from '../harness/fakes.js';
import { scriptedWorker, updateRefusal, waitFor, workflowFailure } from '../harness/logic.js';

const lw = scriptedWorker();

const BEFORE = '2025-01-01T00:00:00.000Z';
const PLAN = [purgePlan('primary', ['20240601T020000Z-full-aaaaaaaa']), purgePlan('local', ['20240601T020000Z-full-aaaaaaaa'])];

function purge(approvers: string[]): Partial<Activities> {
  return {
    planPurge: async () => ({ targets: PLAN, approvers }),
    writePurgeAudit: async (input) => [`${input.record.database}/audit/${input.compactTime}-purge.json`],
    executePurge: async (input) => ({
      storage: input.storage,
      deleted: ['20240601T020000Z-full-aaaaaaaa'],
      leftovers: 0,
      uploads: 0,
      bytes: 1000,
      problems: [],
    }),
  };
}

test('the requester may not approve their own purge; another approver who types the database out can, and the intent is audited before deleting', async () => {
  lw.script(purge(['alice', 'bob']));
  const handle = await lw.start('purgeBackups', {
    database: 'orders',
    before: BEFORE,
    reason: 'erasure request 4711',
    requestedBy: 'alice',
    approvalTimeout: '10 minutes',
  });
  const waiting = await waitFor(
    'awaiting-approval',
    () => handle.query(purgeProgressQuery),
    (s) => s.phase === 'awaiting-approval',
  );
  expect(waiting).toMatchObject({ approvers: ['alice', 'bob'], plan: PLAN });

  const approve = (approver: string, database = 'orders') => handle.executeUpdate(purgeApproveUpdate, { args: [{ approver, database }] });
  expect(await updateRefusal(approve('alice'))).toEqual({
    type: 'APPROVAL_REJECTED',
    message: 'Approval rejected: alice requested this purge and may not approve it',
  });
  expect(await updateRefusal(approve('mallory'))).toEqual({
    type: 'APPROVAL_REJECTED',
    message: 'Approval rejected: mallory may not approve purges of orders (allowed: alice, bob)',
  });
  expect(await updateRefusal(approve('bob', 'order'))).toEqual({
    type: 'APPROVAL_REJECTED',
    message: 'Approval rejected: the database typed out ("order") is not "orders"',
  });
  expect(lw.called()).toEqual(['planPurge']);

  expect(await approve('bob')).toMatchObject({ approvedBy: 'bob' });
  const result = await handle.result();
  expect(result).toMatchObject({
    database: 'orders',
    approvedBy: 'bob',
    audit: ['orders/audit/' + lw.inputs('writePurgeAudit')[0]!.compactTime + '-purge.json'],
  });
  expect(lw.called()).toEqual(['planPurge', 'writePurgeAudit', 'executePurge', 'executePurge', 'writePurgeAudit']);
  const [intent, done] = lw.inputs('writePurgeAudit').map((i) => i.record);
  expect(intent).toMatchObject({ status: 'approved', requestedBy: 'alice', approvedBy: 'bob', reason: 'erasure request 4711', targets: [] });
  expect(done).toMatchObject({ status: 'completed', targets: [{ storage: 'primary' }, { storage: 'local' }] });
});

test('without an approval before the timeout nothing is deleted: NOT_APPROVED', async () => {
  lw.script(purge(['bob']));
  const failure = await workflowFailure((await lw.start('purgeBackups', { database: 'orders', before: BEFORE, approvalTimeout: '1s' })).result());
  expect(failure).toMatchObject({ type: 'NOT_APPROVED', message: 'Purge not approved: no approval within 1s (approvers: bob); nothing deleted' });
  expect(lw.called()).toEqual(['planPurge']);
});

test('a purge nobody may approve fails NOT_APPROVED at once; a dry run only plans', async () => {
  lw.script(purge([]));
  const failure = await workflowFailure((await lw.start('purgeBackups', { database: 'orders', before: BEFORE })).result());
  expect(failure).toMatchObject({
    type: 'NOT_APPROVED',
    message: 'Purge not approved: nobody may approve purges of orders (set retention.purgeApprovers or approvers); nothing deleted',
  });
  const dry = await (await lw.start('purgeBackups', { database: 'orders', before: BEFORE, dryRun: true })).result();
  expect(dry).toEqual({ database: 'orders', before: BEFORE, dryRun: true, plan: PLAN, targets: [] });
  expect(lw.called()).toEqual(['planPurge', 'planPurge']);
});
