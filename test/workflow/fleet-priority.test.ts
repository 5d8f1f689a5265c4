// Task priority and fairness on a busy worker: one activity at a time (worker.maxConcurrentActivities:
// 1), a backlog of backups queued, then a restore started by hand, or a backup of another database. The real Temporal dev server (new
// matcher and fairness enabled by dev/services.ts), the real worker and the real start path
// (startWorkflow, which sets the priority); activities are scripted and record when they start.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Activities } from '../../activities/index.js';
import { createActivities } from '../../activities/index.js';
import { startWorkflow } from '../../src/cli/shared.js';
import { parseConfig } from '../../src/config/load.js';
import type { LifeboatConfig } from '../../src/config/schema.js';
import { WORKFLOWS } from '../../src/contracts/index.js';
import { LifeboatError } from '../../src/errors.js';
import { backupResult, backupSummary, inspection, restoreResult } from '../harness/fakes.js';
import { captureLogger, services, startWorker, uniqueName, type RunningWorker } from '../harness/services.js';

const BACKUPS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
const started: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
let cfg: LifeboatConfig;
let w: RunningWorker;

/** Every activity records `<activity>:<database>` when it starts; unscripted ones fail. */
function scripted(): Partial<Activities> {
  const script: Partial<Activities> = {
    runBackup: async (input) => {
      await sleep(250);
      return backupResult(input);
    },
    copyTargets: async () => ({ from: 'primary', targets: [] }),
    resolveRestoreBackup: async (input) => backupSummary(input.database),
    inspectRestoreTarget: async (input) => inspection(input.target),
    restoreBackup: async (input) => restoreResult(input),
    recordWorkflowAudit: async () => [],
    deliverNotification: async (e) => ({ key: 'scripted', type: e.type, channels: [] }),
  } as Partial<Activities>;
  const names = Object.keys(createActivities({ config: cfg, logger: captureLogger().logger })) as Array<keyof Activities>;
  return Object.fromEntries(
    names.map((name) => [
      name,
      async (input: { database?: string }) => {
        started.push(`${name}:${input?.database ?? ''}`);
        const fn = script[name] as ((i: unknown) => Promise<unknown>) | undefined;
        if (!fn) throw new LifeboatError('UNSUPPORTED', `Activity ${name} is not scripted in this test`, { subject: name });
        return fn(input);
      },
    ]),
  ) as Partial<Activities>;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lb-fleet-'));
  const databases = Object.fromEntries(['orders', ...BACKUPS].map((n) => [n, { engine: 'postgres', url: `postgres://nobody@127.0.0.1:1/${n}` }]));
  cfg = parseConfig({
    temporal: { address: services().temporal.address, namespace: 'default', taskQueue: uniqueName('lb-fleet') },
    storage: { primary: { type: 'filesystem', path: dir } },
    databases,
    worker: { maxConcurrentActivities: 1 },
  });
  w = await startWorker(cfg, { activities: scripted(), heartbeatIntervalMs: 100 });
});

afterAll(async () => {
  await w?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('with one activity slot and a backlog of backups, a restore started by hand is dispatched before the queued backups', async () => {
  const backups = await Promise.all(
    BACKUPS.map((database) =>
      startWorkflow(w.client, cfg, WORKFLOWS.backupDatabase, { database }, { workflowId: uniqueName(`backup-${database}`), alreadyRunning: 'running' }),
    ),
  );
  // The backlog: one backup's dump runs, every other backup's activities wait for the slot.
  const deadline = Date.now() + 20_000;
  while (!started.some((s) => s.startsWith('runBackup:')) && Date.now() < deadline) await sleep(20);
  const restore = await startWorkflow(
    w.client,
    cfg,
    WORKFLOWS.restoreDatabase,
    { database: 'orders', target: 'orders_copy' },
    { workflowId: uniqueName('restore'), alreadyRunning: 'running' },
  );
  await restore.result();
  const dumpsBeforeRestore = started.slice(0, started.indexOf('restoreBackup:orders')).filter((s) => s.startsWith('runBackup:')).length;
  await Promise.all(backups.map((b) => b.result()));

  // FIFO would run all eight dumps first; by priority the restore's few activities each wait for
  // at most the activity running when they were scheduled.
  expect(started.filter((s) => s.startsWith('runBackup:'))).toHaveLength(BACKUPS.length);
  expect(dumpsBeforeRestore).toBeLessThanOrEqual(4);
  expect((await restore.describe()).priority).toMatchObject({ priorityKey: 1, fairnessKey: 'orders' });
  expect((await backups[0]!.describe()).priority).toMatchObject({ priorityKey: 2, fairnessKey: 'a' });
}, 60_000);

test('fairness: a backlog of one database does not starve another database of the same level', async () => {
  started.length = 0;
  const backup = (database: string) =>
    startWorkflow(w.client, cfg, WORKFLOWS.backupDatabase, { database }, { workflowId: uniqueName(`backup-${database}`), alreadyRunning: 'running' });
  const many = await Promise.all(BACKUPS.map(() => backup('a')));
  const deadline = Date.now() + 20_000;
  while (!started.some((s) => s.startsWith('runBackup:')) && Date.now() < deadline) await sleep(20);
  const other = await backup('b');
  await Promise.all([...many, other].map((h) => h.result()));
  const dumps = started.filter((s) => s.startsWith('runBackup:'));
  // FIFO would run all eight dumps of a first; by fairness key b's turn comes after a few.
  expect(dumps).toHaveLength(BACKUPS.length + 1);
  expect(dumps.indexOf('runBackup:b')).toBeLessThanOrEqual(4);
}, 60_000);
