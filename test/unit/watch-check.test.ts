// One check of a watch (dead-man's switch) against a filesystem catalog, and what the CLI, the
// schedules and the watches describe a run with in the Web UI.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTE_NAMES, startAttributes } from '../../src/contracts/index.js';
import { checkWatch } from '../../src/observability/watch.js';
import { describeRun } from '../../src/temporal/run-metadata.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-watch-unit-'));
const cfg = parseConfig({
  temporal: { address: '127.0.0.1:1', taskQueue: 'lb-unit' },
  storage: { primary: { type: 'filesystem', path: dir } },
  databases: {
    orders: { engine: 'postgres', url: 'postgres://u@127.0.0.1/orders', rpo: '1h', watch: { every: '30s' } },
    crm: { engine: 'postgres', url: 'postgres://u@127.0.0.1/crm', environment: 'development' },
  },
});

test('a database never backed up is stale one bound after its watch started, not before', async () => {
  const since = '2026-11-24T10:00:00.000Z';
  const early = await checkWatch(cfg, 'orders', since, new Date('2026-11-24T10:59:00Z'));
  expect(early).toMatchObject({ problems: [], everyMs: 30_000, summary: 'no committed backup' });
  const late = await checkWatch(cfg, 'orders', since, new Date('2026-11-24T11:00:01Z'));
  expect(late.problems).toEqual([
    { kind: 'stale', since: '2026-11-24T11:00:00.000Z', message: 'Backups of orders are stale: no committed full or data backup (RPO bound 1h)' },
  ]);
  // Without `watch:` the default interval applies; a database that is gone ends the watch.
  expect((await checkWatch(cfg, 'crm', since, new Date(since))).everyMs).toBe(300_000);
  expect(await checkWatch(cfg, 'gone', since, new Date(since))).toMatchObject({ removed: true, summary: 'gone is no longer configured' });
});

test('runs are described by their input: search attributes, summary, and how to approve', () => {
  expect(describeRun('backupDatabase', { database: 'orders', kind: 'schema' })).toMatchObject({
    attributes: { database: 'orders', kind: 'schema' },
    summary: 'backup of orders (schema)',
  });
  const restore = describeRun('restoreDatabase', { database: 'orders', target: 'staging' });
  expect(restore.summary).toBe('restore of orders (latest) into staging');
  expect(restore.details).toContain('`{"approver":"<your name>","target":"staging"}`');
  expect(describeRun('runRunbook', { runbook: 'provider-outage', params: { database: 'orders' }, drill: true })).toMatchObject({
    attributes: { database: 'orders', kind: 'runbook', runbook: 'provider-outage' },
    summary: 'runbook provider-outage (drill) for orders',
  });
  expect(startAttributes({ database: 'orders', kind: 'watch' })).toEqual([
    { key: SEARCH_ATTRIBUTES.outcome, value: 'running' },
    { key: SEARCH_ATTRIBUTES.database, value: 'orders' },
    { key: SEARCH_ATTRIBUTES.kind, value: 'watch' },
  ]);
  expect(SEARCH_ATTRIBUTE_NAMES).toEqual(['LifeboatDatabase', 'LifeboatKind', 'LifeboatOutcome', 'LifeboatRunbook']);
});
