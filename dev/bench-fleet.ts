// `npm run bench -- --fleet 100`: many small databases backed up by one worker through Temporal
// Schedules. One Schedule per database (applied by Lifeboat's own reconcile), all triggered at once;
// after one warm-up run, reports the total wall time against the ideal (sum of single dump times / dump concurrency), the
// Temporal overhead per workflow (its duration minus its activities' run time, from the histories)
// and the worker's peak RSS and CPU seconds.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import pg from 'pg';
import { sampleDatabaseSql } from './sample-data.js';
import { median, peakRssMiB, procCpu } from './bench-measure.js';
import { startWorker } from './bench-run.js';
import type { PostgresCluster, S3Server, TemporalDevServer } from './services.js';
import { readManifest } from '../src/catalog/catalog.js';
import { loadConfig } from '../src/config/load.js';
import { openStorage } from '../src/storage/index.js';
import { SCHEDULE_KINDS } from '../src/config/schema.js';
import type { BackupResult } from '../src/contracts/index.js';
import { applySchedulePlan, planSchedules, triggerSchedule } from '../src/schedules/reconcile.js';

export interface FleetOptions {
  count: number;
  /** Dumps at once on the worker (`worker.maxConcurrentDumps`, and `perHostDumps`: one host). */
  concurrency: number;
  /** Sample-data scale of each database (1: about 5 MB). */
  scale: number;
}

export interface FleetContext {
  work: string;
  temporal: TemporalDevServer;
  s3: S3Server;
  pgAdminUrl: string;
  cluster?: PostgresCluster;
  client: Client;
  say: (line: string) => void;
}

export interface FleetResult {
  databases: number;
  concurrency: number;
  bytesPerDatabase: number;
  /** First trigger to the last backup's completion. */
  totalMs: number;
  /** Sum of the single dumps' durations (manifest start to commit) over the dump concurrency: the ideal total. */
  idealMs: number;
  /** totalMs / idealMs (the target: at most 1.3). */
  ratio: number;
  singleDumpMs: { median: number; max: number };
  /** Workflow duration minus the run time of its activities (workflow tasks, dispatch, queueing). */
  overheadMs: { median: number; p95: number; max: number };
  /** Medians per workflow: activity tasks waiting in the queue, workflow tasks scheduled to completed. */
  overheadParts: { activityQueueMs: number; workflowTaskMs: number };
  /** First trigger to the first and to the last workflow's start event (Schedules start them). */
  startLatencyMs: { first: number; last: number };
  /** First trigger to the first dump's start, and the last dump's commit to the end: when dump slots were not all busy. */
  rampMs: { firstDump: number; afterLastDump: number };
  /** Share of the dump slots busy between the first dump's start and the last one's commit. */
  slotUtilization: number;
  workerPeakRssMiB: number;
  cpuSeconds: Record<string, number>;
}

const dbName = (i: number) => `fleet_${String(i).padStart(3, '0')}`;
const envName = (i: number) => `BENCH_FLEET_${String(i).padStart(3, '0')}`;

function dbUrl(adminUrl: string, db: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return u.toString();
}

/** One filled template, then `count` databases copied from it (CREATE DATABASE … TEMPLATE). */
async function createFleet(adminUrl: string, count: number, scale: number): Promise<number> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query('drop database if exists fleet_template with (force)');
    await admin.query('create database fleet_template');
    const t = new pg.Client({ connectionString: dbUrl(adminUrl, 'fleet_template') });
    await t.connect();
    await t.query(sampleDatabaseSql(scale));
    const size = Number((await t.query<{ n: string }>('select pg_database_size(current_database()) as n')).rows[0]!.n);
    await t.end();
    for (let i = 1; i <= count; i++) {
      await admin.query(`drop database if exists ${dbName(i)} with (force)`);
      await admin.query(`create database ${dbName(i)} template fleet_template`);
    }
    return size;
  } finally {
    await admin.end();
  }
}

async function dropFleet(adminUrl: string, count: number): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  for (let i = 1; i <= count; i++) await admin.query(`drop database if exists ${dbName(i)} with (force)`);
  await admin.query('drop database if exists fleet_template with (force)');
  await admin.end();
}

/** The fleet's configuration: one yearly full-backup schedule per database (triggered by hand), nothing else. */
function writeConfig(ctx: FleetContext, opts: FleetOptions): string {
  const file = path.join(ctx.work, 'fleet.yaml');
  const off = SCHEDULE_KINDS.filter((k) => k !== 'full').map((k) => `{ kind: ${k}, enabled: false }`);
  const schedules = `[{ kind: full, cron: "0 0 1 1 *" }, ${off.join(', ')}]`;
  const dbs = Array.from({ length: opts.count }, (_, j) => {
    const i = j + 1;
    return `  ${dbName(i)}: { engine: postgres, url: { env: ${envName(i)} }, compression: { codec: zstd, level: 1 }, schedules: ${schedules}, watch: { enabled: false } }`;
  });
  writeFileSync(
    file,
    `temporal: { address: "${ctx.temporal.address}", taskQueue: bench-fleet }
storage:
  s3: { type: s3, bucket: bench, prefix: "fleet/", endpoint: "${ctx.s3.endpoint}", region: us-east-1, forcePathStyle: true, accessKeyId: ${ctx.s3.accessKeyId}, secretAccessKey: { env: BENCH_S3_SECRET } }
worker: { maxConcurrentDumps: ${opts.concurrency}, perHostDumps: ${opts.concurrency} }
databases:
${dbs.join('\n')}
log: { level: info }
`,
  );
  return file;
}

function eventMs(e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }): number {
  const t = e.eventTime!;
  return Number(t.seconds) * 1000 + (t.nanos ?? 0) / 1e6;
}

interface WorkflowTimes {
  startedAt: number;
  durationMs: number;
  /** Activities started to completed (a dump waiting for a slot waits inside its activity). */
  activityMs: number;
  /** Activities scheduled to started: waiting in the task queue for the worker. */
  activityQueueMs: number;
  /** Workflow tasks scheduled to completed: the worker running workflow code, and their queueing. */
  workflowTaskMs: number;
}

/** Where a workflow's time went, from its history. */
async function workflowTimes(client: Client, workflowId: string): Promise<WorkflowTimes> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const at = new Map<string, number>();
  const t: WorkflowTimes = {
    startedAt: eventMs(events[0]!),
    durationMs: eventMs(events[events.length - 1]!) - eventMs(events[0]!),
    activityMs: 0,
    activityQueueMs: 0,
    workflowTaskMs: 0,
  };
  for (const e of events) {
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes || e.workflowTaskScheduledEventAttributes) at.set(id, eventMs(e));
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      at.set(`started:${String(started.scheduledEventId)}`, eventMs(e));
      t.activityQueueMs += eventMs(e) - (at.get(String(started.scheduledEventId)) ?? eventMs(e));
    }
    const done = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    const start = done ? at.get(`started:${String(done.scheduledEventId)}`) : undefined;
    if (start !== undefined) t.activityMs += eventMs(e) - start;
    const wft = e.workflowTaskCompletedEventAttributes;
    if (wft) t.workflowTaskMs += eventMs(e) - (at.get(String(wft.scheduledEventId)) ?? eventMs(e));
  }
  return t;
}

async function inBatches<T, R>(items: T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

/** Applies the schedules, triggers them all, waits for every backup and measures. */
async function triggerAndMeasure(ctx: FleetContext, configFile: string, opts: FleetOptions, watched: Array<{ name: string; pid: number }>) {
  const cfg = loadConfig(configFile);
  const plan = await planSchedules(ctx.client, cfg);
  const failed = (await applySchedulePlan(ctx.client, cfg, plan)).filter((a) => !a.ok);
  if (failed.length) throw new Error(`schedules apply failed: ${failed[0]!.scheduleId}: ${failed[0]!.error}`);
  // Warm-up, as the other benchmarks do: one run through the fresh worker (its first workflow
  // loads the workflow bundle), so the measurement sees a worker that has been running.
  const warm = await triggerSchedule(ctx.client, `${dbName(1)}:full`, 60_000);
  await ctx.client.workflow.getHandle(warm.workflowId).result();
  ctx.say(`  ${plan.counts.create} schedules created, one warm-up run; triggering them all`);
  const cpuBefore = watched.map((w) => procCpu(w.pid));
  const t0 = Date.now();
  const runs = await inBatches(
    Array.from({ length: opts.count }, (_, j) => `${dbName(j + 1)}:full`),
    20,
    (id) => triggerSchedule(ctx.client, id, 60_000),
  );
  const results = await Promise.all(runs.map((r) => ctx.client.workflow.getHandle(r.workflowId).result() as Promise<BackupResult>));
  const totalMs = Date.now() - t0;
  const cpuSeconds = Object.fromEntries(watched.map((w, i) => [w.name, Math.round((procCpu(w.pid) - cpuBefore[i]!) * 10) / 10]));
  const times = await inBatches(runs, 10, (r) => workflowTimes(ctx.client, r.workflowId));
  return { results, t0, totalMs, times, cpuSeconds };
}

/** Runs the fleet benchmark on the bench cluster; writes the JSON result to `out`. */
export async function runFleet(ctx: FleetContext, opts: FleetOptions, out: string): Promise<FleetResult> {
  ctx.say(`Creating ${opts.count} databases (sample data scale ${opts.scale})…`);
  const bytesPerDatabase = await createFleet(ctx.pgAdminUrl, opts.count, opts.scale);
  const configFile = writeConfig(ctx, opts);
  // The URLs carry the password: the configuration names them by environment variable.
  const vars: Record<string, string> = { BENCH_S3_SECRET: ctx.s3.secretAccessKey };
  for (let i = 1; i <= opts.count; i++) vars[envName(i)] = dbUrl(ctx.pgAdminUrl, dbName(i));
  const env: NodeJS.ProcessEnv = { ...process.env, ...vars };
  process.env.BENCH_S3_SECRET = vars.BENCH_S3_SECRET; // this process reads the manifests
  const worker = startWorker(configFile, env);
  try {
    await worker.ready;
    const watched = [
      { name: 'worker', pid: worker.child.pid! },
      { name: 'temporal', pid: ctx.temporal.pid },
      { name: 's3', pid: ctx.s3.pid },
    ];
    const { results, t0, totalMs, times, cpuSeconds } = await triggerAndMeasure(ctx, configFile, opts, watched);
    const storage = openStorage(loadConfig(configFile), 's3');
    const dumps = await inBatches(results, 10, async (r) => {
      const m = (await readManifest(storage, r.database, r.backupId))!;
      return { startedAt: Date.parse(m.startedAt), finishedAt: Date.parse(m.finishedAt) };
    });
    const singles = results.map((r) => r.durationMs);
    const idealMs = singles.reduce((a, b) => a + b, 0) / opts.concurrency;
    const overheads = times.map((t) => Math.max(0, t.durationMs - t.activityMs));
    const result: FleetResult = {
      databases: opts.count,
      concurrency: opts.concurrency,
      bytesPerDatabase,
      totalMs,
      idealMs: Math.round(idealMs),
      ratio: Math.round((totalMs / idealMs) * 100) / 100,
      singleDumpMs: { median: Math.round(median(singles)), max: Math.max(...singles) },
      overheadMs: { median: Math.round(median(overheads)), p95: Math.round(pct(overheads, 0.95)), max: Math.round(Math.max(...overheads)) },
      overheadParts: {
        activityQueueMs: Math.round(median(times.map((x) => x.activityQueueMs))),
        workflowTaskMs: Math.round(median(times.map((x) => x.workflowTaskMs))),
      },
      slotUtilization: Math.round((idealMs / (Math.max(...dumps.map((d) => d.finishedAt)) - Math.min(...dumps.map((d) => d.startedAt)))) * 100) / 100,
      startLatencyMs: { first: Math.round(Math.min(...times.map((x) => x.startedAt)) - t0), last: Math.round(Math.max(...times.map((x) => x.startedAt)) - t0) },
      rampMs: { firstDump: Math.min(...dumps.map((d) => d.startedAt)) - t0, afterLastDump: t0 + totalMs - Math.max(...dumps.map((d) => d.finishedAt)) },
      workerPeakRssMiB: peakRssMiB(worker.child.pid!),
      cpuSeconds,
    };
    writeFileSync(out, `${JSON.stringify({ at: new Date().toISOString(), fleet: result }, null, 2)}\n`);
    return result;
  } finally {
    worker.child.kill('SIGTERM');
    await new Promise((r) => worker.child.once('exit', r));
    await dropFleet(ctx.pgAdminUrl, opts.count);
  }
}

/** The fleet result in a few lines. */
export function formatFleet(r: FleetResult): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return [
    `Fleet: ${r.databases} databases of ${(r.bytesPerDatabase / 2 ** 20).toFixed(1)} MiB, ${r.concurrency} dumps at once, one Schedule each`,
    `  total ${s(r.totalMs)}; ideal (sum of single dumps / ${r.concurrency}) ${s(r.idealMs)}; ratio ${r.ratio} (target <= 1.3)`,
    `  single dump: median ${r.singleDumpMs.median} ms, max ${r.singleDumpMs.max} ms`,
    `  Temporal overhead per workflow: median ${r.overheadMs.median} ms, p95 ${r.overheadMs.p95} ms, max ${r.overheadMs.max} ms` +
      ` (medians: activity tasks queued ${r.overheadParts.activityQueueMs} ms, workflow tasks ${r.overheadParts.workflowTaskMs} ms)`,
    `  runs started by the Schedules ${r.startLatencyMs.first} to ${r.startLatencyMs.last} ms after the first trigger`,
    `  dump slots idle: ${r.rampMs.firstDump} ms before the first dump, ${r.rampMs.afterLastDump} ms after the last; busy ${Math.round(r.slotUtilization * 100)}% in between`,
    `  worker peak RSS ${r.workerPeakRssMiB} MiB; CPU seconds ${Object.entries(r.cpuSeconds)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  ].join('\n');
}
