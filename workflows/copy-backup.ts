import { CopyBackupInputSchema, innermostMessage, lifeboatFailure, type CopyResult, type WorkflowTypes } from '../src/contracts/index.js';
import { dataMover, localLookup } from './activities.js';
import { parseInput } from './validation.js';
import { withOutcome } from './outcome.js';

/**
 * Copies a committed backup from `from` to every other storage target of its database, in
 * parallel. Every copy is attempted; if any fails, the workflow fails with `COPY_INCOMPLETE`
 * naming the targets that lack the backup (a missing copy is never silent).
 */
export async function copyToTargets(database: string, backupId: string, from?: string): Promise<{ from: string; copies: CopyResult[] }> {
  const { from: source, targets } = await localLookup.copyTargets({ database, from });
  const settled = await Promise.allSettled(targets.map((to) => dataMover.copyBackupToTarget({ database, backupId, from: source, to })));
  const copies: CopyResult[] = [];
  const failed: string[] = [];
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') copies.push(s.value);
    else failed.push(`${targets[i]}: ${innermostMessage(s.reason)}`);
  });
  if (failed.length) {
    throw lifeboatFailure('COPY_INCOMPLETE', `Copy incomplete: backup ${backupId} of ${database} is committed on ${source} but not on ${failed.join('; ')}`, [
      { database, backupId, copies },
    ]);
  }
  return { from: source, copies };
}

/**
 * Copies one committed backup to every storage target of its database that lacks it (e.g. after
 * an offsite target was down): `{ "database": "orders", "backupId": "20261123T020000Z-full-1a2b3c4d" }`.
 */
export const copyBackup: WorkflowTypes['copyBackup'] = withOutcome(async (input) => {
  const { database, backupId, from } = parseInput(CopyBackupInputSchema, input, 'copyBackup');
  const out = await copyToTargets(database, backupId, from);
  return { database, backupId, ...out };
});
