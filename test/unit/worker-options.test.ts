import type { Activities } from '../../activities/index.js';
import { createActivities } from '../../activities/index.js';
import { parseConfig } from '../../src/config/load.js';
import { withOverrides, workerTaskQueue } from '../../src/worker.js';
import { captureLogger } from '../harness/services.js';

const real = createActivities({
  config: parseConfig({
    storage: { primary: { type: 'filesystem', path: '.' } },
    databases: { orders: { engine: 'postgres', url: 'postgres://nobody@127.0.0.1:1/orders' } },
  }),
  logger: captureLogger().logger,
});

test('an activity override replaces the real activity of that name and leaves the others', () => {
  const copyTargets: Activities['copyTargets'] = async () => ({ from: 'primary', targets: [] });
  const merged = withOverrides(real, { copyTargets });
  expect(merged.copyTargets).toBe(copyTargets);
  expect(merged.runBackup).toBe(real.runBackup);
  expect(Object.keys(merged).sort()).toEqual(Object.keys(real).sort());
});

test('an override of an activity that does not exist is refused, naming it', () => {
  expect(() => withOverrides(real, { runBackupp: async () => undefined } as unknown as Partial<Activities>)).toThrow(
    'Unknown activity override: runBackupp is not an activity of Lifeboat',
  );
});

test('a restore worker polls temporal.restoreTaskQueue, and refuses to start without it, naming the path', () => {
  const cfg = parseConfig({
    temporal: { taskQueue: 'main', restoreTaskQueue: 'restores' },
    storage: { primary: { type: 'filesystem', path: '.' } },
    databases: { orders: { engine: 'postgres', url: 'postgres://nobody@127.0.0.1:1/orders' } },
  });
  expect(workerTaskQueue(cfg, {})).toBe('main');
  expect(workerTaskQueue(cfg, { restoreOnly: true })).toBe('restores');
  const plain = { ...cfg, temporal: { ...cfg.temporal, restoreTaskQueue: undefined } };
  expect(() => workerTaskQueue(plain, { restoreOnly: true })).toThrow(
    'Configuration error at temporal.restoreTaskQueue: required for a restore worker (--restore-only); set it to a queue name',
  );
});
