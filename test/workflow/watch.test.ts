// The dead-man's switch against a real Temporal dev server, PostgreSQL and S3: `schedules apply`
// starts a database's watch beside its schedule; pausing the schedule makes the watch alert at a
// local HTTP receiver once, a new backup sends the recovery, removing the database stops the watch.
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { jest } from '@jest/globals';
import type { Client } from '@temporalio/client';
import { createSampleDatabase } from '../../dev/sample-data.js';
import { listBackups } from '../../src/catalog/catalog.js';
import { main } from '../../src/cli/main.js';
import { parseConfig } from '../../src/config/load.js';
import { SEARCH_ATTRIBUTES, WORKFLOWS, watchStatusQuery, watchWorkflowId, type WorkflowTypes } from '../../src/contracts/index.js';
import { applySchedulePlan, planSchedules } from '../../src/schedules/reconcile.js';
import { applyWatches } from '../../src/schedules/watches.js';
import { openStorage } from '../../src/storage/index.js';
import { waitFor } from '../harness/logic.js';
import { saveHistory } from '../replay/histories.js';
import { createBucket, createRole, pgUrl, s3Target, services, startWorker, uniqueName, type RunningWorker } from '../harness/services.js';

interface Received {
  type: string;
  database: string;
  summary: string;
  incident: { key: string; kind: string; openedAt: string };
  workflow: { workflowId: string } | null;
}

const database = `watched-${uniqueName('x').slice(2)}`;
const taskQueue = uniqueName('lb-watch');
const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-watch-'));
const configFile = path.join(dir, 'lifeboat.json');
const received: Received[] = [];
let receiver: http.Server;
let bucket: string;
let w: RunningWorker;
let client: Client;
let role: { name: string; password: string };

function configure(databases: Record<string, Record<string, unknown>>, port: number) {
  const s = services();
  const raw = {
    temporal: { address: s.temporal.address, namespace: 'default', taskQueue },
    storage: { primary: s3Target(bucket) },
    databases: Object.fromEntries(Object.entries(databases).map(([k, v]) => [k, { engine: 'postgres', url: { env: 'LB_WATCH_DB_URL' }, ...v }])),
    notifications: {
      channels: { hook: { type: 'webhook', url: `http://127.0.0.1:${port}/hook` } },
      routes: [{ events: ['stale', 'recovery'], channels: ['hook'] }],
    },
    log: { level: 'warn' },
  };
  writeFileSync(configFile, JSON.stringify(raw));
  return parseConfig(raw);
}

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const so = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true));
  const se = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return { code: await main(['node', 'lifeboat', '--config', configFile, ...args]), out: out.join('') };
  } finally {
    so.mockRestore();
    se.mockRestore();
  }
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const watched = {
  environment: 'development',
  rpo: '10s',
  watch: { every: '1s' },
  schedules: [
    { kind: 'full', every: '3s' },
    { kind: 'retention', enabled: false },
  ],
};
let port = 0;

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      received.push(JSON.parse(raw) as Received);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  port = (receiver.address() as AddressInfo).port;
  bucket = await createBucket('lb-watch');
  role = await createRole();
  const db = uniqueName('lb_watch');
  await createSampleDatabase(services().pg.adminUrl, db, 0.02);
  process.env.LB_WATCH_DB_URL = pgUrl(db, role);
  process.env.LB_TEST_S3_SECRET = services().s3.secretAccessKey;
  w = await startWorker(configure({ [database]: watched }, port));
  client = w.client;
});

afterAll(async () => {
  if (client) {
    const empty = configure({}, port);
    await applySchedulePlan(client, empty, await planSchedules(client, empty)).catch(() => undefined);
    await applyWatches(client, empty).catch(() => undefined);
  }
  await w?.stop();
  await new Promise((r) => receiver?.close(r));
});

test('a paused schedule makes the watch alert once at the receiver; a new backup sends the recovery; removing the database stops the watch', async () => {
  const cfg = configure({ [database]: watched }, port);
  const applied = await cli(['schedules', 'apply']);
  expect(applied.code).toBe(0);
  expect(applied.out).toContain(`Watches: ${database} started.`);
  expect((await cli(['schedules', 'apply'])).out).toContain(`Watches: ${database} running.`);
  const watch = client.workflow.getHandle<WorkflowTypes['watchDatabase']>(watchWorkflowId(database));
  const described = await watch.describe();
  expect(described.type).toBe(WORKFLOWS.watchDatabase);
  expect(described.typedSearchAttributes.get(SEARCH_ATTRIBUTES.database)).toBe(database);
  expect(described.typedSearchAttributes.get(SEARCH_ATTRIBUTES.kind)).toBe('watch');
  expect(await described.staticSummary()).toBe(`dead-man's switch of ${database}`);

  // The schedule keeps the database fresh: the watch checks and stays quiet.
  const storage = openStorage(cfg, 'primary');
  await waitFor(
    'a scheduled backup',
    () => listBackups(storage, database),
    (b) => b.backups.length >= 1,
    30_000,
  );
  const healthy = await waitFor(
    'a healthy check',
    () => watch.query(watchStatusQuery),
    (s) => s.lastCheck?.problems.length === 0,
  );
  expect(healthy.open).toEqual({});
  // Runs the schedule starts carry the search attributes; each upserts its outcome at the end.
  const query = `LifeboatDatabase = '${database}' AND LifeboatKind = 'full' AND LifeboatOutcome = 'succeeded'`;
  const [run] = await waitFor(
    'a scheduled run listed by its attributes',
    () => collect(client.workflow.list({ query })),
    (l) => l.length > 0,
  );
  expect(run!.workflowId).toMatch(new RegExp(`^backup:${database}:full-`));
  expect(received).toEqual([]);

  expect((await cli(['schedules', 'pause', `${database}:full`])).code).toBe(0);
  const pausedAt = Date.now();
  const [alert] = await waitFor(
    'the stale alert',
    async () => received.filter((r) => r.type === 'stale'),
    (r) => r.length > 0,
    40_000,
  );
  expect(Date.now() - pausedAt).toBeGreaterThan(3_000); // not before the newest backup outlived its 10s bound
  expect(alert).toMatchObject({ database, incident: { kind: 'stale' }, workflow: { workflowId: watchWorkflowId(database) } });
  expect(alert!.summary).toMatch(new RegExp(`^Backups of ${database} are stale: newest full backup .* old \\(RPO bound 10s\\)`));
  // The receiver has it before the watch records it (the delivery activity completes after sending).
  const alerting = await waitFor(
    'the incident recorded',
    () => watch.query(watchStatusQuery),
    (s) => s.open.stale !== undefined,
  );
  expect(alerting.open).toEqual({ stale: alert!.incident.openedAt });
  // Deduplicated per incident: later checks see the same incident and send nothing new.
  await waitFor(
    'three more checks',
    () => watch.query(watchStatusQuery),
    (s) => s.checks >= alerting.checks + 3,
    20_000,
  );
  expect(received.filter((r) => r.type === 'stale')).toHaveLength(1);

  await client.workflow.execute(WORKFLOWS.backupDatabase, { taskQueue, workflowId: uniqueName('watch-backup'), args: [{ database, kind: 'full' }] });
  const [recovery] = await waitFor(
    'the recovery',
    async () => received.filter((r) => r.type === 'recovery'),
    (r) => r.length > 0,
    20_000,
  );
  expect(recovery).toMatchObject({ database, summary: `Backups of ${database} are fresh again`, incident: { key: alert!.incident.key } });
  await waitFor(
    'the incident closed',
    () => watch.query(watchStatusQuery),
    (s) => Object.keys(s.open).length === 0,
  );
  expect(received.map((r) => r.type)).toEqual(['stale', 'recovery']);

  configure({}, port);
  await waitFor(
    'the watch listed',
    () => applyWatches(client, configure({ [database]: watched }, port)),
    (c) => c[0]?.action === 'running',
  );
  configure({}, port);
  const stopped = await waitFor(
    'the watch stopped',
    () => cli(['schedules', 'apply']),
    (r) => r.out.includes(`${database} stopped`),
    20_000,
  );
  expect(stopped.code).toBe(0);
  expect((await watch.describe()).status.name).toBe('TERMINATED');
  // LIFEBOAT_RECORD_HISTORIES=1 refreshes the committed history of this run (alert, dedup, recovery).
  if (process.env.LIFEBOAT_RECORD_HISTORIES === '1')
    saveHistory(watch.workflowId, 'watchDatabase-alert-recovery', [role.password, services().s3.secretAccessKey]);
}, 150_000);

test('a watch continues as new after its checks per run, with the same id and its incidents carried', async () => {
  const workflowId = uniqueName('watch-can');
  const handle = await client.workflow.start<WorkflowTypes['watchDatabase']>(WORKFLOWS.watchDatabase, {
    taskQueue,
    workflowId,
    args: [{ database: 'not-configured-here', checksPerRun: 1 }],
  });
  // A database the worker does not know ends the watch at its first check, with the reason.
  expect(await handle.result()).toEqual({ database: 'not-configured-here', checks: 1, stopped: 'not-configured-here is no longer configured' });
  // The database's newest backup outlives its bound again: one run notifies, the next ones carry it.
  const chain = await client.workflow.start<WorkflowTypes['watchDatabase']>(WORKFLOWS.watchDatabase, {
    taskQueue,
    workflowId,
    args: [{ database, checksPerRun: 1 }],
  });
  const stale = () => received.filter((r) => r.type === 'stale');
  const [, second] = await waitFor(
    'a second stale incident',
    async () => stale(),
    (r) => r.length === 2,
    30_000,
  );
  const notifiedIn = (await chain.describe()).runId;
  const later = await waitFor(
    'two more runs',
    () => chain.describe(),
    (d) => d.runId !== notifiedIn,
    20_000,
  );
  await waitFor(
    'a check in the later run',
    () => client.workflow.getHandle(workflowId, later.runId).query(watchStatusQuery),
    (s) => s.checks >= 1,
  );
  const carried = await client.workflow.getHandle(workflowId, later.runId).query(watchStatusQuery);
  expect(carried.open).toEqual({ stale: second!.incident.openedAt });
  expect(stale()).toHaveLength(2);
  await chain.terminate('test over');
}, 60_000);
