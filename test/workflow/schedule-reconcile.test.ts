import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jest } from '@jest/globals';
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { main } from '../../src/cli/main.js';
import { parseConfig } from '../../src/config/load.js';
import type { LifeboatConfig } from '../../src/config/schema.js';
import { listBackups } from '../../src/catalog/catalog.js';
import { toolPath } from '../../dev/services.js';
import { createSampleDatabase } from '../../dev/sample-data.js';
import { applySchedulePlan, planSchedules } from '../../src/schedules/reconcile.js';
import { applyWatches } from '../../src/schedules/watches.js';
import { openStorage } from '../../src/storage/index.js';
import type { BackupResult } from '../../src/contracts/index.js';
import { createBucket, createRole, pgUrl, s3Target, services, startWorker, uniqueName, type RunningWorker } from '../harness/services.js';

// `lifeboat schedules plan/apply` against a real Temporal dev server.

const suffix = uniqueName('x').slice(2);
const orders = `orders-${suffix}`;
const crm = `crm-${suffix}`;
const foreign = `foreign-${suffix}`;
const taskQueue = uniqueName('lb-schedules');
const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-sched-'));
const configFile = path.join(dir, 'lifeboat.json');
let bucket: string;
let w: RunningWorker;
let client: Client;

function raw(databases: Record<string, Record<string, unknown>>) {
  const s = services();
  return {
    temporal: { address: s.temporal.address, namespace: 'default', taskQueue },
    storage: { primary: s3Target(bucket) },
    databases: Object.fromEntries(Object.entries(databases).map(([k, v]) => [k, { engine: 'postgres', url: { env: 'LB_SCHED_DB_URL' }, ...v }])),
    log: { level: 'warn' },
  };
}

/** Writes the configuration file the CLI reads, and returns it parsed. */
function configure(databases: Record<string, Record<string, unknown>>): LifeboatConfig {
  const r = raw(databases);
  writeFileSync(configFile, JSON.stringify(r));
  return parseConfig(r);
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const so = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true));
  const se = jest.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => (err.push(String(c)), true));
  try {
    const code = await main(['node', 'lifeboat', '--config', configFile, ...args]);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    so.mockRestore();
    se.mockRestore();
  }
}

async function listedIds(): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const s of client.schedule.list()) ids.add(s.scheduleId);
  return ids;
}

/** Schedule listing is eventually consistent: wait until every id is (or is no longer) listed. */
async function waitListed(ids: string[], present = true): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const listed = await listedIds();
    if (ids.every((id) => listed.has(id) === present)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`schedules not ${present ? 'listed' : 'unlisted'} in time: ${ids.join(', ')}`);
}

const ordersIds = ['full', 'retention', 'schema', 'verify'].map((k) => `lifeboat:${orders}:${k}`);
const crmIds = [`lifeboat:${crm}:full`, `lifeboat:${crm}:retention`];
const initial = {
  [orders]: {},
  [crm]: {
    environment: 'staging',
    schedules: [
      { kind: 'full', every: '6h', jitter: '5m' },
      { kind: 'verify', enabled: false },
    ],
  },
};

beforeAll(async () => {
  bucket = await createBucket('lb-sched');
  const role = await createRole();
  const db = uniqueName('lb_sched');
  await createSampleDatabase(services().pg.adminUrl, db, 1);
  process.env.LB_SCHED_DB_URL = pgUrl(db, role);
  process.env.LB_TEST_S3_SECRET = services().s3.secretAccessKey;
  w = await startWorker(configure(initial));
  client = w.client;
});

afterAll(async () => {
  // Leave nothing scheduled behind: an empty configuration deletes this scope's schedules and watches.
  if (client) {
    const cfg = configure({});
    await applySchedulePlan(client, cfg, await planSchedules(client, cfg)).catch(() => undefined);
    await applyWatches(client, cfg).catch(() => undefined);
  }
  await w?.stop();
});

test('apply creates the schedules (visible in `temporal schedule list`), and a second apply changes nothing', async () => {
  const first = await cli(['schedules', 'apply']);
  expect(first.code).toBe(0);
  expect(first.out).toContain(`+ lifeboat:${orders}:full`);
  expect(first.out).toContain('Plan: 6 to create, 0 to update, 0 to delete, 0 unchanged.');

  const full = await client.schedule.getHandle(`lifeboat:${orders}:full`).describe();
  expect(full.action).toMatchObject({
    workflowType: 'backupDatabase',
    taskQueue,
    args: [{ database: orders, kind: 'full' }],
    workflowId: `backup:${orders}:full`,
  });
  expect(full.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 2, end: 2, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] });
  expect(full.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 12 * 3_600_000 });
  expect(full.memo).toEqual({ lifeboat: { managedBy: 'lifeboat', scope: taskQueue, database: orders, kind: 'full' } });
  expect(full.state.paused).toBe(false);
  const verify = await client.schedule.getHandle(`lifeboat:${orders}:verify`).describe();
  expect(verify.action).toMatchObject({ workflowType: 'verifyBackup', args: [{ database: orders, backup: 'latest' }] });
  const interval = await client.schedule.getHandle(`lifeboat:${crm}:full`).describe();
  expect(interval.spec.intervals).toEqual([{ every: 6 * 3_600_000, offset: 0 }]);
  expect(interval.spec.jitter).toBe(5 * 60_000);

  await waitListed([...ordersIds, ...crmIds]);
  const cliList = execFileSync(toolPath('temporal'), ['schedule', 'list', '--address', services().temporal.address, '--namespace', 'default'], {
    encoding: 'utf8',
  });
  for (const id of [...ordersIds, ...crmIds]) expect(cliList).toContain(id);

  const second = await cli(['schedules', 'apply']);
  expect(second).toMatchObject({ code: 0 });
  expect(second.out).toContain('No changes: 6 schedule(s) up to date.');
  expect(second.out).not.toContain('Applied');
});

test('a config change updates the spec, and a pause set by an operator survives apply', async () => {
  expect((await cli(['schedules', 'pause', `${orders}:full`, '--note', 'paused in the UI for maintenance'])).code).toBe(0);
  configure({ ...initial, [orders]: { schedules: [{ kind: 'full', cron: '30 3 * * *', timezone: 'Europe/Berlin' }] } });
  const plan = await cli(['schedules', 'plan', '--json']);
  const changes = (JSON.parse(plan.out) as { changes: Array<{ scheduleId: string; action: string; detail: string; paused?: boolean }> }).changes;
  expect(changes.filter((c) => c.action !== 'unchanged')).toEqual([
    {
      scheduleId: `lifeboat:${orders}:full`,
      action: 'update',
      detail: 'timing: cron "0 2 * * *" UTC, overlap SKIP, catch-up 12h -> cron "30 3 * * *" Europe/Berlin, overlap SKIP, catch-up 12h (paused: stays paused)',
      paused: true,
      workflowType: 'backupDatabase',
      args: [{ database: orders, kind: 'full' }],
      timing: 'cron "30 3 * * *" Europe/Berlin, overlap SKIP, catch-up 12h',
    } as never,
  ]);
  expect((await cli(['schedules', 'apply'])).out).toContain('Plan: 0 to create, 1 to update, 0 to delete, 5 unchanged.');
  const d = await client.schedule.getHandle(`lifeboat:${orders}:full`).describe();
  expect(d.spec.timezone).toBe('Europe/Berlin');
  expect(d.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 3, end: 3, step: 1 }], minute: [{ start: 30, end: 30, step: 1 }] });
  expect(d.state).toMatchObject({ paused: true, note: 'paused in the UI for maintenance' });
  expect((await cli(['schedules', 'plan'])).out).toContain('No changes: 6 schedule(s) up to date.');
});

test('a schedule edited outside Lifeboat (e.g. in the Web UI) is reported and put back', async () => {
  const handle = client.schedule.getHandle(`lifeboat:${crm}:full`);
  await handle.update((prev) => ({ ...prev, policies: { ...prev.policies, overlap: 'ALLOW_ALL' } }));
  const plan = await planSchedules(
    client,
    parseConfig(raw({ ...initial, [orders]: { schedules: [{ kind: 'full', cron: '30 3 * * *', timezone: 'Europe/Berlin' }] } })),
  );
  const change = plan.changes.find((c) => c.scheduleId === `lifeboat:${crm}:full`)!;
  expect(change.action === 'update' && change.reasons).toEqual(['changed outside Lifeboat (e.g. edited in the Web UI)']);
  expect((await cli(['schedules', 'apply'])).code).toBe(0);
  expect((await handle.describe()).policies.overlap).toBe('SKIP');
});

test('trigger runs a real backup through the schedule', async () => {
  const res = await cli(['schedules', 'trigger', `${crm}:full`, '--wait', '--json']);
  expect(res.code).toBe(0);
  const out = JSON.parse(res.out) as { ok: boolean; workflowId: string; result: BackupResult };
  expect(out.workflowId.startsWith(`backup:${crm}:full-`)).toBe(true);
  expect(out.result).toMatchObject({ database: crm, kind: 'full', storage: 'primary' });
  const cfg = parseConfig(raw(initial));
  expect((await listBackups(openStorage(cfg, 'primary'), crm)).backups.map((b) => b.backupId)).toEqual([out.result.backupId]);
});

test('backfill runs a schedule for the times it missed', async () => {
  const id = `lifeboat:${crm}:retention`;
  const before = (await client.schedule.getHandle(id).describe()).info.numActionsTaken;
  const from = new Date(Date.now() - 3 * 86_400_000).toISOString();
  const res = await cli(['schedules', 'backfill', id, '--from', from, '--to', new Date().toISOString()]);
  expect(res.code).toBe(0);
  // Daily at 05:00 UTC: three runs in the last three days.
  let d = await client.schedule.getHandle(id).describe();
  for (let i = 0; i < 100 && d.info.numActionsTaken < before + 3; i++) {
    await new Promise((r) => setTimeout(r, 200));
    d = await client.schedule.getHandle(id).describe();
  }
  expect(d.info.numActionsTaken).toBe(before + 3);
  for (const a of d.info.recentActions) {
    const result = await client.workflow.getHandle(a.action.workflow.workflowId).result();
    expect(result).toMatchObject({ database: crm, dryRun: false });
  }
});

test("a removed database's schedules are deleted; a foreign schedule with a Lifeboat id is reported, not touched", async () => {
  await client.schedule.create({
    scheduleId: `lifeboat:${foreign}:full`,
    spec: { cronExpressions: ['0 0 1 1 *'] },
    action: { type: 'startWorkflow', workflowType: 'somethingElse', taskQueue: 'elsewhere' },
    state: { paused: true },
  });
  await waitListed(ordersIds);
  const cfg = configure({ [crm]: initial[crm], [foreign]: { environment: 'development', schedules: [{ kind: 'retention', enabled: false }] } });
  const plan = await planSchedules(client, cfg);
  expect(plan.changes.filter((c) => c.action !== 'unchanged').map((c) => [c.action, c.scheduleId])).toEqual([
    ['conflict', `lifeboat:${foreign}:full`],
    ...ordersIds.map((id) => ['delete', id]),
  ]);
  const res = await cli(['schedules', 'apply']);
  expect(res.code).toBe(1);
  expect(res.out).toContain(`- lifeboat:${orders}:full`);
  expect(res.out).toContain(`database "${orders}" is no longer configured`);
  expect(res.out).toContain(
    `Failed: conflict lifeboat:${foreign}:full: Schedule not applied: a schedule with this id exists but is not managed by Lifeboat: lifeboat:${foreign}:full`,
  );
  expect(res.err).toContain('Schedules not fully applied: 1 change(s) failed');
  for (const id of ordersIds) await expect(client.schedule.getHandle(id).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  expect((await client.schedule.getHandle(`lifeboat:${foreign}:full`).describe()).action.workflowType).toBe('somethingElse');
  await client.schedule.getHandle(`lifeboat:${foreign}:full`).delete();
});
