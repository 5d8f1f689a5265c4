// worker.perHostDumps against real PostgreSQL, S3 and Temporal: three backups to one database
// host run one at a time (the others wait, heartbeating "waiting for a slot on host …"), while a
// backup to another host starts at once. The two hosts are one server reached as 127.0.0.1 and
// as localhost: the limit keys on the host:port of the resolved URL, not on DNS.
import pg from 'pg';
import { createSampleDatabase } from '../../dev/sample-data.js';
import { readManifest } from '../../src/catalog/catalog.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import type { BackupResult } from '../../src/contracts/index.js';
import { openStorage } from '../../src/storage/index.js';
import { readProgress } from '../../src/cli/follow.js';
import { describeHeartbeat } from '../../src/cli/progress.js';
import { createBucket, pgUrl, services, startWorker, testConfig, uniqueName, type RunningWorker } from '../harness/services.js';

const HOST_A = ['a1', 'a2', 'a3'];
let w: RunningWorker;
let cfg: ReturnType<typeof testConfig>;
let dbName: string;

beforeAll(async () => {
  dbName = uniqueName('lb_fleet');
  await createSampleDatabase(services().pg.adminUrl, dbName, 1);
  const onA = pgUrl(dbName);
  const onB = onA.replace('@127.0.0.1:', '@localhost:');
  cfg = testConfig({
    bucket: await createBucket(),
    databases: { ...Object.fromEntries(HOST_A.map((n) => [n, { url: onA }])), b1: { url: onB } },
  });
  cfg.worker = { perHostDumps: 1 };
  w = await startWorker(cfg, { heartbeatIntervalMs: 100 });
});

afterAll(async () => {
  await w?.stop();
});

/** Samples which configured databases have a dump session open (application_name `lifeboat:<db>:<backup>`). */
function sampleSessions(): { stop: () => Promise<Set<string>[]> } {
  const samples: Set<string>[] = [];
  const client = new pg.Client({ connectionString: services().pg.adminUrl });
  let running = true;
  const loop = (async () => {
    await client.connect();
    while (running) {
      const r = await client.query<{ name: string }>(`select application_name as name from pg_stat_activity where application_name like 'lifeboat:%:%'`);
      samples.push(new Set(r.rows.map((row) => row.name.split(':')[1]!)));
      await new Promise((res) => setTimeout(res, 15));
    }
    await client.end();
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return samples;
    },
  };
}

test('perHostDumps: 1 runs the backups of one host one after another and holds no backup of another host back', async () => {
  const sampler = sampleSessions();
  const handles = await Promise.all(
    [...HOST_A, 'b1'].map((database) =>
      w.client.workflow.start('backupDatabase', { taskQueue: cfg.temporal.taskQueue, workflowId: uniqueName(`fleet-${database}`), args: [{ database }] }),
    ),
  );
  // What `--wait` shows meanwhile: the heartbeats of the running backup activities.
  const progress = new Set<string>();
  let finished = false;
  const results = Promise.all(handles.map((h) => h.result())).finally(() => (finished = true));
  while (!finished) {
    for (const h of handles) for (const hb of (await readProgress(h).catch(() => ({ heartbeats: [] }))).heartbeats) progress.add(describeHeartbeat(hb));
    await new Promise((r) => setTimeout(r, 50));
  }
  const samples = await sampler.stop();
  const storage = openStorage(cfg, 'primary');
  const manifests = new Map<string, Manifest>();
  for (const r of (await results) as BackupResult[]) manifests.set(r.database, (await readManifest(storage, r.database, r.backupId))!);

  // Host A, one at a time: each dump started after the one before it had committed.
  const onA = HOST_A.map((n) => manifests.get(n)!).sort((x, y) => x.startedAt.localeCompare(y.startedAt));
  for (let i = 1; i < onA.length; i++) expect(Date.parse(onA[i]!.startedAt)).toBeGreaterThanOrEqual(Date.parse(onA[i - 1]!.finishedAt));
  // Host B was not queued behind host A: its dump started before the last one on A did.
  expect(Date.parse(manifests.get('b1')!.startedAt)).toBeLessThan(Date.parse(onA[2]!.startedAt));

  // What the server saw: never two host-A dump sessions at once, and the limit did bind (some waited).
  expect(samples.length).toBeGreaterThan(5);
  expect(Math.max(...samples.map((s) => HOST_A.filter((n) => s.has(n)).length))).toBe(1);
  const waited = w.lines.filter((l) => l.includes('"phase":"waiting"')).map((l) => (JSON.parse(l) as { database: string }).database);
  expect(waited.length).toBeGreaterThanOrEqual(2);
  expect(waited.every((d) => HOST_A.includes(d))).toBe(true);
  const port = new URL(services().pg.adminUrl).port;
  expect([...progress]).toContain(`waiting     for a slot on host 127.0.0.1:${port} (1 of 1 dumps running there)`);
  const password = decodeURIComponent(new URL(services().pg.adminUrl).password);
  expect([...progress].filter((l) => l.includes(password))).toEqual([]);
}, 60_000);

test('a backup waiting for a slot on its host can be cancelled; the slot goes to the next backup', async () => {
  // The dump of a1 holds host A's one slot while a table lock keeps pg_dump waiting.
  const locker = new pg.Client({ connectionString: pgUrl(dbName) });
  locker.on('error', () => undefined);
  await locker.connect();
  await locker.query('begin; lock table shop.customers in access exclusive mode');
  const start = (database: string) =>
    w.client.workflow.start('backupDatabase', { taskQueue: cfg.temporal.taskQueue, workflowId: uniqueName(`fleet-${database}`), args: [{ database }] });
  const waitingOn = async (h: Awaited<ReturnType<typeof start>>) => {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const { heartbeats } = await readProgress(h).catch(() => ({ heartbeats: [] }));
      if (heartbeats.some((hb) => hb.phase === 'waiting')) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${h.workflowId} never reported waiting for a slot`);
  };
  try {
    const first = await start('a1');
    const deadline = Date.now() + 20_000;
    while (!w.lines.some((l) => l.includes('"dump started"') && l.includes(first.workflowId)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const cancelled = await start('a2');
    await waitingOn(cancelled);
    const next = await start('a3');
    await waitingOn(next);
    const t0 = Date.now();
    await cancelled.cancel();
    await expect(cancelled.result()).rejects.toThrow();
    expect((await cancelled.describe()).status.name).toBe('CANCELLED');
    // Cancelled while the first dump still held the slot: the wait ended, not the dump.
    expect(Date.now() - t0).toBeLessThan(10_000);
    await locker.query('rollback');
    const [r1, r3] = (await Promise.all([first.result(), next.result()])) as BackupResult[];
    expect([r1!.database, r3!.database]).toEqual(['a1', 'a3']);
    expect(w.lines.some((l) => l.includes('"dump started"') && l.includes(cancelled.workflowId))).toBe(false);
  } finally {
    await locker.end().catch(() => undefined);
  }
}, 60_000);
