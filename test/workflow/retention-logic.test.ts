// applyRetention across storage targets with scripted plans (no storage): the real Temporal
// server and worker. test/workflow/retention-gfs.test.ts and copy-targets.test.ts cover it
// against S3 and directories.
import type { Activities } from '../../activities/index.js';
import type { ApplyRetentionResult } from '../../src/contracts/index.js';
import type { TargetPlan } from '../../src/retention/prune.js';
import { decision, targetPlan } from '../harness/fakes.js';
import { scriptedWorker, workflowFailure } from '../harness/logic.js';

const lw = scriptedWorker();

const HALT = { kind: 'full', reason: 'stale' as const, message: 'no full backup for 3d (expected one every 1d); nothing deleted' };
const PLANS: TargetPlan[] = [
  targetPlan('primary', [decision('2026-c', true), decision('2026-b', true), decision('2026-a', true)], HALT),
  targetPlan('offsite', [decision('2026-c', true), decision('2026-b', false), decision('2026-a', false)]),
];

function retention(plans: TargetPlan[]): Partial<Activities> {
  return {
    planRetention: async () => ({ plannedAt: '2026-11-23T03:00:00.000Z', plans }),
    pruneBackups: async (input) => ({ storage: input.storage, deleted: input.backupIds.map((backupId) => ({ backupId, bytes: 1000 })), skipped: [] }),
    sweepOrphans: async (input) => ({
      storage: input.storage,
      objects: [{ key: 'orders/backups/x/x.a1-1.dump.zst', bytes: 7, lastModified: '2026-01-01T00:00:00.000Z' }],
      uploads: [],
      retained: 0,
    }),
  };
}

test('retention halted on one target still finishes the others, then fails RETENTION_HALTED naming the halted target', async () => {
  lw.script(retention(PLANS));
  const failure = await workflowFailure((await lw.start('applyRetention', { database: 'orders' })).result());
  expect(failure.type).toBe('RETENTION_HALTED');
  expect(failure.message).toBe(`Retention halted for orders: primary: ${HALT.message}`);
  // Nothing deleted or swept on the halted target; the healthy one is pruned and swept.
  expect(lw.called()).toEqual(['planRetention', 'pruneBackups', 'sweepOrphans']);
  expect(lw.inputs('pruneBackups')).toEqual([{ database: 'orders', storage: 'offsite', backupIds: ['2026-b', '2026-a'] }]);
  expect(lw.inputs('sweepOrphans')).toEqual([{ database: 'orders', storage: 'offsite', dryRun: false }]);
  // The failure carries what was done, target by target.
  const [result] = failure.details as [ApplyRetentionResult];
  const [primary, offsite] = result.targets;
  expect(primary).toMatchObject({
    storage: 'primary',
    halted: [HALT],
    delete: [],
    bytesFreed: 0,
    warnings: ['orphan sweep skipped: retention is halted on this target'],
  });
  expect(offsite).toMatchObject({ storage: 'offsite', halted: [], bytesFreed: 2000, orphans: { objects: 1, uploads: 0, bytes: 7 } });
  expect(offsite!.delete.map((e) => e.backupId)).toEqual(['2026-b', '2026-a']);
});

test('a dry run plans every target, deletes nothing and does not fail on a halt', async () => {
  lw.script(retention(PLANS));
  const result = await (await lw.start('applyRetention', { database: 'orders', dryRun: true })).result();
  expect(lw.called()).toEqual(['planRetention', 'sweepOrphans']);
  expect(lw.inputs('sweepOrphans')).toEqual([{ database: 'orders', storage: 'offsite', dryRun: true }]);
  expect(result.targets.map((t) => [t.storage, t.delete.length, t.halted.length, t.bytesFreed])).toEqual([
    ['primary', 0, 1, 0],
    ['offsite', 2, 0, 2000],
  ]);
});

test('a deletion that a fresh plan keeps is reported as skipped, not as deleted', async () => {
  lw.script({
    ...retention([PLANS[1]!]),
    pruneBackups: async (input) => ({
      storage: input.storage,
      deleted: [{ backupId: '2026-a', bytes: 1000 }],
      skipped: [{ backupId: '2026-b', reason: 'verified since the plan' }],
    }),
  });
  const result = await (await lw.start('applyRetention', { database: 'orders' })).result();
  expect(result.targets[0]).toMatchObject({ storage: 'offsite', skipped: [{ backupId: '2026-b', reason: 'verified since the plan' }], bytesFreed: 1000 });
  expect(result.targets[0]!.delete.map((e) => e.backupId)).toEqual(['2026-a']);
});
