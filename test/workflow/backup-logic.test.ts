// backupDatabase's and copyBackup's copy phase with scripted activities (no database, no storage):
// the real Temporal server and worker. test/workflow/copy-targets.test.ts covers it against two
// S3 buckets and a directory.
import type { Activities } from '../../activities/index.js';
import { LifeboatError } from '../../src/errors.js';
import { BACKUP_ID, backupResult, copyResult } from '../harness/fakes.js';
import { scriptedWorker, workflowFailure } from '../harness/logic.js';

const lw = scriptedWorker();

function backup(over: Partial<Activities> = {}): Partial<Activities> {
  return {
    runBackup: async (input) => backupResult(input),
    copyTargets: async () => ({ from: 'primary', targets: ['offsite', 'local'] }),
    copyBackupToTarget: async (input) => copyResult(input.to, input.backupId),
    ...over,
  };
}

test('a backup is copied to every other target of its database', async () => {
  lw.script(backup());
  const result = await (await lw.start('backupDatabase', { database: 'orders' })).result();
  const [run] = lw.inputs('runBackup');
  expect(run).toEqual({ database: 'orders', kind: 'full', backupId: expect.stringMatching(/^\d{8}T\d{6}Z-full-[0-9a-f]{8}$/) });
  expect(result.copies!.map((c) => [c.storage, c.status])).toEqual([
    ['offsite', 'copied'],
    ['local', 'copied'],
  ]);
  expect(
    lw
      .inputs('copyBackupToTarget')
      .map((i) => [i.from, i.to, i.backupId])
      .sort(),
  ).toEqual([
    ['primary', 'local', run!.backupId],
    ['primary', 'offsite', run!.backupId],
  ]);
});

test('a failed copy fails the backup with COPY_INCOMPLETE naming the target, after every other copy was attempted', async () => {
  lw.script(
    backup({
      copyBackupToTarget: async (input) => {
        if (input.to === 'offsite')
          throw new LifeboatError('CHECKSUM_MISMATCH', `Copy of backup ${input.backupId} failed: the source artifact does not match its manifest`, {
            subject: input.backupId,
          });
        return copyResult(input.to, input.backupId);
      },
    }),
  );
  const failure = await workflowFailure((await lw.start('backupDatabase', { database: 'orders' })).result());
  const backupId = lw.inputs('runBackup')[0]!.backupId;
  expect(failure.type).toBe('COPY_INCOMPLETE');
  expect(failure.message).toBe(
    `Copy incomplete: backup ${backupId} of orders is committed on primary but not on offsite: Copy of backup ${backupId} failed: the source artifact does not match its manifest`,
  );
  expect(failure.details).toEqual([{ database: 'orders', backupId, copies: [copyResult('local', backupId)] }]);
  // CHECKSUM_MISMATCH is not retried; the other copy ran all the same.
  expect(
    lw
      .inputs('copyBackupToTarget')
      .map((i) => i.to)
      .sort(),
  ).toEqual(['local', 'offsite']);
});

test('copyBackup copies one committed backup from a chosen source and fails COPY_INCOMPLETE like the backup does', async () => {
  lw.script(
    backup({
      copyTargets: async (input) => ({ from: input.from!, targets: ['primary'] }),
      copyBackupToTarget: async (input) => {
        throw new LifeboatError('BACKUP_NOT_FOUND', `Copy of backup ${input.backupId} failed: no committed backup with this id on ${input.from}`, {
          subject: input.backupId,
        });
      },
    }),
  );
  const failure = await workflowFailure((await lw.start('copyBackup', { database: 'orders', backupId: BACKUP_ID, from: 'local' })).result());
  expect(failure).toMatchObject({
    type: 'COPY_INCOMPLETE',
    message: `Copy incomplete: backup ${BACKUP_ID} of orders is committed on local but not on primary: Copy of backup ${BACKUP_ID} failed: no committed backup with this id on local`,
  });
  expect(lw.inputs('copyTargets')).toEqual([{ database: 'orders', from: 'local' }]);
});
