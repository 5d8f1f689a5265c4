import { ApplicationFailure, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { createCopyActivities } from '../activities/copy.js';
import { DATA_ACTIVITY_RETRY, NON_RETRYABLE_TYPES } from './errors.js';
import { CopyBackupInputSchema, type CopyResult } from './types.js';
import { parseInput } from './validation.js';

type CopyActivities = ReturnType<typeof createCopyActivities>;

// A configuration lookup on the worker: a local activity (no task queue round trip, no activity
// events in the history of a backup whose database has a single target).
const { copyTargets } = proxyLocalActivities<CopyActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE_TYPES },
});

const { copyBackupToTarget } = proxyActivities<CopyActivities>({
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '1 minute',
  retry: { ...DATA_ACTIVITY_RETRY, nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] },
});

function failureMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  let message = e?.message ?? String(err);
  while (e?.cause) {
    e = e.cause as typeof e;
    if (e?.message) message = e.message;
  }
  return message;
}

/**
 * Copies a committed backup from `from` to every other storage target of its database, in
 * parallel. Every copy is attempted; if any fails, the workflow fails with `COPY_INCOMPLETE`
 * naming the targets that lack the backup (a missing copy is never silent).
 */
export async function copyToTargets(database: string, backupId: string, from?: string): Promise<{ from: string; copies: CopyResult[] }> {
  const { from: source, targets } = await copyTargets({ database, from });
  const settled = await Promise.allSettled(targets.map((to) => copyBackupToTarget({ database, backupId, from: source, to })));
  const copies: CopyResult[] = [];
  const failed: string[] = [];
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') copies.push(s.value);
    else failed.push(`${targets[i]}: ${failureMessage(s.reason)}`);
  });
  if (failed.length) {
    throw ApplicationFailure.create({
      type: 'COPY_INCOMPLETE',
      nonRetryable: true,
      message: `Copy incomplete: backup ${backupId} of ${database} is committed on ${source} but not on ${failed.join('; ')}`,
      details: [{ database, backupId, copies }],
    });
  }
  return { from: source, copies };
}

/**
 * Copies one committed backup to every storage target of its database that lacks it (e.g. after
 * an offsite target was down): `{ "database": "orders", "backupId": "20261123T020000Z-full-1a2b3c4d" }`.
 */
export async function copyBackup(input: unknown): Promise<{ database: string; backupId: string; from: string; copies: CopyResult[] }> {
  const { database, backupId, from } = parseInput(CopyBackupInputSchema, input, 'copyBackup');
  const out = await copyToTargets(database, backupId, from);
  return { database, backupId, ...out };
}
