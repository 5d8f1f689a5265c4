// restoreDatabase's approval logic with scripted activities (no database, no storage): the real
// Temporal server, worker and failure interceptor. test/workflow/restore.test.ts covers the same
// workflow against PostgreSQL and S3.
import { LifeboatError } from '../../src/errors.js';
import { approveRestoreUpdate, restoreProgressQuery, type RestoreState } from '../../src/contracts/index.js';
import { backupSummary, inspection, restoreResult } from '../harness/fakes.js';
import { scriptedWorker, updateRefusal, waitFor, workflowFailure } from '../harness/logic.js';

const lw = scriptedWorker();

const PROTECTED = inspection('orders_copy', {
  kind: 'named',
  exists: true,
  objects: 3,
  protected: true,
  reasons: ['orders_copy is protected', 'orders_copy is not empty (3 objects)'],
  approvers: ['alice'],
});

test('a restore into a protected target waits; a disallowed approver and a target not typed out are refused; the approved restore continues', async () => {
  let release: () => void = () => undefined;
  const restoring = new Promise<void>((r) => (release = r));
  lw.script({
    resolveRestoreBackup: async (input) => backupSummary(input.database),
    inspectRestoreTarget: async () => PROTECTED,
    restoreBackup: async (input) => {
      await restoring;
      return restoreResult(input);
    },
  });
  const handle = await lw.start('restoreDatabase', { database: 'orders', target: 'orders_copy', approvalTimeout: '10 minutes' });
  const progress = () => handle.query(restoreProgressQuery);
  const waiting = await waitFor('awaiting-approval', progress, (s) => s.phase === 'awaiting-approval');
  expect(waiting.inspection?.reasons).toEqual(PROTECTED.reasons);
  expect(Date.parse(waiting.approvalDeadline!) - Date.now()).toBeGreaterThan(9 * 60_000);

  const approve = (approver: string, target: string) => handle.executeUpdate(approveRestoreUpdate, { args: [{ approver, target }] });
  expect(await updateRefusal(approve('mallory', 'orders_copy'))).toEqual({
    type: 'APPROVAL_REJECTED',
    message: 'Approval of the restore into orders_copy rejected: mallory is not an approver (allowed: alice)',
  });
  expect(await updateRefusal(approve('alice', 'orders'))).toEqual({
    type: 'APPROVAL_REJECTED',
    message: 'Approval of the restore into orders_copy rejected: the target must be typed out exactly: expected "orders_copy", got "orders"',
  });
  expect(lw.called()).toEqual(['resolveRestoreBackup', 'inspectRestoreTarget']);

  expect(await approve('alice', 'orders_copy')).toEqual({ approvedBy: 'alice', target: 'orders_copy' });
  await waitFor('restoring', progress, (s) => s.phase === 'restoring');
  // Once approved, nothing is pending: a second approval is refused.
  expect(await updateRefusal(approve('alice', 'orders_copy'))).toEqual({
    type: 'APPROVAL_REJECTED',
    message: 'Approval of the restore into orders_copy rejected: no approval is pending (the restore is restoring)',
  });
  release();

  const result = await handle.result();
  expect(result).toMatchObject({ target: 'orders_copy', approvedBy: 'alice', created: false });
  expect(lw.inputs('restoreBackup')).toEqual([
    expect.objectContaining({ database: 'orders', backupId: backupSummary().backupId, target: 'orders_copy', expect: 'existing', approvedBy: 'alice' }),
  ]);
  expect(((await progress()) as RestoreState).phase).toBe('done');
});

test('four eyes: the requester may not approve their own protected restore, an unknown requester cannot be told apart, another approver can', async () => {
  const fourEyes = { ...PROTECTED, approvers: ['alice', 'bob'], fourEyes: true };
  lw.script({
    resolveRestoreBackup: async (input) => backupSummary(input.database),
    inspectRestoreTarget: async () => fourEyes,
    restoreBackup: async (input) => restoreResult(input),
  });
  const handle = await lw.start('restoreDatabase', { database: 'orders', target: 'orders_copy', approvalTimeout: '10 minutes', requestedBy: 'alice' });
  await waitFor(
    'awaiting-approval',
    () => handle.query(restoreProgressQuery),
    (s) => s.phase === 'awaiting-approval',
  );
  const approve = (h: typeof handle, approver: string) => h.executeUpdate(approveRestoreUpdate, { args: [{ approver, target: 'orders_copy' }] });
  expect(await updateRefusal(approve(handle, 'alice'))).toEqual({
    type: 'APPROVAL_REJECTED',
    message:
      'Approval of the restore into orders_copy rejected: alice requested this restore and may not approve it: four eyes apply (databases.orders.fourEyes), another approver must approve',
  });
  expect(lw.called()).toEqual(['resolveRestoreBackup', 'inspectRestoreTarget']);
  expect(await approve(handle, 'bob')).toEqual({ approvedBy: 'bob', target: 'orders_copy' });
  expect(await handle.result()).toMatchObject({ approvedBy: 'bob' });

  const anonymous = await lw.start('restoreDatabase', { database: 'orders', target: 'orders_copy', approvalTimeout: '2s' });
  await waitFor(
    'awaiting-approval',
    () => anonymous.query(restoreProgressQuery),
    (s) => s.phase === 'awaiting-approval',
  );
  expect(await updateRefusal(approve(anonymous, 'bob'))).toEqual({
    type: 'APPROVAL_REJECTED',
    message:
      'Approval of the restore into orders_copy rejected: four eyes apply (databases.orders.fourEyes) and the requester of this restore is unknown: start it with requestedBy, as the CLI does',
  });
  expect(await workflowFailure(anonymous.result())).toMatchObject({ type: 'APPROVAL_REQUIRED' });
});

test('without an approval before the timeout the restore fails APPROVAL_REQUIRED and restoreBackup is never called', async () => {
  lw.script({
    resolveRestoreBackup: async (input) => backupSummary(input.database),
    inspectRestoreTarget: async () => PROTECTED,
    restoreBackup: async (input) => restoreResult(input),
  });
  const handle = await lw.start('restoreDatabase', { database: 'orders', target: 'orders_copy', approvalTimeout: '1s' });
  const failure = await workflowFailure(handle.result());
  expect(failure).toMatchObject({
    type: 'APPROVAL_REQUIRED',
    message:
      'Restore of orders into orders_copy refused: approval required (orders_copy is protected; orders_copy is not empty (3 objects)); none arrived within 1s, nothing was changed',
  });
  expect(lw.called()).toEqual(['resolveRestoreBackup', 'inspectRestoreTarget']);
  expect(await handle.query(restoreProgressQuery)).toMatchObject({ phase: 'failed', error: failure.message });
});

test('a new target needs no approval; row counts that differ from the manifest fail ROW_COUNT_MISMATCH', async () => {
  lw.script({
    resolveRestoreBackup: async (input) => backupSummary(input.database),
    inspectRestoreTarget: async (input) => inspection(input.target),
    restoreBackup: async (input) => restoreResult(input, { rowCounts: { compared: 2, mismatches: [{ table: 'shop.orders', expected: 10, actual: 9 }] } }),
  });
  const failure = await workflowFailure(lw.start('restoreDatabase', { database: 'orders', target: 'orders_new' }).then((h) => h.result()));
  expect(failure).toMatchObject({
    type: 'ROW_COUNT_MISMATCH',
    message: 'Restore of orders into orders_new failed: row counts differ from the manifest: shop.orders (restored 9, manifest 10)',
  });
  const [input] = lw.inputs('restoreBackup');
  expect(input).toMatchObject({ target: 'orders_new', expect: 'new' });
  expect(input).not.toHaveProperty('approvedBy');
});

test('an overridden activity still goes through the failure interceptor: a LifeboatError becomes its typed, non-retried failure', async () => {
  lw.script({
    resolveRestoreBackup: async () => {
      throw new LifeboatError('BACKUP_NOT_FOUND', 'Restore of orders failed: no committed full backup in primary', { subject: 'orders' });
    },
  });
  const failure = await workflowFailure(lw.start('restoreDatabase', { database: 'orders', target: 'orders_new' }).then((h) => h.result()));
  expect(failure).toMatchObject({ type: 'BACKUP_NOT_FOUND', message: 'Restore of orders failed: no committed full backup in primary' });
  expect(lw.called()).toEqual(['resolveRestoreBackup']); // non-retryable: one attempt
});
