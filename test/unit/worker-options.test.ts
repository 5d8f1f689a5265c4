import type { Activities } from '../../activities/index.js';
import { createActivities } from '../../activities/index.js';
import { parseConfig } from '../../src/config/load.js';
import { withoutSourcesContent } from '../../src/temporal/workflow-bundle.js';
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

test('the cached workflow bundle keeps its inline source map without the copies of the sources', () => {
  const map = {
    version: 3,
    file: 'workflows.js',
    sources: ['webpack:///./workflows/index.js'],
    sourcesContent: ['export const x = 1;'],
    names: [],
    mappings: 'AAAA',
  };
  const inline = '//# sourceMappingURL=data:application/json;charset=utf-8;base64,';
  const code = `var x = 1;\n${inline}${Buffer.from(JSON.stringify(map)).toString('base64')}`;
  const slim = withoutSourcesContent(code);
  expect(slim.startsWith('var x = 1;\n')).toBe(true);
  // Where and how the SDK reads it (parseWorkflowCode): the last inline data URL, base64.
  const at = slim.lastIndexOf('//# sourceMappingURL=data:');
  const decoded = JSON.parse(Buffer.from(slim.slice(slim.indexOf('base64,', at) + 7).trimEnd(), 'base64').toString()) as Record<string, unknown>;
  expect(decoded).toEqual({ version: 3, file: 'workflows.js', sources: map.sources, names: [], mappings: 'AAAA' });
  expect(withoutSourcesContent('var y = 2;\n')).toBe('var y = 2;\n');
});
